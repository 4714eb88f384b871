"""What a comparison hands back to the script that asked for it (`lrtui.compare`): each run's
figures and whole curves, and the leaderboard as printed, built from the same folded run
views the table, the panels and the leaderboard read, so the numbers a script gets are the
ones the user saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lrtui.state import leaderboard, seedboard
from lrtui.state.runview import RunView


@dataclass(frozen=True)
class RunResult:
    """One run at the end: `final_loss` is the leaderboard's (the mean over the last 5% of
    steps), `best_loss` the lowest smoothed loss, `val_loss` the newest validation loss (NaN
    where the task does not evaluate); `lrs` and `losses` hold one value per step trained."""

    name: str
    status: str  # done, diverged, error, stopped
    steps: int
    final_loss: float
    best_loss: float
    val_loss: float
    flag: str  # the leaderboard's: "", "diverged", "failed", "blowing up"
    message: str = ""  # why it diverged or failed
    lrs: list[float] = field(default_factory=list, repr=False)
    losses: list[float] = field(default_factory=list, repr=False)


COLUMNS = ("name", "status", "flag", "steps", "final_loss", "best_loss", "val_loss")


@dataclass(frozen=True)
class Results:
    """Every run in the order given, and the leaderboard's lines as `--headless` prints them
    (`print(results)` shows them)."""

    runs: list[RunResult]
    leaderboard: list[str]

    def __str__(self) -> str:
        return "\n".join(self.leaderboard)

    def to_pandas(self) -> Any:
        """One row per run, indexed by name: its status, flag, steps and figures (the curves
        stay out: `pandas.DataFrame({r.name: r.losses for r in results.runs})` has them)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Results.to_pandas needs pandas, which is not installed: pip install pandas"
            ) from None
        rows = [{c: getattr(r, c) for c in COLUMNS} for r in self.runs]
        return pandas.DataFrame(rows, columns=list(COLUMNS)).set_index("name")


def results(runs: Sequence[RunView], threshold: float | None = None) -> Results:
    """`runs` once the comparison has ended: a run that had not finished was stopped by the
    end (a quit app stops every run; its last status may never have reached the view)."""
    board = leaderboard.board(runs, threshold=threshold)
    standing = {s.index: s for s in board.rows}
    out = []
    for i, run in enumerate(runs):
        s = standing[i]
        history = run.history
        out.append(
            RunResult(
                name=run.info.label,
                status=run.status.value if run.status.finished else "stopped",
                steps=run.step,
                final_loss=s.final,
                best_loss=s.best,
                val_loss=run.val_loss,
                flag=s.flag,
                message=run.message,
                lrs=list(history.lrs) if history is not None else [],
                losses=list(history.losses) if history is not None else [],
            )
        )
    return Results(out, seedboard.summary_lines(runs, board))
