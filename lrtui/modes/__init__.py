"""The ways of running a comparison: the glue between the two stacks (the trainer's:
spec, schedule, engine; the viewer's: record, state, ui). Imports torch in most modules, so
`lrtui.commands` imports these only once the flags are good; this `__init__` imports nothing,
so `import lrtui` (which takes `compare` from here) stays light.

- `config`: flags and a TOML file merged into one checked `ExperimentSpec`; `build_ready`
- `prepare`: the task loaded and tried, the engine chosen, where the live trainer runs (`Ready`)
- `comparison`: the main command's comparison prepared, then run by its mode
- `live`: the trainer as the app's source (in a thread, or a spawned process: `Ready.apart`)
- `headless`: the tutorial's table and the leaderboard on standard output
- `distributed`: the runs shared out over torchrun's ranks, the table printed by rank 0
- `compare`: `lrtui.compare(...)`, the same from a Python script or notebook
- `plan`: `lrtui plan`'s curves; `find`: `lrtui find`'s range test; `watch`: logs in the app
- `forecast`: `lrtui forecast`'s runs read and fitted; `forecast_run` its answer, written by
  `forecast_print` (table, JSON, CSV)
- `resume`: a new comparison's checkpoint policy, and `lrtui resume DIR` continuing one
- `attach`: a headless comparison open to `lrtui attach DIR` (its control socket), the app attached,
  and a recording live comparison trained in a process of its own, this terminal attached
- `serve`: `lrtui serve`, `lrtui attach DIR` served to a browser by textual-serve on 127.0.0.1
- `guard`: the app's run, with a deadline once its terminal has hung up
"""
