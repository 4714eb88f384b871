"""The pictures need no torch: snapshot tests replay recorded streams (`tests/fixtures/`), so
they run, and match, in a process where torch cannot be imported."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_TORCH = """
import sys

sys.modules["torch"] = None  # every `import torch` from here on raises ImportError
import pytest

code = pytest.main(sys.argv[1:])
loaded = [m for m in sys.modules if m.startswith("torch.")]
sys.exit(code or (f"torch modules loaded: {loaded}" if loaded else 0))
"""

# one picture of every recorded stream the snapshot module replays
PICTURES = " or ".join(
    (
        "test_grid_mid_run",
        "test_all_runs_done",
        "test_failed_and_diverged_runs",
        "test_preset_all_grid",
        "test_regime_markers_in_the_grid",
        "test_seeds_leaderboard",
    )
)


def test_snapshots_match_with_torch_unimportable():
    args = ["tests/test_snapshots.py", "-q", "-p", "no:cacheprovider", "-k", PICTURES]
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stdout[-4000:] + done.stderr[-4000:]
    assert done.returncode == 0, said
    assert "6 passed" in done.stdout, said
