"""lrtui: compare PyTorch learning-rate schedulers live in the terminal.

`RunRecorder` records your own training loop for `lrtui watch`; `compare` trains your own
model under several schedules from a script (it imports torch when called, not before).
"""

from lrtui.record.recorder import RunRecorder

__version__ = "0.2.0"
__all__ = ["RunRecorder", "__version__", "compare"]


def compare(**kwargs):
    """See `lrtui.api.compare`."""
    from lrtui.api import compare as run

    return run(**kwargs)
