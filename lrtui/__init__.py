"""lrtui: compare PyTorch learning-rate schedulers live in the terminal.

`RunRecorder` records your own training loop for `lrtui watch`; `compare` trains your own
model under several schedules from a script and returns the results (it imports torch when
called, not before: `import lrtui` and `help(lrtui.compare)` stay light).
"""

from lrtui.api import compare
from lrtui.record.recorder import RunRecorder
from lrtui.state.results import Results, RunResult

__version__ = "0.2.0"
__all__ = ["Results", "RunRecorder", "RunResult", "__version__", "compare"]
