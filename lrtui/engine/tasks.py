"""The user's own training task: a file or module that provides a model and its data.

`--task` takes a file (`path/task.py`), a module (`package.module`), or either followed by
`:name` for an object inside it. The object (the module itself by default; a class is
instantiated with no arguments) provides `model()` -> nn.Module and `batches(epoch)` -> an
iterable of batches (a DataLoader is fine), and optionally `loss(model, batch)` -> scalar
tensor, `evaluate(model)` -> float and `param_groups(model)` -> torch's param groups
(`paramgroups`). A task file is the user's own code and runs as such
(its folder first on `sys.path`, as `python file.py` would); every error it raises is reported
with its file and line.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn

from lrtui.engine.paramgroups import GroupLayout, ParamGroupsError, layout_of
from lrtui.engine.workload import Batch, default_loss
from lrtui.spec.errors import SpecError


class TaskError(SpecError):
    """A task that cannot be used; the message starts with the file and line to look at.
    `detail` holds the user's own traceback, shown with --debug."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class TaskRef:
    target: str  # a file path or a module name
    name: str | None  # an object inside it
    is_file: bool


def parse_task(text: str) -> TaskRef:
    """`path/task.py`, `path/task.py:name`, `package.module` or `package.module:name`."""
    target, sep, name = text.rpartition(":") if ":" in text else (text, "", "")
    if sep and (not name.isidentifier() or not target):
        target, name = text, ""
    is_file = target.endswith(".py") or "/" in target or "\\" in target
    return TaskRef(target, name or None, is_file)


def user_error(exc: BaseException, origin: Path | None, fallback_line: int = 1) -> TaskError:
    """`file:line: Type: message`, the line being the deepest frame inside the user's file."""
    line = fallback_line
    if origin is not None:
        for frame in traceback.extract_tb(exc.__traceback__):
            if Path(frame.filename).resolve() == origin:
                line = frame.lineno or line
    where = f"{origin}:{line}" if origin is not None else "task"
    first = (str(exc).strip().splitlines() or [""])[0]
    message = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return TaskError(f"{where}: {message}", detail)


def _beside(path: Path) -> None:
    """Put the task file's folder first on `sys.path`, as `python file.py` would, so that
    `import helpers` beside it works; it stays there, since `batches()` and `model()` may
    import lazily while training."""
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _load_file(path: Path) -> object:
    if not path.is_file():
        raise TaskError(f"{path}: no such task file")
    spec = importlib.util.spec_from_file_location(f"lrtui_task_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise TaskError(f"{path}: cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    _beside(path)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise TaskError(f"{path}:{exc.lineno or 1}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise user_error(exc, path.resolve()) from None
    return module


def _load_module(name: str) -> tuple[object, Path | None]:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise TaskError(f"task {name}: no module named {exc.name!r}") from None
    except SyntaxError as exc:
        raise TaskError(f"{exc.filename}:{exc.lineno or 1}: syntax error: {exc.msg}") from None
    except Exception as exc:
        origin = getattr(sys.modules.get(name), "__file__", None)
        raise user_error(exc, Path(origin).resolve() if origin else None) from None
    origin = getattr(module, "__file__", None)
    return module, Path(origin).resolve() if origin else None


def load_task(text: str) -> UserTask:
    """Import the task and check it has what a task provides."""
    ref = parse_task(text)
    if ref.is_file:
        origin: Path | None = Path(ref.target).resolve()
        module = _load_file(Path(ref.target))
        shown = ref.target
    else:
        module, origin = _load_module(ref.target)
        shown = ref.target
    obj = module
    if ref.name is not None:
        if not hasattr(module, ref.name):
            raise TaskError(f"{shown}: has no {ref.name!r}")
        obj = getattr(module, ref.name)
        if inspect.isclass(obj):
            try:
                obj = obj()
            except Exception as exc:
                raise user_error(exc, origin) from None
    return UserTask(obj, shown, origin)


def _line_of(fn: object, default: int = 1) -> int:
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    return code.co_firstlineno if code is not None else default


class UserTask:
    """The user's task as a `Workload`, with every call's failure pinned to their file."""

    batched = False  # stacked through torch.func.vmap over its own loss, where the model allows

    def __init__(self, obj: object, shown: str, origin: Path | None) -> None:
        self.name = Path(shown).name if shown.endswith(".py") else shown
        self._obj, self._origin = obj, origin
        for required in ("model", "batches"):
            if not callable(getattr(obj, required, None)):
                raise TaskError(
                    f"{shown}:1: the task has no {required}() (a task provides model() and batches(epoch), "
                    "and may provide loss(model, batch), evaluate(model) and param_groups(model))"
                )
        self._loss = getattr(obj, "loss", None)
        self._evaluate = getattr(obj, "evaluate", None)

    def where(self, fn_name: str) -> str:
        return f"{self._origin}:{_line_of(getattr(self._obj, fn_name, None))}"

    def call(self, fn_name: str, *args: object) -> object:
        """Call the task's function; its failure becomes a TaskError naming the user's line."""
        fn = getattr(self._obj, fn_name)
        try:
            return fn(*args)
        except Exception as exc:
            raise user_error(exc, self._origin, _line_of(fn)) from exc

    def model(self) -> nn.Module:
        model = self.call("model")
        if not isinstance(model, nn.Module):
            raise TaskError(
                f"{self.where('model')}: model() returned {type(model).__name__}, not a torch.nn.Module"
            )
        return model

    def batches(self, epoch: int):
        batches = self.call("batches", epoch)
        if not hasattr(batches, "__iter__"):
            name = type(batches).__name__
            raise TaskError(
                f"{self.where('batches')}: batches({epoch}) returned {name}, not an iterable of batches"
            )
        return batches

    def loss(self, model: nn.Module, batch: Batch) -> Tensor:
        if self._loss is None:
            return default_loss(model, batch)
        return self._loss(model, batch)

    def evaluate(self, model: nn.Module) -> float | None:
        if self._evaluate is None:
            return None
        value = self._evaluate(model)
        return None if value is None else float(value)

    def batched_loss(self, params: dict[str, Tensor], batch: Batch) -> Tensor | None:
        return None

    def param_groups(self, model: nn.Module) -> GroupLayout | None:
        """The task's own param groups (`param_groups(model)`, optional) as a layout over every
        run's parameters (`paramgroups`); None where the task has none."""
        if not callable(getattr(self._obj, "param_groups", None)):
            return None
        groups = self.call("param_groups", model)
        try:
            return layout_of(groups, model)
        except ParamGroupsError as exc:
            raise TaskError(f"{self.where('param_groups')}: {exc}") from None
