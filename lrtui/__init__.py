"""lrtui: compare PyTorch learning-rate schedulers live in the terminal.

`RunRecorder` records your own training loop for `lrtui watch`.
"""

from lrtui.record.recorder import RunRecorder

__version__ = "0.1.0"
__all__ = ["RunRecorder", "__version__"]
