"""The one rule for text that came from outside (a log file, a config, a spec): it is shown as
text, never as terminal control or markup.

Control characters (escape sequences, bells, carriage returns) and the invisible characters
that reorder text (bidirectional overrides) become visible escapes such as `\\x1b`, so a log
written by anyone can never set the terminal's title, clear the screen or leave the alternate
screen. Markup is never built from data: widgets take such text as plain `Text`.
"""

from __future__ import annotations

import re

QUOTE_LIMIT = 200  # characters of a user's spec quoted in an error line

# C0 and C1 controls (but tab), DEL, and the bidirectional formatting characters
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, limit: int | None = None) -> str:
    """`text` with every control character shown as an escape, shortened to `limit`."""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return _UNSAFE.sub(_escape, text).replace("\t", " ")


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """A user's text for an error line: cleaned, shortened, in quotes."""
    return repr(clean(text, limit))
