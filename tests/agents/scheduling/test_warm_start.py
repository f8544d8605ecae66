"""Warm-started re-plans (agents.scheduling.warm_start) against cold solves.

The oracle is a cold solve of the same request: a new HiGHS instance, presolve, no
starting basis. A warm solve must reach the same optimum (cost within 1e-9 relative)
with the same breaches; set-points may be another vertex of a degenerate optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.scheduling.backends import solve
from agents.scheduling.flex_model import parse_request
from agents.scheduling.warm_start import WarmStart
from tests.agents.scheduling.fm_requests import RES, START, _series, random_request

REL = 1e-9


def _same_optimum(cold, warm) -> None:
    scale = max(1.0, abs(cold.objective_eur))
    assert abs(warm.objective_eur - cold.objective_eur) <= REL * scale
    assert abs(warm.costs["total_eur"] - cold.costs["total_eur"]) <= REL * scale
    assert _breached(warm) == _breached(cold)


def _breached(result) -> set:
    return {(b["device"], b["constraint"], b["time"]) for b in result.breaches}


@pytest.mark.parametrize("seed", range(8))
def test_warm_solves_of_unrelated_requests_equal_cold_solves(seed):
    """One warm start through requests of changing shapes (devices, commitments and
    windows differ): each solve equals a cold solve of the same request."""
    warm = WarmStart()
    for k in range(6):
        req = parse_request(random_request(100 * seed + k, n=24 + 8 * (k % 3)))
        _same_optimum(solve(req), solve(req, warm=warm))
    assert warm.solves == 6 and warm.warm_solves == 5  # every later basis was accepted


class RollingSite:
    """A seeded site re-planned every hour over 24 h: batteries and one EV whose stored
    energy follows the last plan, prices, load and PV from fixed series."""

    def __init__(self, seed: int, hours: int, n: int = 96):
        rng = np.random.default_rng(seed)
        total = 4 * hours + n
        self.n = n
        self.price = rng.normal(0.2, 0.08, total)
        self.price[rng.random(total) < 0.1] *= -1
        self.load = rng.uniform(20, 80, total)
        self.pv = np.clip(30 * np.sin(np.arange(total) * np.pi / 48), 0, None)
        self.caps = rng.uniform(50, 120, 4)
        self.power = rng.uniform(10, 40, 4)
        self.e = rng.uniform(0.3, 0.7, 4) * self.caps
        self.ev_e, self.ev_leave = 20.0, int(rng.integers(20, 60))

    ev_arrive = 0  # the EV is plugged in from this step to ev_leave

    def body(self, h: int) -> dict:
        return self.body_at(4 * h)

    def body_at(self, k: int, n: int | None = None) -> dict:
        """The request of a plan made at step ``k`` over ``n`` steps (default: ``self.n``)."""
        n = self.n if n is None else n
        start = START + k * RES
        window = slice(k, k + n)
        entries = [{
            "device": f"battery-{b}", "soc-at-start": f"{float(self.e[b])!r} kWh",
            "soc-min": f"{float(0.1 * self.caps[b])!r} kWh", "soc-max": f"{float(0.95 * self.caps[b])!r} kWh",
            "power-capacity": f"{float(self.power[b])!r} kW", "roundtrip-efficiency": "90%",
            "soc-minima": [{"datetime": (start + n * RES).isoformat(),
                            "value": f"{float(0.5 * self.caps[b])!r} kWh"}],
        } for b in range(len(self.caps))]
        if self.ev_arrive <= k < self.ev_leave:
            leave = START + self.ev_leave * RES
            entries.append({
                "device": "ev", "soc-at-start": f"{float(self.ev_e)!r} kWh", "soc-max": "75 kWh",
                "soc-minima": [{"datetime": leave.isoformat(), "value": "60 kWh"}],
                "power-capacity": "22 kW",
                "consumption-capacity": [
                    {"start": start.isoformat(), "end": leave.isoformat(), "value": "22 kW"},
                    {"start": leave.isoformat(), "end": (start + n * RES).isoformat(),
                     "value": "0 kW"}],
                "production-capacity": "0 kW", "charging-efficiency": "92%"})
        return {"start": start.isoformat(), "duration": f"PT{n * 15}M", "resolution": "PT15M",
                "flex-model": entries, "flex-context": {
                    "consumption-price": _series(self.price[window], start, unit="EUR/kWh"),
                    "production-price": _series(self.price[window] - 0.05, start,
                                                unit="EUR/kWh"),
                    "inflexible-consumption": [_series(self.load[window] - self.pv[window],
                                                       start)],
                    "site-consumption-capacity": "150 kW", "site-production-capacity": "100 kW"}}

    def follow(self, result, steps: int = 4) -> None:
        """The devices hold what the plan said at the end of its first ``steps`` steps."""
        soc = dict(zip(result.names, result.soc_kwh[:, steps - 1], strict=True))
        self.e = np.array([soc[f"battery-{b}"] for b in range(len(self.caps))])
        self.ev_e = soc.get("ev", self.ev_e)


@pytest.mark.parametrize("seed", range(4))
def test_consecutive_hourly_replans_warm_equal_cold(seed):
    site = RollingSite(seed, hours=30)
    warm = WarmStart()
    for h in range(30):
        req = parse_request(site.body(h))
        cold, hot = solve(req), solve(req, warm=warm)
        _same_optimum(cold, hot)
        site.follow(hot)  # the rolling plan follows the warm plans, as the strategy does
    assert warm.warm_solves == 29


def test_warm_start_carries_the_basis_to_the_shifted_window():
    """An unchanged site re-planned one hour on starts from the kept basis: the warm
    simplex needs far fewer iterations than the cold one."""
    site = RollingSite(7, hours=2)
    warm = WarmStart()
    solve(parse_request(site.body(0)), warm=warm)
    req = parse_request(site.body(1))
    cold = WarmStart()  # a fresh instance: no basis to start from
    solve(req, warm=cold)
    solve(req, warm=warm)
    cold_iterations = cold.highs.getInfo().simplex_iteration_count
    warm_iterations = warm.highs.getInfo().simplex_iteration_count
    assert warm_iterations < 0.6 * cold_iterations, (warm_iterations, cold_iterations)


def test_a_failed_warm_solve_forgets_its_basis():
    warm = WarmStart()
    solve(parse_request(random_request(3, n=24)), warm=warm)
    infeasible = random_request(3, n=24, relax=False)
    infeasible["flex-model"][0]["soc-min"] = "1000 kWh"  # above its soc-max
    with pytest.raises(ValueError):
        solve(parse_request(infeasible), warm=warm)
    assert warm.basis(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(1), np.ones(1),
                      np.zeros(0), np.zeros(0)) is None



def test_a_warm_solve_that_stops_short_is_solved_cold():
    """The warm start is a shortcut only: when the kept instance stops before the optimum
    (here an iteration limit of 1), the request is solved cold, to the same optimum."""
    site = RollingSite(11, hours=2)
    warm = WarmStart()
    solve(parse_request(site.body(0)), warm=warm)
    warm.highs.setOptionValue("simplex_iteration_limit", 1)
    req = parse_request(site.body(1))
    _same_optimum(solve(req), solve(req, warm=warm))
    assert warm.fallbacks == 1 and warm.warm_solves == 1


def test_a_new_step_takes_the_status_its_family_had_a_shift_earlier():
    """The window moved on by 2 steps: the new steps 12 and 13 of family 0 take the kept
    statuses of steps 10 and 11; family 1's new step, whose earlier step is not kept
    either, gets the default; labels the basis knows keep their own status."""
    from agents.scheduling.warm_start import BASIC, LOWER, UPPER, _carry, label

    old = label(0, np.arange(4, 12))
    status = np.array([LOWER, BASIC, UPPER, LOWER, BASIC, LOWER, UPPER, BASIC], np.int8)
    kept = (np.sort(np.concatenate([old, label(1, [2])])), np.concatenate([status, [BASIC]]))
    new = np.concatenate([label(0, np.arange(6, 14)), label(1, [9])])
    default = np.full(len(new), LOWER, np.int8)
    got = _carry(kept, new, default, shift=2)
    assert got[:6].tolist() == status[2:].tolist()
    assert got[6:8].tolist() == [UPPER, BASIC]  # steps 12, 13 <- 10, 11
    assert got[8] == LOWER
    assert _carry(kept, new, default)[6:].tolist() == [LOWER] * 3  # no shift: defaults


def test_the_kept_statuses_are_those_of_highs_own_basis():
    """The basis is read as basic indices and values (numpy); each status equals the
    one in ``Highs.getBasis()``, a fixed variable or row at either of its bounds."""
    from agents.scheduling.warm_start import BASIC, statuses

    site = RollingSite(5, hours=2)
    warm = WarmStart()
    solve(parse_request(site.body(0)), warm=warm)
    h = warm.highs
    lp, solution, basis = h.getLp(), h.getSolution(), h.getBasis()
    _, basic = h.getBasicVariables()
    for value, lb, ub, own, idx in (
            (solution.col_value, lp.col_lower_, lp.col_upper_, basis.col_status,
             basic[basic >= 0]),
            (solution.row_value, lp.row_lower_, lp.row_upper_, basis.row_status,
             -1 - basic[basic < 0])):
        lb, ub = np.asarray(lb), np.asarray(ub)
        got = statuses(idx, np.asarray(value), lb, ub)
        own = np.array([int(s) for s in own])
        fixed = (lb == ub) & (own != BASIC)
        assert (got[~fixed] == own[~fixed]).all()
        assert (got[fixed] != BASIC).all()
        assert (own == BASIC).sum() > 0 and (own != BASIC).sum() > 0


@pytest.mark.parametrize("seed", range(4))
def test_replans_at_irregular_steps_with_ev_arrival_departure_and_longer_windows(seed):
    """Re-plans 1 to 8 steps apart (events), an EV that plugs in and leaves (devices and
    constraints come and go), and now and then a longer window (a day-ahead plan): each
    warm solve, the window moved by any shift, equals a cold solve of the same request."""
    rng = np.random.default_rng(seed)
    site = RollingSite(seed, hours=40)
    site.ev_arrive, site.ev_leave = int(rng.integers(20, 40)), int(rng.integers(70, 110))
    site.ev_e = 20.0
    warm = WarmStart()
    k = 0
    for plan in range(24):
        n = 120 if plan % 9 == 5 else 96
        req = parse_request(site.body_at(k, n))
        cold, hot = solve(req), solve(req, warm=warm)
        _same_optimum(cold, hot)
        shift = int(rng.integers(1, 9))
        site.follow(hot, shift)
        k += shift
    assert warm.warm_solves == 23 and warm.fallbacks == 0
