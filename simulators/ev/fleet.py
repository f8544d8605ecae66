"""Discrete-event model of an EV fleet sharing a pool of chargers at one site.

Sign convention: positive = consumption / charging from the grid; V2G
discharge is negative ``p_kw``. Times are seconds since the fleet's start
(floats, exact event instants, never rounded to a step).

SimPy runs one process per EV: arrive -> request a charger of its pattern's
location from a ``simpy.Store`` of free charger indices -> plug in -> wait for
departure -> leave. If departure comes first the request is cancelled and the
session is recorded with ``charger = -1``. Waiting EVs are served first come,
first served; free chargers are handed out lowest index first.

Between events every charger's AC power is constant (piecewise constant):

    p = clip(p_set, -p_dis_max, p_ch_max),  p_ch_max = min(p_max_charger, p_max_ev),
    p_dis_max = p_ch_max if charger.v2g and ev.v2g else 0,
    de/dt = eta_charge * p  (p > 0),   de/dt = p / eta_discharge  (p < 0),

and drops to 0 at the exact instant the stored energy ``e`` reaches
``e_max = capacity * soc_max / 100`` (charging) or ``e_min`` (discharging),
found analytically. So for every EV

    e(t) = e_initial + eta_c * sum(E_charged) - sum(E_discharged) / eta_d - sum(trip energy taken)

exactly (to rounding), with ``E`` the AC energies through the charger.
A trip's energy is taken at arrival; if it would push the SoC below soc_min
the SoC is clipped there and the rest is recorded as ``e_trip_shortfall_kwh``.
The state after ``advance(t)`` includes every event at exactly ``t``.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import simpy

from simulators.ev.behaviour import (
    LOCATIONS,
    PATTERNS,
    S_PER_H,
    ChargerParams,
    EvParams,
    Trip,
    draw_trips,
    validate_trips,
)


class EvFleet:
    """A fleet of EVs and a pool of chargers, driven by SimPy.

    Parameters
    ----------
    evs : list of EvParams
    chargers : list of ChargerParams
    start : pandas.Timestamp
        Timezone-aware start (America/Martinique); time 0 of the fleet.
    rng : numpy.random.Generator
        Source of all randomness; every trip up to ``horizon_s`` is drawn here,
        up front, so results never depend on setpoints.
    horizon_s : float
        Length of the horizon for which trips are drawn. [s]
    trips : list of (ev, arrival_s, departure_s, trip_kwh), optional
        Deterministic stays that replace the random draw (``rng`` is then unused).

    Notes
    -----
    EVs whose drawn stay spans ``start`` begin on site at t = 0 with
    ``soc_initial_percent`` and no trip energy, and plug in at t = 0 if a
    charger is free. Until :meth:`set_power` is called the setpoint is
    ``+inf`` (uncontrolled charging at the maximum); a NaN setpoint means the same.
    """

    def __init__(
        self,
        evs: list[EvParams],
        chargers: list[ChargerParams],
        start: pd.Timestamp,
        rng: np.random.Generator,
        horizon_s: float,
        trips: list[tuple[int, float, float, float]] | None = None,
    ) -> None:
        for k, ev in enumerate(evs):
            if ev.pattern not in PATTERNS:
                raise ValueError(f"evs[{k}].pattern={ev.pattern!r}: allowed {list(PATTERNS)}")
        for k, ch in enumerate(chargers):
            if ch.location not in LOCATIONS:
                raise ValueError(f"chargers[{k}].location={ch.location!r}: allowed {list(LOCATIONS)}")
        self.evs = list(evs)
        self.chargers = list(chargers)
        self.start = start
        self.horizon_s = float(horizon_s)
        if trips is None:
            self.trips = draw_trips(self.evs, start, self.horizon_s, rng)
        else:
            self.trips = validate_trips(trips, len(self.evs))

        def arr(attr, src):
            return np.array([getattr(x, attr) for x in src], dtype=float)

        n_ev, n_ch = len(evs), len(chargers)
        self._cap = arr("capacity_kwh", evs)
        self._e_min = self._cap * arr("soc_min_percent", evs) / 100.0
        self._e_max = self._cap * arr("soc_max_percent", evs) / 100.0
        self._e_target = self._cap * arr("soc_target_percent", evs) / 100.0
        self._eta_c = arr("eta_charge", evs)
        self._eta_d = arr("eta_discharge", evs)
        self._ev_pmax = arr("p_max_kw", evs)
        self._ev_v2g = np.array([ev.v2g for ev in evs], dtype=bool)
        self._e = self._cap * arr("soc_initial_percent", evs) / 100.0
        self._state = ["away"] * n_ev
        self._ev_ch = np.full(n_ev, -1, dtype=int)
        self._dep = np.full(n_ev, np.nan)
        self._ac_ch = np.zeros(n_ev)  # cumulative AC energy charged [kWh]
        self._ac_dis = np.zeros(n_ev)  # cumulative AC energy discharged, >= 0 [kWh]
        self._base = np.zeros((n_ev, 2))  # (_ac_ch, _ac_dis) at the session's arrival
        self._session = np.full(n_ev, -1, dtype=int)

        self._ch_pmax = arr("p_max_kw", chargers)
        self._ch_v2g = np.array([ch.v2g for ch in chargers], dtype=bool)
        self._ch_ev = np.full(n_ch, -1, dtype=int)
        self._p_set = np.full(n_ch, np.inf)
        self._p_eff = np.zeros(n_ch)
        self._e_ac = np.zeros(n_ch)  # cumulative signed AC energy per charger [kWh]
        self._p_mean = np.zeros(n_ch)

        self._sessions: list[dict] = []
        self._events: list[dict] = []
        self._env = simpy.Environment(initial_time=0.0)
        self._t_last = 0.0
        self._stores = {loc: simpy.Store(self._env) for loc in LOCATIONS}
        for j, ch in enumerate(chargers):
            self._stores[ch.location].items.append(j)
        for i in range(n_ev):
            own = [t for t in self.trips if t.ev == i]
            if own:
                self._env.process(self._ev_process(i, own))
        self._drain(0.0)

    # ------------------------------------------------------------------ SimPy
    def _ev_process(self, i: int, trips: list[Trip]):
        env = self._env
        store = self._stores[self.evs[i].pattern]
        for trip in trips:
            yield env.timeout(trip.arrival_s - env.now)
            self._arrive(i, trip)
            leave = env.timeout(trip.departure_s - env.now)
            request = store.get()
            yield request | leave
            if request.triggered:
                self._plug(i, request.value)
            else:
                request.cancel()
            yield leave
            self._depart(i)

    def _drain(self, t_s: float) -> None:
        """Process every pending event at or before ``t_s``."""
        while self._env.peek() <= t_s:
            self._env.step()
        self._integrate(t_s)

    def _log(self, i: int, kind: str, j: int, **extra) -> None:
        self._events.append(
            {"t_s": self._env.now, "ev": i, "kind": kind, "charger": int(j), **extra}
        )

    def _arrive(self, i: int, trip: Trip) -> None:
        self._integrate(self._env.now)
        e_left = self._e[i]
        e_raw = float(e_left - trip.trip_kwh)
        e_new = float(max(e_raw, min(self._e_min[i], e_left)))
        self._e[i] = e_new
        self._state[i] = "waiting"
        self._dep[i] = trip.departure_s
        self._base[i] = (self._ac_ch[i], self._ac_dis[i])
        self._session[i] = len(self._sessions)
        self._sessions.append({
            "ev": i, "charger": -1, "arrival_s": self._env.now, "plug_in_s": math.nan,
            "departure_s": trip.departure_s, "e_arrival_kwh": e_new,
            "e_departure_kwh": math.nan, "e_delivered_kwh": 0.0, "e_charged_kwh": 0.0,
            "e_discharged_kwh": 0.0, "e_target_kwh": float(self._e_target[i]),
            "e_unmet_kwh": math.nan, "waited_s": math.nan, "e_trip_kwh": trip.trip_kwh,
            "e_trip_shortfall_kwh": e_new - e_raw, "completed": False,
        })
        self._log(i, "arrival", -1)

    def _plug(self, i: int, j: int) -> None:
        self._integrate(self._env.now)
        self._ch_ev[j] = i
        self._ev_ch[i] = j
        self._state[i] = "plugged"
        s = self._sessions[self._session[i]]
        s.update(charger=j, plug_in_s=self._env.now, waited_s=self._env.now - s["arrival_s"])
        self._update_power()
        self._log(i, "plug_in", j)

    def _depart(self, i: int) -> None:
        self._integrate(self._env.now)
        j = int(self._ev_ch[i])
        if j >= 0:
            self._ch_ev[j] = -1
            self._p_eff[j] = 0.0
            self._ev_ch[i] = -1
            self._stores[self.chargers[j].location].put(j)
        s = self._sessions[self._session[i]]
        self._fill_energies(i, s)
        s.update(
            departure_s=self._env.now,
            e_departure_kwh=float(self._e[i]),
            e_unmet_kwh=max(0.0, float(self._e_target[i] - self._e[i])),
            completed=True,
        )
        if j < 0:
            s["waited_s"] = self._env.now - s["arrival_s"]
        self._state[i] = "away"
        self._dep[i] = math.nan
        self._session[i] = -1
        self._log(i, "departure", j, session=dict(s))

    def _fill_energies(self, i: int, s: dict) -> None:
        ch = float(self._ac_ch[i] - self._base[i, 0])
        dis = float(self._ac_dis[i] - self._base[i, 1])
        s.update(e_charged_kwh=ch, e_discharged_kwh=dis, e_delivered_kwh=ch - dis)

    # ------------------------------------------------------------- physics
    def _limits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per charger: plugged EV index (0 if none), charge and discharge limits. [kW]"""
        plugged = self._ch_ev >= 0
        if not self._e.size:
            zero = np.zeros(self._ch_ev.size)
            return self._ch_ev.copy(), zero, zero
        ev = np.where(plugged, self._ch_ev, 0)
        p_ch = np.where(plugged, np.minimum(self._ch_pmax, self._ev_pmax[ev]), 0.0)
        allow = plugged & self._ch_v2g & self._ev_v2g[ev]
        return ev, p_ch, np.where(allow, p_ch, 0.0)

    def _update_power(self) -> None:
        """Recompute every charger's constant power from setpoints, limits and SoC bounds."""
        if not self._ch_ev.size or not self._e.size:
            return
        ev, p_ch, p_dis = self._limits()
        p = np.clip(self._p_set, -p_dis, p_ch)
        e = self._e[ev]
        full = (p > 0) & (e >= self._e_max[ev])
        empty = (p < 0) & (e <= self._e_min[ev])
        self._p_eff = np.where(full | empty, 0.0, p)

    def _hit_time(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For active chargers ``idx``: stored-energy factor, bound and time to reach it. [s]"""
        ev = self._ch_ev[idx]
        p = self._p_eff[idx]
        factor = np.where(p > 0, self._eta_c[ev], 1.0 / self._eta_d[ev])
        bound = np.where(p > 0, self._e_max[ev], self._e_min[ev])
        rate_kwh_per_s = p * factor / S_PER_H
        t_hit = np.maximum((bound - self._e[ev]) / rate_kwh_per_s, 0.0)
        return factor, bound, t_hit

    def _integrate(self, t_s: float) -> None:
        """Integrate stored and AC energy of every plugged EV from the last update to ``t_s``."""
        dt = t_s - self._t_last
        self._t_last = t_s
        idx = np.flatnonzero(self._p_eff != 0.0)
        if dt <= 0.0 or not idx.size:
            return
        ev = self._ch_ev[idx]
        p = self._p_eff[idx]
        factor, bound, t_hit = self._hit_time(idx)
        hit = t_hit <= dt
        e_ac = p * np.where(hit, t_hit, dt) / S_PER_H
        e_new = self._e[ev] + e_ac * factor
        e_new = np.where(p > 0, np.minimum(e_new, bound), np.maximum(e_new, bound))
        self._e[ev] = np.where(hit, bound, e_new)
        self._e_ac[idx] += e_ac
        self._ac_ch[ev] += np.maximum(e_ac, 0.0)
        self._ac_dis[ev] += np.maximum(-e_ac, 0.0)
        self._p_eff[idx[hit]] = 0.0

    # ------------------------------------------------------------ public API
    @property
    def now_s(self) -> float:
        """Current fleet time. [s]"""
        return float(self._env.now)

    def set_power(self, p_set_kw: np.ndarray) -> None:
        """Set every charger's power setpoint from the current time on.

        Parameters
        ----------
        p_set_kw : array_like, shape (n_chargers,)
            Setpoint per charger, clipped to its limits; negative = V2G; NaN =
            charge at the maximum. [kW]
        """
        p = np.asarray(p_set_kw, dtype=float)
        if p.shape != self._p_set.shape:
            raise ValueError(f"p_set_kw: shape {p.shape}, expected {self._p_set.shape}")
        self._integrate(self._env.now)
        self._p_set = np.where(np.isnan(p), np.inf, p)
        self._update_power()

    def advance(self, until_s: float) -> None:
        """Run the fleet to ``until_s``, integrating energy exactly between events. [s]"""
        t0 = self._env.now
        if until_s < t0:
            raise ValueError(f"until_s={until_s}: must be >= current time {t0}")
        e0 = self._e_ac.copy()
        if until_s > t0:
            self._env.run(until=until_s)
        self._drain(until_s)
        if until_s > t0:
            self._p_mean = (self._e_ac - e0) * S_PER_H / (until_s - t0)
        else:
            self._p_mean = self._p_eff.copy()

    def p_mean_kw(self) -> np.ndarray:
        """Mean AC power per charger over the last :meth:`advance` interval. [kW]"""
        return self._p_mean.copy()

    def p_kw(self) -> np.ndarray:
        """AC power per charger right now. [kW]"""
        return self._p_eff.copy()

    def e_delivered_kwh(self) -> np.ndarray:
        """Cumulative signed AC energy through each charger since start. [kWh]"""
        return self._e_ac.copy()

    def plugged(self) -> np.ndarray:
        """Whether an EV is plugged into each charger now."""
        return self._ch_ev >= 0

    def p_max_now_kw(self) -> np.ndarray:
        """Maximum charge power per charger now; 0 if unplugged or EV at soc_max. [kW]"""
        ev, p_ch, _ = self._limits()
        if not self._e.size:
            return p_ch
        return np.where(self._e[ev] < self._e_max[ev], p_ch, 0.0)

    def p_min_now_kw(self) -> np.ndarray:
        """Most negative power per charger now; 0 without V2G, unplugged or at soc_min. [kW]"""
        ev, _, p_dis = self._limits()
        if not self._e.size:
            return p_dis
        return np.where(self._e[ev] > self._e_min[ev], -p_dis, 0.0)

    def p_window_kw(self, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Per charger, the AC power that can be held for the next ``dt_s`` by the EV
        plugged in now without crossing its SoC limits (0 for free chargers). [kW]

        ``p_max = min(p_charge_limit, (e_max - e) / (eta_c * dt))`` and
        ``p_min = max(-p_discharge_limit, (e_min - e) * eta_d / dt)`` (p_min <= 0).
        """
        ev, p_ch, p_dis = self._limits()
        if not self._e.size:
            return -p_dis, p_ch
        dt_h = dt_s / S_PER_H
        e = self._e[ev]
        p_hi = np.clip((self._e_max[ev] - e) / (self._eta_c[ev] * dt_h), 0.0, p_ch)
        p_lo = np.clip((self._e_min[ev] - e) * self._eta_d[ev] / dt_h, -p_dis, 0.0)
        return p_lo, p_hi

    def plugged_ev_view(self) -> dict[str, np.ndarray]:
        """Per charger, the EV plugged in now (NaN / 0 where none), for a scheduler:
        ``departure_s`` [s], ``e_kwh``, ``e_min_kwh``, ``e_max_kwh``, ``e_target_kwh``
        [kWh], ``eta_charge``, ``eta_discharge`` [-]."""
        ev = self._ch_ev
        on = ev >= 0
        idx = np.where(on, ev, 0)

        def pick(values: np.ndarray, empty: float = np.nan) -> np.ndarray:
            if not values.size:
                return np.full(ev.shape, empty)
            return np.where(on, values[idx], empty)

        return {
            "departure_s": pick(self._dep), "e_kwh": pick(self._e),
            "e_min_kwh": pick(self._e_min), "e_max_kwh": pick(self._e_max),
            "e_target_kwh": pick(self._e_target), "eta_charge": pick(self._eta_c, 1.0),
            "eta_discharge": pick(self._eta_d, 1.0),
        }

    def ev_soc_percent(self) -> np.ndarray:
        """State of charge per EV. [%]"""
        return self._e / self._cap * 100.0

    def ev_e_kwh(self) -> np.ndarray:
        """Stored energy per EV. [kWh]"""
        return self._e.copy()

    def ev_e_owed_kwh(self) -> np.ndarray:
        """Per EV on site (waiting or plugged): the energy its stay still needs to reach
        its target, >= 0; 0 for an EV away. [kWh]"""
        on_site = np.array([s != "away" for s in self._state], dtype=bool)
        return np.where(on_site, np.maximum(self._e_target - self._e, 0.0), 0.0)

    def ev_state(self) -> list[str]:
        """Per EV: ``"away"``, ``"waiting"`` or ``"plugged"``."""
        return list(self._state)

    def ev_charger(self) -> np.ndarray:
        """Per EV: index of the charger it is plugged into, or -1."""
        return self._ev_ch.copy()

    def ev_departure_s(self) -> np.ndarray:
        """Per EV: next departure if on site, else NaN. [s]"""
        return self._dep.copy()

    def sessions(self) -> list[dict]:
        """Completed and ongoing stays, in arrival order.

        Keys: ev, charger (-1 if never plugged), arrival_s, plug_in_s (NaN if
        never), departure_s (scheduled while ongoing), e_arrival_kwh,
        e_departure_kwh, e_delivered_kwh (AC, signed), e_charged_kwh and
        e_discharged_kwh (AC, both >= 0), e_target_kwh, e_unmet_kwh,
        waited_s, e_trip_kwh, e_trip_shortfall_kwh, completed. Ongoing stays
        have NaN e_departure_kwh and e_unmet_kwh, and waited_s up to now while
        still waiting. [s], [kWh]
        """
        out = copy.deepcopy(self._sessions)
        for i, k in enumerate(self._session):
            if k >= 0:
                self._fill_energies(i, out[k])
                if self._state[i] == "waiting":
                    out[k]["waited_s"] = self._env.now - out[k]["arrival_s"]
        return out

    def pop_events(self) -> list[dict]:
        """Arrival, plug-in and departure events since the last call, in time order.

        A departure event carries the completed session under ``"session"``."""
        events, self._events = self._events, []
        return events

    def next_event_s(self) -> float:
        """Time of the next change: a scheduled arrival, plug-in or departure, or the
        instant a charging EV reaches soc_max (or a discharging one soc_min),
        where its power drops to 0; ``inf`` if none. [s]"""
        t = float(self._env.peek())
        idx = np.flatnonzero(self._p_eff != 0.0)
        if idx.size:
            t = min(t, self._t_last + float(self._hit_time(idx)[2].min()))
        return t
