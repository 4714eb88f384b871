"""Turn `Name(key=value, ...)` text into `Call` data without ever evaluating it.

Only the syntax of a call with keyword arguments is accepted; values must be Python literals,
lists of them, or nested calls (for composed schedulers and lambda factors). Nothing is
imported or looked up here: names are checked later against fixed registries.
"""

from __future__ import annotations

import ast
import sys

from lrtui.spec.choices import OPTIMIZER_ALIASES, SCHEDULE_FREE, is_optimizer_name
from lrtui.spec.errors import SpecError
from lrtui.spec.experiment import INTERVALS, Call, Interval
from lrtui.spec.text import quote

MAX_SPEC_CHARS = 10_000  # longer than any real schedule; a bound on what parsing may cost


def parse_call(text: str, what: str = "spec") -> Call:
    """Parse one call expression such as `StepLR(step_size=3, gamma=0.5)` or `StepLR`."""
    source = text.strip()
    if not source:
        raise SpecError(f"empty {what}")
    if len(source) > MAX_SPEC_CHARS:
        raise SpecError(
            f"{what} {quote(text)} is {len(source):,} characters long (at most {MAX_SPEC_CHARS:,})"
        )
    try:
        tree = ast.parse(source, mode="eval")
        return _node_to_call(tree.body, text, what)
    except SyntaxError as exc:
        raise SpecError(f"{what} {quote(text)} is not valid syntax: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise SpecError(f"{what} {quote(text)} is nested too deeply") from None


def parse_run(text: str) -> tuple[Call, Interval | None]:
    """Parse a `--scheduler` value: a call, optionally followed by `@epoch` or `@batch`."""
    body, sep, suffix = text.rpartition("@")
    if sep and suffix.strip() in INTERVALS and ")" not in suffix:
        return parse_call(body, "scheduler spec"), suffix.strip()  # type: ignore[return-value]
    if sep and ")" not in suffix and "(" not in suffix:
        raise SpecError(
            f"scheduler spec {quote(text)}: unknown step interval {suffix.strip()!r} (use @epoch or @batch)"
        )
    return parse_call(text, "scheduler spec"), None


def parse_run_parts(text: str) -> tuple[Call | None, Call | None, Interval | None]:
    """Parse a run spec `OPTIMIZER | SCHEDULER@interval` into (optimizer, scheduler, interval),
    either part optional: `AdamW(lr=3e-3) | CosineAnnealingLR(T_max=10)`, `StepLR(step_size=2)`
    (the experiment's optimizer), or a bare optimizer `AdamWScheduleFree(warmup_steps=100)`
    (a constant schedule). A lone call is an optimizer when its name is one's; names are
    checked later against the registries, as for a scheduler alone."""
    parts = _split_top_level(text, "|")
    if len(parts) > 2:
        raise SpecError(f"run spec {quote(text)}: at most one | (OPTIMIZER | SCHEDULER)")
    if len(parts) == 1:
        call, interval = parse_run(text)
        return (call, None, interval) if is_optimizer_name(call.name) else (None, call, interval)
    opt_text, sched_text = parts
    optimizer = parse_call(opt_text, "optimizer spec") if opt_text.strip() else None
    scheduler, interval = parse_run(sched_text) if sched_text.strip() else (None, None)
    if optimizer is None and scheduler is None:
        raise SpecError(f"run spec {quote(text)} names neither an optimizer nor a scheduler")
    if scheduler is not None and is_optimizer_name(scheduler.name):
        raise SpecError(
            f"run spec {quote(text)}: {scheduler.name} is an optimizer; write OPTIMIZER | SCHEDULER"
        )
    _warn_if_scheduled_schedule_free(optimizer, scheduler)
    return optimizer, scheduler, interval


def _warn_if_scheduled_schedule_free(optimizer: Call | None, scheduler: Call | None) -> None:
    """One line on standard error for a schedule on a schedule-free optimizer: allowed (it
    scales the LR the optimizer warms up to), but unusual, as that optimizer's package says it
    needs no schedule; likely a copied spec, so said rather than refused."""
    if optimizer is None or scheduler is None:
        return
    alias = OPTIMIZER_ALIASES.get(optimizer.name.lower())
    if alias is not None and alias.name in SCHEDULE_FREE:
        sys.stderr.write(
            f"lrtui: warning: {alias.name} is schedule-free and needs no schedule; "
            f"{scheduler.name} will scale its LR as well\n"
        )


def _split_top_level(text: str, sep: str) -> list[str]:
    """`text` split at each `sep` outside brackets and string literals."""
    parts, depth, quote_char, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote_char:
            quote_char = "" if ch == quote_char and text[i - 1] != "\\" else quote_char
        elif ch in "'\"":
            quote_char = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _name(node: ast.AST) -> str | None:
    """A plain name (StepLR), or a Hugging Face schedule's (hf.cosine)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "hf":
        return f"hf.{node.attr}"
    return None


def _node_to_call(node: ast.AST, text: str, what: str) -> Call:
    if _name(node) is not None:
        return Call(_name(node))  # type: ignore[arg-type]
    if not isinstance(node, ast.Call):
        raise SpecError(f"{what} {quote(text)} is not a call like Name(key=value, ...)")
    name = _name(node.func)
    if name is None:
        raise SpecError(
            f"{what} {quote(text)}: the called name must be a plain name, like StepLR or hf.cosine"
        )
    if node.args:
        raise SpecError(f"{what} {quote(text)}: {name} takes keyword arguments only (key=value)")
    kwargs: list[tuple[str, object]] = []
    for kw in node.keywords:
        if kw.arg is None:
            raise SpecError(f"{what} {quote(text)}: ** arguments are not allowed")
        if any(k == kw.arg for k, _ in kwargs):
            raise SpecError(f"{what} {quote(text)}: {kw.arg} is given twice")
        kwargs.append((kw.arg, _node_to_value(kw.value, text, what, kw.arg)))
    return Call(name, tuple(kwargs))


def _node_to_value(node: ast.AST, text: str, what: str, key: str) -> object:
    if isinstance(node, (ast.Call, ast.Name, ast.Attribute)) and not (
        isinstance(node, ast.Name) and node.id in ("True", "False", "None")
    ):
        return _node_to_call(node, text, what)
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_node_to_value(elt, text, what, key) for elt in node.elts)
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise SpecError(
            f"{what} {quote(text)}: the value of {key} must be a literal "
            f"(number, string, True/False/None, list) or a call"
        ) from None
    if isinstance(value, (list, tuple)):
        return tuple(value)
    if isinstance(value, (set, dict, bytes, complex)):
        raise SpecError(f"{what} {quote(text)}: the value of {key} must be a number, string or list")
    return value
