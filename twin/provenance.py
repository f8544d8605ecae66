"""Provenance of a run: what produced it, from which inputs, and how it ended."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
import time
from pathlib import Path

_COMMAND_T0 = [time.perf_counter()]  # the command's start (``time.perf_counter()``)


def mark_command_start(t0: float) -> None:
    """Record when the command started (run.py: before its imports)."""
    _COMMAND_T0[0] = t0


def command_wall_time_s() -> float:
    """Wall time since the command started, imports included. [s]"""
    return time.perf_counter() - _COMMAND_T0[0]

PACKAGES = (
    "cariflex-twin", "mosaik", "mosaik-api-v3", "pandapower", "lightsim2grid", "pvlib",
    "simpy", "mesa", "highspy", "pydantic", "numpy", "pandas", "pyarrow", "matplotlib",
)


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(folder: Path) -> dict[str, str | bool | None]:
    """Commit and whether the work tree had uncommitted changes (None outside git)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=folder, capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def provenance(seed: int, scenario_file: str | None, overrides: list[str]) -> dict:
    return {
        "scenario_file": scenario_file,
        "overrides": overrides,
        "seed": seed,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_state(Path(__file__).resolve().parent.parent),
        "command": sys.argv,
    }
