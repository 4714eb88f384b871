"""The house's shape: layers import only downwards, entry points stay light, pieces stay small."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lrtui"
LAYERS = ["spec", "schedule", "engine", "record", "state", "ui"]  # bottom to top
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
        code = f"from lrtui.cli import main\ntry:\n    main(['{flag}'])\nexcept SystemExit:\n    pass"
        assert _loaded_after(code, tmp_path) == {"torch": False, "textual": False}


def test_help_lists_the_subcommands(capsys):
    from lrtui.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "lrtui watch PATH" in out and "lrtui export PATH --csv OUT" in out


def test_export_and_watch_never_import_torch(tmp_path):
    log = tmp_path / "run.jsonl"
    log.write_text(
        '{"format": "lrtui-events", "version": 1, "run": "r"}\n{"step": 1, "lr": 0.1, "loss": 0.5}\n'
    )
    code = f"from lrtui.cli import main\nmain(['export', {str(log)!r}, '--csv', {str(tmp_path / 'o.csv')!r}])"
    assert _loaded_after(code, tmp_path) == {"torch": False, "textual": False}
    # watch: everything `lrtui watch` imports, the app included
    code = "import lrtui.record.watch, lrtui.ui.app, lrtui.cli"
    assert _loaded_after(code, tmp_path)["torch"] is False


def test_choice_names_match_what_the_engine_builds():
    from lrtui.engine.builtin import MODELS
    from lrtui.spec.choices import MODELS as MODEL_NAMES

    assert set(MODELS) == set(MODEL_NAMES)
