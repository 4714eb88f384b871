"""The command line: argv (and a TOML file's path) in, checked settings out, and the one table
of subcommands. Never imports torch or textual at import time (`lrtui --help`, `watch` and
`export` run without torch); what runs a comparison is `lrtui.modes`', imported once the
flags are good.

- `main`: `main` (the first word picks from `SUBCOMMANDS`), `main_exit` (the console script)
- `parser`: `Parser` (one `lrtui: error:` line, exit 2) and the checked flag types
- `flags`: the shared flag groups and `experiment_settings(args) -> Settings`
- `compare`: `lrtui [options]`, the comparison itself, and `--list-schedulers`
- `plan`, `find`: `lrtui plan`, `lrtui find`
- `logs`: `lrtui watch`, `lrtui export`
- `forecast`: `lrtui forecast LOGDIR`, each run's final loss from a fitted loss law
- `resume`: `lrtui resume DIR`, a checkpointed comparison continued
- `attach`: `lrtui attach DIR`, the app on a comparison training without a terminal
- `serve`: `lrtui serve`, the app in a browser through textual-serve, on 127.0.0.1
"""
