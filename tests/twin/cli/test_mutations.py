"""Seeded mutation campaigns over the twin's inputs: scenario files, ``--set`` overrides,
schedule requests and order books. Each mutated input must end in exit 0 or 2 (never 1,
never a traceback), with an ``error:`` line naming the input when 2, in bounded time.
A handful go through the real entry point (``python run.py``) in a subprocess."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests import REPO
from tests.twin.cli.mutations import (
    NASTY_YAML,
    check_outcome,
    mutate_bytes,
    mutate_tree,
    nasty,
    paths,
    run_cli,
)
from twin.scenario.errors import ScenarioError
from twin.scenario.loading import read_yaml, validate

ROOT = REPO
SCENARIOS = ["martinique_baseline.yaml", "martinique_p2p.yaml", "hil_loopback.yaml"]
N = 40  # mutations per scenario and surface: the suite stays fast


@pytest.fixture(scope="module", autouse=True)
def _warm():
    """The first command imports the twin's stack (seconds): keep it out of the timings."""
    run_cli(["validate"])


def _path_text(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_file_byte_mutations(tmp_path, name):
    data = (ROOT / "scenarios" / name).read_bytes()
    rng = random.Random(f"bytes-{name}")
    for i in range(N):
        path = tmp_path / f"m{i}.yaml"
        path.write_bytes(mutate_bytes(data, rng))
        code, _, err, s = run_cli(["validate", str(path)])
        check_outcome(f"{name} byte mutation {i}", code, err, s)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_tree_mutations(name):
    """Values swapped for other types and extremes, keys deleted, deep nesting."""
    import time

    tree = read_yaml((ROOT / "scenarios" / name).read_text(encoding="utf-8"))
    rng = random.Random(f"tree-{name}")
    for i in range(N * 2):
        mutated = mutate_tree(tree, rng)
        t0 = time.perf_counter()
        try:
            validate(mutated, name)
        except ScenarioError as exc:
            check_outcome(f"{name} tree mutation {i}", 2, f"error: {exc}", 0.0)
        assert time.perf_counter() - t0 < 10, f"{name} tree mutation {i}: slow"


@pytest.mark.parametrize("name", SCENARIOS)
def test_set_mutations(name):
    """``--set PATH=VALUE`` with real and made-up paths, values that are not YAML."""
    tree = read_yaml((ROOT / "scenarios" / name).read_text(encoding="utf-8"))
    spots = [_path_text(p) for p, _ in paths(tree) if p]
    rng = random.Random(f"set-{name}")
    for _ in range(N):
        where = rng.choice(spots + ["x.y", "assets.pv.items[9999999]", "assets..pv",
                                    "[0]", "assets.ev.items." + "9" * 5000, "é.ü", "=",
                                    "assets.battery.items[2]"])
        value = rng.choice(NASTY_YAML) if rng.random() < 0.6 else _json(nasty(rng))
        arg = f"{where}={value}" if rng.random() < 0.95 else where
        code, _, err, s = run_cli(["validate", str(ROOT / "scenarios" / name), "--set", arg])
        check_outcome(f"{name} --set {arg[:80]!r}", code, err, s)


def _json(value) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except RecursionError:  # json.dumps stops near 1,000 levels: write the deep one
        return "[" * 3000 + "]" * 3000


def _book_or_request(path: Path, rng: random.Random, i: int, tmp_path: Path) -> Path:
    body = json.loads(path.read_text(encoding="utf-8"))
    out = tmp_path / f"m{i}.json"
    if rng.random() < 0.3:
        out.write_bytes(mutate_bytes(path.read_bytes(), rng))
    else:
        out.write_text(_json(mutate_tree(body, rng)), encoding="utf-8")
    return out


def test_schedule_request_mutations(tmp_path):
    rng = random.Random("schedule")
    for i in range(N):
        req = _book_or_request(ROOT / "examples" / "schedule_request.json", rng, i, tmp_path)
        code, _, err, s = run_cli(["schedule", str(req)])
        check_outcome(f"schedule mutation {i}: {req.read_bytes()[:300]!r}", code, err, s)


@pytest.mark.parametrize("rule", ["pay_as_bid", "pay_as_clear", "pay_as_offer", "pda_uniform"])
def test_order_book_mutations(tmp_path, rule):
    rng = random.Random(f"book-{rule}")
    for i in range(N):
        book = _book_or_request(ROOT / "examples" / "order_book.json", rng, i, tmp_path)
        code, _, err, s = run_cli(["clear", str(book), "--rule", rule])
        check_outcome(f"clear {rule} mutation {i}: {book.read_bytes()[:300]!r}", code, err, s)


@pytest.mark.parametrize("arg", ["seed=*", "name=@foo", "seed=!!python/object:os.system",
                                 "assets.pv.defaults.p_dc_kwp=1e22"])
def test_real_entry_point_refuses_bad_set_on_one_line(arg):
    proc = subprocess.run([sys.executable, "run.py", "validate", "--set", arg], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    check_outcome(arg, proc.returncode, proc.stderr, 0.0)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def _schedule_with(tmp_path: Path, **over) -> tuple[int, str]:
    body = json.loads((ROOT / "examples" / "schedule_request.json").read_text())
    body.update(over)
    path = tmp_path / "req.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    code, _, err, s = run_cli(["schedule", str(path)])
    check_outcome(str(over)[:80], code, err, s)
    return code, err


def test_schedule_requests_too_large_are_refused_not_solved(tmp_path):
    """A request whose optimisation would not fit (memory, time) is bad input."""
    fm = json.loads((ROOT / "examples" / "schedule_request.json").read_text())["flex-model"]
    far = [fm[0], {**fm[1], "soc-targets": [{"datetime": "2199-06-02T07:00:00-04:00",
                                              "value": "60 kWh"}]}]
    for over, message in [
        ({"duration": "P99999999D"}, "steps; at most 50,000"),
        ({"duration": "P30D", "resolution": "PT1S"}, "2,592,000 steps; at most 50,000"),
        ({"start": "9999-12-31T23:45:00Z"}, "start: a date-time from 1900 to 2200"),
        ({"flex-model": far}, "stretches the schedule to"),
        ({"flex-model": [{**fm[0], "device": f"d{i}"} for i in range(501)]}, "at most 500"),
    ]:
        code, err = _schedule_with(tmp_path, **over)
        assert code == 2 and message in err, (over.keys(), err)


def test_order_book_too_large_is_refused(tmp_path):
    bid = {"id": "B", "buyer": "a", "energy_kwh": 1, "rate_ct_per_kwh": 20}
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"bids": [bid] * 50_001, "offers": []}), encoding="utf-8")
    code, _, err, s = run_cli(["clear", str(path), "--rule", "pay_as_clear"])
    check_outcome("50,001 bids", code, err, s)
    assert code == 2 and "at most 50,000 per side" in err
