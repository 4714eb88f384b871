"""The record layer: events as files, written and read.

What lives here: the JSON Lines events format (`format`), step lines in bulk (`bulk`), the
shape of one step line (`lines`), the file writer, the `--log-dir` sink and its tee
(`writer`), `RunRecorder` for the user's own training loop (`recorder`), the log sources lrtui
reads (`readers`: lrtui's own files, TensorBoard runs), the source that tails them for `lrtui
watch` (`watch`), the CSV export (`export`), the machine's figures (`system`) and a run's file cut back to a
checkpoint and read as history when a comparison resumes (`continued`).

May import: `lrtui.spec`. torch only where the user hands a tensor in (imported then, never
at import time), so `lrtui watch` and `lrtui export` run without torch. Never textual.
"""
