"""lrtui: compare PyTorch learning-rate schedulers live in the terminal.

`RunRecorder` records your own training loop for `lrtui watch`; `compare` trains your own
model under several schedules from a script and returns the results (it imports torch when
called, not before: `import lrtui` and `help(lrtui.compare)` stay light).

The packages, two stacks that meet at the top (`__main__` runs `commands`):
- `spec` (plain data every layer shares) under both stacks;
- training: `schedule` (torch's schedulers and optimizers), `engine` (the Trainer);
- viewing: `record` (events as files: written, read, exported), `state` (what a viewer
  knows), `ui` (the Textual app);
- `modes` (the ways of running a comparison: the only glue between the stacks) and
  `commands` (the command line) on top; beside them `integrations` (HF and Lightning
  callbacks) and `bench` (the benchmark).
"""

from lrtui.modes.compare import compare
from lrtui.record.recorder import RunRecorder
from lrtui.state.results import Results, RunResult

__version__ = "0.2.0"
__all__ = ["Results", "RunRecorder", "RunResult", "__version__", "compare"]
