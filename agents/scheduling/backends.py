"""Three scheduling backends behind one interface.

- ``builtin`` (default): the request's problem (:mod:`storage_problem`) solved by the
  built-in device scheduler on HiGHS;
- ``flexmeasures``: the same problem solved by FlexMeasures' own ``device_scheduler``
  in process (the ``flexmeasures`` extra; a Flask app context, no database);
- ``server``: the request sent to a FlexMeasures server (:mod:`fm_server`), which
  builds the problem itself and returns each device's schedule.

Every backend's schedule is then costed and checked the same way (:mod:`evaluate`).
Sign convention: positive = consumption / charging.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.scheduling.device_scheduler import Device, Labels, schedule_devices
from agents.scheduling.evaluate import cost_summary, find_breaches, simulate_stock
from agents.scheduling.flex_model import RequestError, ScheduleRequest
from agents.scheduling.fm_server import ServerConfig, schedule_on_server
from agents.scheduling.lp import SolveError
from agents.scheduling.storage_problem import Problem, build_problem
from agents.scheduling.warm_start import WarmStart
from twin.timeparse import iso_duration

BACKENDS = ("builtin", "flexmeasures", "server")


class InfeasibleError(ValueError):
    """No schedule meets the hard constraints; the message names them and their times."""


@dataclass
class ScheduleResult:
    request: ScheduleRequest
    backend: str
    names: list[str]
    power_kw: np.ndarray  # (devices, steps)
    soc_kwh: np.ndarray  # (devices, steps) at the end of each step; NaN without a stock
    costs: dict[str, float]
    breaches: list[dict]
    solve_s: float
    objective_eur: float | None = None


def solve(req: ScheduleRequest, backend: str = "builtin", server=None,
          warm: WarmStart | None = None, *, explain: bool = True) -> ScheduleResult:
    """Schedule the request's devices with ``backend``; see the module docstring.

    ``warm`` (builtin backend): solve on its kept HiGHS instance, started from the basis
    of the last request it solved (:mod:`warm_start`); the same optimum as a cold solve.
    ``explain``: an infeasible request's error names the breaches of its relaxed solve.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    problem = build_problem(req)
    t0 = time.perf_counter()
    objective = None
    if backend == "server":
        power = _solve_on_server(req, server)
    else:
        try:
            if backend == "builtin":
                sol = schedule_devices(problem.devices, problem.n, problem.ems_min,
                                       problem.ems_max, [c.commitment for c in problem.commitments],
                                       labels=None if warm is None else warm_labels(problem, warm))
                power, objective = sol.power[:problem.n_flexible], sol.cost
            else:
                power, objective = solve_with_flexmeasures(problem)
        except SolveError as exc:
            raise InfeasibleError(diagnose(req, str(exc)) if explain else str(exc)) from None
    solve_s = time.perf_counter() - t0
    return _result(problem, backend, power, solve_s, objective)


def warm_labels(problem: Problem, warm: WarmStart) -> Labels:
    """Labels for a warm start: devices by name (the inflexible ones by position), time
    steps counted from 1970 in the request's resolution."""
    req = problem.request
    keys = [m.name for m in req.devices]
    keys += [("inflexible", i) for i in range(len(problem.devices) - len(keys))]
    return Labels(warm, keys, int(req.start.value // req.resolution.value))


def _result(problem: Problem, backend: str, power: np.ndarray, solve_s: float,
            objective: float | None) -> ScheduleResult:
    stock = simulate_stock(problem, power)
    soc = np.full(power.shape, np.nan)
    for d, s0 in enumerate(problem.soc_at_start_kwh):
        if s0 is not None:
            soc[d] = stock[d] / problem.steps_per_hour
    return ScheduleResult(problem.request, backend, [m.name for m in problem.request.devices],
                          power, soc, cost_summary(problem, power, stock),
                          find_breaches(problem, power, soc), solve_s, objective)


def diagnose(req: ScheduleRequest, status: str) -> str:
    """Why a request without relaxation is infeasible: solve it relaxed and name the
    constraints that the relaxed schedule breaches, with their times."""
    relaxed = dataclasses.replace(req, context=dataclasses.replace(
        req.context, relax_constraints=True, relax_soc_constraints=True,
        relax_site_capacity_constraints=True))
    head = f"the schedule is infeasible ({status}) with relax-constraints off"
    try:
        result = solve(relaxed, "builtin", explain=False)
    except InfeasibleError:
        return (f"{head}, and stays infeasible when SoC minima/maxima/targets and site "
                "capacities are relaxed: check soc-min / soc-max against soc-at-start and "
                "the power capacities, and site-power-capacity against the inflexible load")
    lines = [f"{head}; relaxed, it breaches:"]
    for b in result.breaches[:10]:
        unit = "kWh" if "breach_kwh" in b else "kW"
        value, limit = b["value_" + unit.lower()], b["limit_" + unit.lower()]
        lines.append(f"  {b['constraint']} of {b['device']} at {b['time']}: "
                     f"{value:.3f} {unit} against {limit:.3f} {unit}")
    if len(result.breaches) > 10:
        lines.append(f"  ... and {len(result.breaches) - 10} more")
    return "\n".join(lines)


def solve_with_flexmeasures(problem: Problem) -> tuple[np.ndarray, float]:
    """FlexMeasures' device_scheduler on the same problem (needs the flexmeasures extra)."""
    req = problem.request
    power, cost = flexmeasures_device_scheduler(
        problem.devices, problem.n, [(c.name, c.commitment) for c in problem.commitments],
        problem.ems_min, problem.ems_max, req.start, req.resolution)
    return power[:problem.n_flexible], cost


def flexmeasures_device_scheduler(devices: list[Device], n: int, commitments: list,
                                  ems_min=None, ems_max=None,
                                  start: pd.Timestamp | None = None,
                                  resolution: pd.Timedelta | None = None,
                                  ) -> tuple[np.ndarray, float]:
    """Run FlexMeasures' own device_scheduler on builtin inputs: devices, ``(name,
    Commitment)`` pairs and site bounds; returns every device's power and the cost."""
    try:
        from flask import Flask
        from flexmeasures.data.models.planning.linear_optimization import device_scheduler
    except ImportError:
        raise ValueError("backend flexmeasures: FlexMeasures is not installed; "
                         "pip install -e \".[flexmeasures]\"") from None
    idx = pd.date_range(pd.Timestamp("2026-01-01", tz="UTC") if start is None else start,
                        periods=n, freq=pd.Timedelta("15min") if resolution is None else resolution)
    frames, ems, fm_commitments, stocks = to_flexmeasures(devices, commitments, ems_min,
                                                          ems_max, idx)
    app = Flask("cariflex-schedule")
    # LOGGING_LEVEL INFO is what makes FlexMeasures switch its HiGHS log off
    app.config.update(FLEXMEASURES_LP_SOLVER="highspy", LOGGING_LEVEL="INFO")
    with app.app_context(), _stdout_to_stderr():  # its solver log must not mix with results
        planned, cost, results, _ = device_scheduler(frames, ems, commitments=fm_commitments,
                                                     initial_stock=stocks)
    status = str(results.solver.termination_condition)
    if status != "optimal":
        raise SolveError(status)
    return np.vstack([np.asarray(planned[d], dtype=float) for d in range(len(devices))]), \
        float(cost)


@contextlib.contextmanager
def _stdout_to_stderr():
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


COLUMNS = ["equals", "max", "min", "efficiency", "derivative equals", "derivative max",
           "derivative min", "derivative down efficiency", "derivative up efficiency",
           "stock delta"]


def to_flexmeasures(devices: list[Device], commitments: list, ems_min, ems_max,
                    idx: pd.DatetimeIndex):
    """Builtin inputs as FlexMeasures' device_scheduler arguments (frames, EMS,
    commitments, initial stocks)."""
    from flexmeasures.data.models.planning import FlowCommitment, StockCommitment

    n = len(idx)
    frames, stocks = [], []
    for d in devices:
        f = pd.DataFrame(np.nan, index=idx, columns=COLUMNS)
        f["derivative min"], f["derivative max"] = d.derivative_min, d.derivative_max
        for col, v in (("derivative equals", d.derivative_equals), ("min", d.stock_min),
                       ("max", d.stock_max), ("equals", d.stock_equals)):
            if v is not None:
                f[col] = v
        f["derivative up efficiency"] = d.up_efficiency
        f["derivative down efficiency"] = d.down_efficiency
        f["efficiency"] = d.storage_efficiency
        f["stock delta"] = d.stock_delta
        frames.append(f)
        stocks.append(d.initial_stock)
    ems = pd.DataFrame(np.nan, index=idx, columns=COLUMNS)
    ems["derivative min"] = np.nan if ems_min is None else ems_min
    ems["derivative max"] = np.nan if ems_max is None else ems_max
    out = []
    for name, c in commitments:
        cls = FlowCommitment if c.kind == "flow" else StockCommitment
        if c.devices is not None and len(c.devices) != 1:
            raise NotImplementedError("commitments on a subset of devices")

        def series(v, default=0.0):
            return pd.Series(default if v is None else np.broadcast_to(v, (n,)), index=idx)

        out.append(cls(
            name=name, quantity=series(c.quantity),
            upwards_deviation_price=series(c.up_price),
            downwards_deviation_price=series(c.down_price), index=idx,
            _type="each" if c.each else "any",  # device None: the whole site (EMS level)
            device=None if c.devices is None else pd.Series(c.devices[0], index=idx)))
    return frames, ems, out, stocks


def _solve_on_server(req: ScheduleRequest, server) -> np.ndarray:
    if req.asset is None:
        raise RequestError("asset: the server backend needs the asset to trigger the schedule "
                           "on (\"asset\": id in the request, or --asset)")
    config = server or ServerConfig.from_env()
    body = dict(req.raw)
    body.pop("asset", None)
    body.pop("id", None)
    schedules = schedule_on_server(body, req.asset, config)
    power = np.zeros((len(req.devices), req.n_steps))
    for d, m in enumerate(req.devices):
        got = schedules.get(m.name, schedules.get(str(m.sensor)))
        if got is None:
            raise ValueError(f"server: no schedule came back for device {m.name!r}")
        values = np.asarray(got["values"], dtype=float)[:req.n_steps]
        power[d, :len(values)] = values
    return power



def to_response(result: ScheduleResult) -> dict:
    """Per device, FlexMeasures' GET schedule form; plus SoC, costs and breaches."""
    req = result.request
    duration = iso_duration((req.end - req.start).total_seconds())
    start = req.start.isoformat()

    def block(values, unit):
        return {"values": [round(float(v), 6) for v in values], "start": start,
                "duration": duration, "unit": unit}

    soc = {name: block(result.soc_kwh[d], "kWh") for d, name in enumerate(result.names)
           if not np.isnan(result.soc_kwh[d]).all()}
    return {
        "backend": result.backend,
        "start": start, "duration": duration, "resolution": iso_duration(req.resolution.total_seconds()),
        "schedules": {name: block(result.power_kw[d], "kW")
                      for d, name in enumerate(result.names)},
        "soc": soc,
        "costs": {key: round(value, 6) for key, value in result.costs.items()},
        "breaches": result.breaches,
        "solve_s": round(result.solve_s, 4),
    }
