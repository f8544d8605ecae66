"""Run one scenario end to end: results folder, co-simulation, KPIs, report.

Whatever happens during the co-simulation (an error, Ctrl-C), the parts already
written stay readable and the KPIs and report are built from them, marked with the
run's status in ``provenance.json``.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from hil.launch import Emulators
from twin.inputs import inputs_frame
from twin.provenance import command_wall_time_s, provenance
from twin.report.records import run_records
from twin.results import (
    new_run_dir,
    read_events,
    read_inputs,
    read_timeseries,
    write_inputs,
    write_json,
    write_scenario,
)
from twin.scenario.schema import RuleBased, Scenario
from twin.world import build_world


@dataclass
class RunResult:
    run_dir: Path
    status: str  # completed | failed | interrupted
    kpis: dict
    error: str = ""


def quiet_mosaik() -> None:
    """mosaik logs every simulator start at INFO; keep warnings and errors only."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}")


def run_baseline(scenario: Scenario, run_dir: Path, quiet: bool) -> dict:
    """The rule-based baseline on the same scenario and seed, in ``run_dir/baseline``;
    returns its KPIs (also written to ``baseline_kpis.json``)."""
    if not quiet:
        print("rule-based baseline on the same scenario:", file=sys.stderr)
    outputs = scenario.outputs.model_copy(update={"report": False, "compare_baseline": False})
    base = scenario.model_copy(update={"scheduling": RuleBased(), "outputs": outputs})
    result = run_scenario(base, quiet=quiet, root=run_dir / "baseline")
    kpis = {**result.kpis, "status": result.status, "run_dir": str(result.run_dir)}
    write_json(run_dir / "baseline_kpis.json", kpis)
    return kpis


def start_run(scenario: Scenario, root: Path | None, scenario_file: str | None,
              overrides: list[str] | None) -> tuple[Path, dict]:
    """A new run folder with the scenario, its inputs and the provenance of a run that
    is ``running``; returns the folder and the provenance."""
    run_dir = new_run_dir(scenario, root)
    write_scenario(run_dir, scenario)
    write_inputs(run_dir, inputs_frame(scenario))
    prov = provenance(scenario.seed, scenario_file, overrides or [])
    prov.update(status="running", started_at=dt.datetime.now(dt.UTC).isoformat())
    write_json(run_dir / "provenance.json", prov)
    return run_dir, prov


def run_world(scenario: Scenario, world, until: int) -> None:
    """Run the world to ``until`` [s]: in real time at ``hil.rt_factor`` when mosaik paces
    a HIL run (``hil.pacing: mosaik``), else as fast as it goes (the HIL adapter paces)."""
    if scenario.is_hil and scenario.hil.pacing == "mosaik":
        # mosaik warns at every late step, by any margin; the HIL adapter records the
        # lag each step and warns (at most every 10 s) past hil.lag_warn_s instead
        warnings.filterwarnings("ignore", message="Simulation too slow for real-time")
        world.run(until=until, print_progress=False, rt_factor=scenario.hil.rt_factor,
                  rt_strict=False)
    else:
        world.run(until=until, print_progress=False)


def cosimulate(scenario: Scenario, run_dir: Path, quiet: bool) -> tuple[str, str]:
    """The co-simulation, with the HIL emulators the scenario asks for; returns the run's
    status (completed | failed | interrupted) and error. Whatever happens, the
    simulators are finalized (the recorder flushes what it holds) and the emulators
    stopped."""
    status, error = "completed", ""
    world = emulators = None
    try:
        if scenario.is_hil and scenario.hil.emulators:
            emulators = Emulators(scenario, run_dir)
            emulators.start()
        origin = emulators.origin_file if emulators is not None else None
        world, until = build_world(scenario, run_dir, progress=not quiet,
                                   hil_origin_file=origin)
        run_world(scenario, world, until)
    except KeyboardInterrupt:
        status, error = "interrupted", "stopped by the user"
    except Exception as exc:  # noqa: BLE001 - reported in provenance and on stderr
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    if world is not None and status != "completed":
        try:  # finalize the simulators (the recorder flushes what it holds)
            world.shutdown()
        except BaseException:  # noqa: BLE001 - a broken world may not shut down cleanly
            pass
    if emulators is not None:
        emulators.stop()
    return status, error


def wants_baseline(scenario: Scenario, status: str) -> bool:
    """Whether a completed run gets the rule-based baseline beside it: a scheduling
    strategy other than rule-based, ``outputs.compare_baseline``, and no HIL devices."""
    return (status == "completed" and scenario.scheduling.strategy != "rule_based"
            and scenario.outputs.compare_baseline and not scenario.is_hil)


def run_scenario(scenario: Scenario, *, scenario_file: str | None = None,
                 overrides: list[str] | None = None, quiet: bool = False,
                 root: Path | None = None) -> RunResult:
    """Run one scenario end to end into a new folder under ``root`` (default
    ``outputs.dir``): co-simulation, KPIs (``kpis.json``), the baseline where asked,
    the report, and ``provenance.json`` with the run's status."""
    quiet_mosaik()
    run_dir, prov = start_run(scenario, root, scenario_file, overrides)
    t0 = time.perf_counter()
    status, error = cosimulate(scenario, run_dir, quiet)
    wall_s = time.perf_counter() - t0

    ts, events = read_timeseries(run_dir), read_events(run_dir)
    kpis, records = run_records(scenario, run_dir, ts, events)
    prov.update(
        status=status, error=error, wall_time_s=wall_s, steps_recorded=len(ts),
        steps_per_s=len(ts) / wall_s if wall_s > 0 else None,
        finished_at=dt.datetime.now(dt.UTC).isoformat(),
    )
    write_json(run_dir / "kpis.json", kpis)
    baseline = run_baseline(scenario, run_dir, quiet) if wants_baseline(scenario, status) \
        else None
    prov["command_wall_time_s"] = command_wall_time_s()  # since the command started
    if scenario.outputs.report and len(ts):
        # matplotlib is imported only for a report: a run without one (a study's) starts faster
        from twin.report.html import write_report

        write_report(run_dir, scenario, ts, events, kpis, prov, read_inputs(run_dir),
                     baseline, **records)
    write_json(run_dir / "provenance.json", prov)
    return RunResult(run_dir, status, kpis, error)
