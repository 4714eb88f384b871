"""The record layer: events as files, written and read.

What lives here: the JSON Lines events format (`format`), the file writer and `--log-dir`
sink (`writer`), `RunRecorder` for the user's own training loop (`recorder`), the source that
tails events files for `lrtui watch` (`watch`) and the CSV export (`export`).

May import: `lrtui.spec`. torch only where the user hands a tensor in (imported then, never
at import time), so `lrtui watch` and `lrtui export` run without torch. Never textual.
"""
