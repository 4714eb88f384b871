"""Check literal spec values against the type annotations torch writes on its signatures.

torch annotates scheduler and optimizer parameters (`'int'`, `"Literal['min', 'max']"`,
`'float | list[float]'`), so reading them keeps the checks in step with the installed torch
instead of a hand-written table. Annotations this module does not understand accept anything,
and the dry-run build that follows still catches what torch itself rejects.
"""

from __future__ import annotations

import ast
import inspect
from functools import lru_cache

from lrtui.spec.experiment import Call

_SEQUENCES = {"list", "List", "Iterable", "Sequence", "tuple", "Tuple"}
_SCHEDULER_NAMES = {"LRScheduler", "_LRScheduler", "ReduceLROnPlateau"}


@lru_cache(maxsize=256)
def _parse(annotation: str) -> ast.expr | None:
    try:
        return ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return None


def annotation_text(param: inspect.Parameter) -> str | None:
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        return None
    return ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))


def accepts(annotation: str | None, value: object) -> bool:
    """Whether a spec value fits the annotation (unknown annotations accept everything)."""
    if annotation is None:
        return True
    node = _parse(annotation)
    return True if node is None else _fits(node, value)


def wants_scheduler(annotation: str | None) -> bool:
    """Whether the parameter takes nested schedulers (SequentialLR, ChainedScheduler)."""
    return annotation is not None and any(name in annotation for name in _SCHEDULER_NAMES)


def wants_callable(annotation: str | None) -> bool:
    return annotation is not None and "Callable" in annotation


def _fits(node: ast.expr, value: object) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _fits(node.left, value) or _fits(node.right, value)
    if isinstance(node, ast.Constant):
        if node.value is None:
            return value is None
        if isinstance(node.value, str):  # a quoted forward reference
            inner = _parse(node.value)
            return True if inner is None else _fits(inner, value)
        return value == node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _fits_name(node.id if isinstance(node, ast.Name) else node.attr, value)
    if isinstance(node, ast.Subscript):
        head = node.value.id if isinstance(node.value, ast.Name) else getattr(node.value, "attr", "")
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head == "Literal":
            return any(
                isinstance(a, ast.Constant) and a.value == value and type(a.value) is type(value)
                for a in args
            )
        if head == "Optional":
            return value is None or _fits(args[0], value)
        if head == "Union":
            return any(_fits(a, value) for a in args)
        if head in _SEQUENCES:
            if not isinstance(value, tuple):
                return False
            item = args[0]
            return all(_fits(item, v) for v in value)
        return True
    return True


def _fits_name(name: str, value: object) -> bool:
    if name == "bool":
        return isinstance(value, bool)
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "str":
        return isinstance(value, str)
    if name in _SCHEDULER_NAMES:
        return isinstance(value, Call)
    if name in _SEQUENCES:
        return isinstance(value, tuple)
    if name == "Tensor":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def describe(annotation: str | None) -> str:
    """A readable name for the expected type, for error messages."""
    if annotation is None:
        return "a literal"
    return annotation.replace("'", "").replace('"', "")
