"""The import contracts of pyproject.toml hold (ui and eval beside each other above rag above index;
no cycle inside a package): CI runs `make test`, so the suite checks them too, in a second or two."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT, VENV_BIN


def test_the_import_contracts_hold():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert {c["type"] for c in config["contracts"]} == {"layers", "acyclic_siblings"}
    lint = shutil.which("lint-imports", path=str(VENV_BIN))
    assert lint, "import-linter is not installed: `pip install -e '.[test]'`"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_newsrag_eval_comes_from_the_evaluation_package_without_ui_importing_it():
    from ui.cli import build_parser, command_groups

    groups = command_groups()
    assert list(groups) == ["eval"] and groups["eval"].__name__ == "eval.command"
    args = build_parser().parse_args(["eval", "compare", "a", "b"])
    assert (args.group, args.eval_command, args.run_a, args.run_b) == (groups["eval"], "compare", "a", "b")
    alone = subprocess.run([sys.executable, "-m", "eval", "compare", "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert alone.returncode == 0 and alone.stdout.startswith("usage: python -m eval compare")


def test_no_test_module_imports_another():
    """Tests share code through conftest.py and helpers.py only: a test module imported as a library
    runs its module-level fixtures twice and ties one file's changes to another's."""
    import re

    tests = Path(__file__).resolve().parent
    names = {p.stem for p in tests.glob("test_*.py")}
    found = [f"{p.name}: {m.group(0).strip()}" for p in sorted(tests.glob("*.py"))
             for m in re.finditer(r"^\s*(from|import) (test_\w+)", p.read_text(encoding="utf-8"), re.M)
             if m.group(2) in names]
    assert found == []
