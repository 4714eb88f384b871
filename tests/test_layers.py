"""The house's shape: layers import only downwards, entry points stay light, pieces stay small."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lrtui"
# bottom to top: two stacks (spec, schedule, engine / record, state, ui), then modes/ (the glue
# that runs a comparison) and commands/ (argv in, a mode run) on top of both
LAYERS = ["spec", "schedule", "engine", "record", "state", "ui", "modes", "commands"]
LIGHT = {"torch", "textual", "rich", "plotext", "textual_plotext"}  # what `lrtui --help` never loads
NEVER = {  # third-party packages a layer never imports, anywhere in it
    "spec": {"torch", "textual", "rich", "plotext", "textual_plotext"},
    "state": {"torch", "textual", "rich", "plotext", "textual_plotext"},
    "record": {"textual", "rich", "plotext", "textual_plotext"},
    "schedule": {"textual", "rich", "plotext", "textual_plotext"},
    "engine": {"textual", "rich", "plotext", "textual_plotext"},
    "ui": {"torch"},
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _layer(path: Path) -> int:
    """The module's layer as an index; entry points and the root package sit on top."""
    parts = path.relative_to(PACKAGE).parts
    return LAYERS.index(parts[0]) if len(parts) > 1 and parts[0] in LAYERS else len(LAYERS)


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
    return found


def _target_layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "lrtui" or len(parts) == 1:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else len(LAYERS)


def test_imports_only_point_down():
    wrong = []
    for path in _modules():
        mine = _layer(path)
        for module, line in _imports(path):
            target = _target_layer(module)
            if target is not None and target > mine:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_layers_keep_away_from_what_they_never_import():
    wrong = []
    for path in _modules():
        parts = path.relative_to(PACKAGE).parts
        banned = NEVER.get(parts[0], set()) if len(parts) > 1 else set()
        # record may take torch in where a tensor is handed in, never at import time
        lazy_ok = parts[0] == "record"
        for module, line in _imports(path, top_level_only=lazy_ok):
            if module.split(".")[0] in banned or (lazy_ok and module.split(".")[0] == "torch"):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_commands_stay_light_at_import_time():
    """commands/ is what `lrtui --help`, `watch` and `export` import: at import time it takes in
    nothing heavy and, of lrtui, only spec/, itself and the root's version; the rest (modes/
    included) is imported inside the function that needs it."""
    wrong = []
    for path in sorted((PACKAGE / "commands").rglob("*.py")):
        for module, line in _imports(path, top_level_only=True):
            parts = module.split(".")
            heavy = parts[0] in LIGHT
            deep = parts[0] == "lrtui" and len(parts) > 1 and parts[1] not in ("spec", "commands")
            if heavy or deep:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def _unit(path: Path) -> str:
    """A module's top-level package or module under lrtui ("lrtui" for the root package)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return "lrtui" if parts == ("__init__",) else parts[0]


def _target_units(module: str, names: list[str]) -> set[str]:
    """The top-level packages or modules an import statement reaches (`from lrtui import x`
    reaches `x` where it is a package or module of its own, else the root package)."""
    parts = module.split(".")
    if parts[0] != "lrtui":
        return set()
    if len(parts) > 1:
        return {parts[1]}
    tops = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    return {name if name in tops else "lrtui" for name in names}


def _import_graph() -> dict[str, set[str]]:
    """Which top-level units import which, counting every import (inside functions too)."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        mine = _unit(path)
        edges = graph.setdefault(mine, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                edges |= _target_units(node.module, [alias.name for alias in node.names])
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    edges |= _target_units(alias.name, [])
        edges.discard(mine)
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle, as the path around it, or [] if there is none."""
    done: set[str] = set()

    def visit(unit: str, path: list[str]) -> list[str]:
        if unit in path:
            return [*path[path.index(unit) :], unit]
        if unit in done:
            return []
        for target in sorted(graph.get(unit, ())):
            found = visit(target, [*path, unit])
            if found:
                return found
        done.add(unit)
        return []

    return next((found for unit in sorted(graph) if (found := visit(unit, []))), [])


def test_no_import_circle_among_the_top_level_packages():
    """Every top-level package and module (the layers, commands/, modes/, bench/, the root)
    imports only what sits below it: no circle, not even through an import in a function."""
    circle = _circle(_import_graph())
    assert not circle, " -> ".join(circle)


def test_modules_and_functions_stay_small():
    big = []
    for path in _modules():
        source = path.read_text()
        if len(source.splitlines()) > 350:
            big.append(f"{path.relative_to(PACKAGE)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 50:
                    big.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {length} lines")
    assert not big, "\n".join(big)


def _loaded_after(code: str, tmp_path: Path) -> dict:
    """Which heavy packages a fresh interpreter has loaded after running `code`."""
    probe = (
        code + "\nimport json, sys\nprint(json.dumps({m: m in sys.modules for m in ('torch', 'textual')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_and_version_never_import_torch(tmp_path):
    for flag in ("--help", "--version"):
        code = (
            f"from lrtui.commands.main import main\ntry:\n    main(['{flag}'])\nexcept SystemExit:\n    pass"
        )
        assert _loaded_after(code, tmp_path) == {"torch": False, "textual": False}


def test_help_lists_the_subcommands(capsys):
    from lrtui.commands.main import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "lrtui watch PATH" in out and "lrtui export PATH --csv OUT" in out


def test_export_and_watch_never_import_torch(tmp_path):
    log = tmp_path / "run.jsonl"
    log.write_text(
        '{"format": "lrtui-events", "version": 1, "run": "r"}\n{"step": 1, "lr": 0.1, "loss": 0.5}\n'
    )
    out = tmp_path / "o.csv"
    code = f"from lrtui.commands.main import main\nmain(['export', {str(log)!r}, '--csv', {str(out)!r}])"
    assert _loaded_after(code, tmp_path) == {"torch": False, "textual": False}
    # watch: everything `lrtui watch` imports, the app included
    code = "import lrtui.record.watch, lrtui.ui.app, lrtui.commands.main"
    assert _loaded_after(code, tmp_path)["torch"] is False


def test_choice_names_match_what_the_engine_builds():
    from lrtui.engine.builtin import MODELS
    from lrtui.spec.choices import MODELS as MODEL_NAMES

    assert set(MODELS) == set(MODEL_NAMES)


def test_each_package_docstring_names_what_it_holds():
    """A reader opens a package's `__init__` to find its way: every module and subpackage
    is named there (a name in backquotes), so the docstring cannot fall behind the folder."""
    untold = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        folder = init.parent
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        held = [p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "__main__")]
        held += [p.name for p in folder.iterdir() if (p / "__init__.py").exists()]
        untold += [f"{folder.relative_to(PACKAGE.parent)}: {name}" for name in held if f"`{name}`" not in doc]
    assert untold == []


def test_readme_places_every_test_file_under_a_layer():
    """README's table of tests by layer is how a reader finds a layer's tests: it names each one."""
    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme[readme.index("| layer | tests |") :].split("\n\n", 1)[0]
    files = sorted(p.name for p in (PACKAGE.parent / "tests").glob("test_*.py"))
    assert [f for f in files if f"`{f}`" not in table] == []
