"""The app's screens. Those drawn live from state derive from `LiveScreen` (`live`), which the
frame timer redraws: a run's chart (`charts`) and every run on shared axes (`compare`), both on
one plot canvas (`canvas`) with its axes and ticks (`axes`) and looks (`style`); the
leaderboard (`leaderboard`) and a DDP run's ranks (`ranks`). `help` lists every key.
"""
