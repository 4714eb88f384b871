"""Snapshots live in the top-level `snapshots/<test module>/` folder, not under tests/."""

from pathlib import Path

import pytest_textual_snapshot

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


class TopLevelSVGExtension(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOTS / test_location.basename)


pytest_textual_snapshot.SVGImageExtension = TopLevelSVGExtension
