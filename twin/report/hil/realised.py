"""What a HIL run's devices did, in the shape of the simulators' series, for the run's
KPIs and site plots.

In a HIL run the power flow runs on each device's measured power
(``<id>.p_meas_kw``), while ``<id>.p_kw`` and the other simulator columns of a HIL
asset hold the twin's prediction for the same setpoints, which ``hil/validation.json``
compares against. KPIs are about what happened, so :func:`realised` returns a copy of
the series and events with the measurements in the simulators' places (the run's files
are not changed):

- every HIL asset: ``p_kw`` is the measured power;
- a battery: ``soc_percent`` and ``e_kwh`` as the device reports them, carried forward
  over steps without a reading, and ``e_start_kwh``, its first reading (a real device
  need not start where the scenario says). ``e_loss_kwh`` is what went in at its
  terminals less what it stored: ``p_kw[k] * step - (e_kwh[k] - e_kwh[k-1])``, as a
  reading at step k reports the step that ended then;
- a station: ``plugged`` while it reports its EV's state of charge (it reports one only
  then), ``ev_e_kwh`` from that SoC and the capacity of the EV paired with it
  (:func:`hil.views.paired_ev_asset`, as the station emulator pairs them); that EV's
  ``soc_percent`` is the station's reported SoC (before the first report, the
  scenario's initial SoC; after departure, the last one) and ``on_site`` its
  ``plugged``, in place of the simulator's EV that never charged. Its sessions
  become ``plug_in`` and ``departure`` events (source ``hil``): energy delivered from
  its meter, energy unmet against the paired EV's target. The simulated EVs' events at
  that charger are dropped.

Sign convention: positive = consumption / charging / import.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hil.views import paired_ev_asset
from twin.recorder import events_frame
from twin.scenario.assets import hil_assets, resolve_assets
from twin.scenario.schema import Scenario


def _carried(ts: pd.DataFrame, col: str) -> pd.Series:
    return ts[col].astype(float).ffill()


def _sessions(soc: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) step of each run of steps with a reported SoC."""
    plugged = np.isfinite(soc).astype(int)
    edges = np.diff(np.concatenate([[0], plugged, [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def station_events(charger_id: str, ev_id: str, ev, ts: pd.DataFrame, step_s: float
                   ) -> list[dict]:
    """The plug-in and departure events of a station's measured sessions; a session
    still on at the end of the run has no departure (as in the simulation)."""
    soc = ts[f"{charger_id}.soc_meas_percent"].astype(float).to_numpy()
    meter = ts.get(f"{charger_id}.e_meas_kwh")
    meter = meter.astype(float).to_numpy() if meter is not None else np.full(len(soc), np.nan)
    p = ts[f"{charger_id}.p_meas_kw"].astype(float).to_numpy()
    out = []
    for first, last in _sessions(soc):
        out.append({"t_s": first * step_s, "ev": ev_id, "kind": "plug_in",
                    "charger": charger_id, "source": "hil"})
        if last + 1 >= len(soc):
            continue
        run = slice(first, last + 1)
        delivered = np.nanmax(meter[run]) if np.isfinite(meter[run]).any() \
            else float(np.nansum(np.clip(p[run], 0.0, None)) * step_s / 3600.0)
        e_arrival = soc[first] / 100.0 * ev.capacity_kwh
        e_departure = soc[last] / 100.0 * ev.capacity_kwh
        e_target = ev.soc_target_percent / 100.0 * ev.capacity_kwh
        out.append({"t_s": (last + 1) * step_s, "ev": ev_id, "kind": "departure",
                    "charger": charger_id, "source": "hil", "session": {
                        "arrival_s": first * step_s, "plug_in_s": first * step_s,
                        "departure_s": (last + 1) * step_s, "e_arrival_kwh": e_arrival,
                        "e_departure_kwh": e_departure, "e_delivered_kwh": float(delivered),
                        "e_charged_kwh": float(delivered), "e_discharged_kwh": 0.0,
                        "e_target_kwh": e_target,
                        "e_unmet_kwh": max(0.0, e_target - e_departure), "waited_s": 0.0,
                        "completed": True}})
    return out


def measured_battery(ts: pd.DataFrame, battery_id: str, step_s: float) -> None:
    """A battery's state and losses from its readings, in place (see the module)."""
    i = battery_id
    ts[f"{i}.soc_percent"] = _carried(ts, f"{i}.soc_meas_percent")
    e = _carried(ts, f"{i}.e_meas_kwh")
    ts[f"{i}.e_kwh"] = e
    ts[f"{i}.e_start_kwh"] = e.bfill().iloc[0] if len(e) else np.nan
    ts[f"{i}.e_loss_kwh"] = (ts[f"{i}.p_kw"] * step_s / 3600.0 - e.diff()).fillna(0.0)


def measured_station(ts: pd.DataFrame, assets, charger_id: str, step_s: float) -> list[dict]:
    """A station's plugged state and its paired EV from its reported SoC, in place (see
    the module); returns the events of its measured sessions (none without a paired EV)."""
    i = charger_id
    ev = paired_ev_asset(assets, i)
    soc = ts[f"{i}.soc_meas_percent"].astype(float)
    ts[f"{i}.plugged"] = soc.notna().astype(float)
    if ev is None:
        return []
    ts[f"{i}.ev_e_kwh"] = soc / 100.0 * ev.spec.capacity_kwh
    if f"{ev.id}.soc_percent" in ts.columns:  # the EV is where its station says
        ts[f"{ev.id}.soc_percent"] = soc.ffill().fillna(ev.spec.soc_initial_percent)
    if f"{ev.id}.on_site" in ts.columns:
        ts[f"{ev.id}.on_site"] = ts[f"{i}.plugged"]
    return station_events(i, ev.id, ev.spec, ts, step_s)


def station_events_in(events: pd.DataFrame, stations: set[str], new_events: list[dict],
                      start: pd.Timestamp) -> pd.DataFrame:
    """The run's events with the simulated EVs' events at the HIL ``stations`` replaced
    by the stations' measured sessions (``new_events``), in time order."""
    if not events.empty and "charger" in events:
        events = events[~events["charger"].isin(stations)]
    if new_events:
        hil = events_frame(new_events, start)
        events = pd.concat([events, hil], ignore_index=True) if not events.empty else hil
        events = events.sort_values("t_s", kind="stable", ignore_index=True)
    return events


def realised(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The series and events of a run with its HIL devices' measurements in the
    simulators' columns (see the module); a run without HIL assets comes back as is."""
    assets = resolve_assets(scenario)
    devices = [a for a in hil_assets(assets) if f"{a.id}.p_meas_kw" in ts.columns]
    if not devices:
        return ts, events
    ts = ts.copy()
    new_events, stations = [], set()
    for a in devices:
        ts[f"{a.id}.p_kw"] = ts[f"{a.id}.p_meas_kw"].astype(float)
        if a.kind == "battery":
            measured_battery(ts, a.id, scenario.step_s)
        elif a.kind == "ev_charger":
            stations.add(a.id)
            new_events += measured_station(ts, assets, a.id, scenario.step_s)
    if stations:
        events = station_events_in(events, stations, new_events, pd.Timestamp(ts.index[0]))
    return ts, events
