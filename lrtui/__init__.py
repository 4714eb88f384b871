"""lrtui: compare PyTorch learning-rate schedulers live in the terminal."""

__version__ = "0.1.0"
