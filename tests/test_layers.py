"""The import-linter contract in pyproject.toml holds, and it catches what it is there for:
an upward import (a pure model importing the runner) and a cycle between sibling modules.

Each case copies the four packages into a temporary folder, edits one import, and runs the
real `lint-imports` on the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests import REPO

PACKAGES = ("twin", "simulators", "agents", "hil")


def _lint(root) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    lint = shutil.which("lint-imports") or "lint-imports"
    return subprocess.run([lint, "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture()
def copy(tmp_path):
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_repository_keeps_its_contracts():
    out = _lint(REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 kept, 0 broken" in out.stdout


def test_an_upward_import_breaks_the_layers(copy):
    _append(copy / "simulators" / "pv" / "model.py", "import twin.runner  # noqa")
    out = _lint(copy)
    assert out.returncode == 1
    assert "simulators.pv.model is not allowed to import twin.runner" in out.stdout


def test_a_cycle_between_siblings_is_found(copy):
    _append(copy / "twin" / "scenario" / "base.py", "import twin.scenario.loading  # noqa")
    out = _lint(copy)
    assert out.returncode == 1
    assert "No cycles are allowed in twin.scenario" in out.stdout


def test_a_scenario_module_may_not_import_the_inputs(copy):
    _append(copy / "twin" / "scenario" / "loading.py", "import twin.inputs  # noqa")
    out = _lint(copy)
    assert out.returncode == 1
    assert "twin.scenario is not allowed to import twin.inputs" in out.stdout
