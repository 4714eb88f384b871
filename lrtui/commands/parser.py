"""The argparse pieces every command shares: a parser whose errors are one `lrtui: error:`
line, and flag types that report lrtui's own checks in that line.

A user's bad input has one way out (exit code 2, one line, before any training), whichever
command read it; keeping it here means a new command cannot invent a second one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from lrtui.spec.errors import SpecError
from lrtui.spec.text import clean

T = TypeVar("T")


class Parser(argparse.ArgumentParser):
    """argparse, with lrtui's one-line errors."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"lrtui: error: {clean(message, 2000)}\n")

    def fail(self, exc: Exception, debug: bool = False, limit: int = 2000) -> NoReturn:
        """End with the one line for `exc`; with `debug`, first the traceback of the user's own
        code that a `SpecError` carries (a task file's error)."""
        detail = getattr(exc, "detail", "")
        if debug and detail:
            sys.stderr.write(detail)
        self.exit(2, f"lrtui: error: {clean(str(exc), limit)}\n")


def checked(check: Callable[[str, str], T], name: str) -> Callable[[str], T]:
    """An argparse type running one of `spec.values`' checks, which name the flag themselves."""

    def convert(text: str) -> T:
        try:
            return check(text, name)
        except SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def parsed(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """An argparse type for a spec parser (a scheduler, an optimizer), whose message says
    what is wrong in the text."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert
