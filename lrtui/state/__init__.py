"""The state layer: what a viewer knows of the runs, folded from events.

What lives here: each run's view (`runview`) and the experiment's totals (`runs`), what the
UI reads of a run or of a schedule over its seeds (`runlike`, `groups`), bounded
min/max/mean histories (`series`), loss curves made readable and smoothed (`traces`), the
ranking of runs (`leaderboard`, `seedboard`), how run configs differ (`configdiff`), a DDP
run's ranks side by side (`ranks`), what `lrtui.compare` returns (`results`), and each
schedule's loss at the full budget, from loss laws fitted on the runs (`forecast`).
Everything here is plain Python a test can drive with events alone.

May import: `lrtui.spec`. Never torch, never textual, never a layer above.
"""
