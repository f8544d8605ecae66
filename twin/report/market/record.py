"""A market run's record: its trades and fees, the devices' delivered energy, and the
utility's settlement of every deviation from the trades.

Sign convention: positive = consumption / charging / import. Energies in kWh per slot,
rates in ct/kWh.

Trader (device) ids: a participant's loads trade together as ``<participant>/load``
and its PV systems as ``<participant>/pv``; each battery and EV charger under its own
asset id. The utility settles each participant's slot at the end: what it consumed
beyond its trades' net purchase is sold to it at the tariff, what it produced beyond
its net sale is bought at the feed-in price (rows with market ``imbalance``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from twin.inputs import prices_ct_per_kwh
from twin.report.market.kpis import MarketRecord
from twin.results import read_market_table
from twin.scenario.participants import market_tree, resolve_participants
from twin.scenario.schema import Scenario

UTILITY = "utility"
EPS_KWH = 1e-6
KIND = {"load": "load", "pv": "pv", "battery": "battery", "ev_charger": "ev"}


def _devices(participants) -> list[tuple[str, str, str, list[str]]]:
    """(trader id, participant, kind, asset ids) for every trading device."""
    out = []
    for p in participants:
        for kind in ("load", "pv"):
            if p.ids(kind):
                out.append((f"{p.id}/{kind}", p.id, kind, p.ids(kind)))
        for kind in ("battery", "ev_charger"):
            out += [(aid, p.id, KIND[kind], [aid]) for aid in p.ids(kind)]
    return out


def device_energy(scenario: Scenario, ts: pd.DataFrame, devices) -> pd.DataFrame:
    """Energy each trading device delivered per slot (from the recorded ``p_kw``)."""
    dt_h = scenario.step_s / 3600.0
    frames = []
    for device, _, _, assets in devices:
        cols = [f"{a}.p_kw" for a in assets if f"{a}.p_kw" in ts]
        e = ts[cols].astype(float).fillna(0.0).sum(axis=1) * dt_h
        frames.append(pd.DataFrame({"slot_start": ts.index, "device": device,
                                    "energy_kwh": e.to_numpy()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["slot_start", "device", "energy_kwh"])


def imbalance_trades(trades: pd.DataFrame, energy: pd.DataFrame, owner: dict[str, str],
                     prices: pd.DataFrame) -> pd.DataFrame:
    """The utility's settlement of each participant's deviation from its trades."""
    e = energy.assign(participant=energy["device"].map(owner))
    actual = e.groupby(["slot_start", "participant"])["energy_kwh"].sum()
    bought = trades.groupby(["slot_start", "buyer"])["energy_kwh"].sum()
    sold = trades.groupby(["slot_start", "seller"])["energy_kwh"].sum()
    bought.index.names = sold.index.names = actual.index.names
    net = actual.sub(bought.reindex(actual.index, fill_value=0.0), fill_value=0.0) \
        .add(sold.reindex(actual.index, fill_value=0.0), fill_value=0.0)
    net = net[net.abs() > EPS_KWH].reset_index(name="dev_kwh")
    p = prices.set_index("slot_start")
    tariff = p["tariff_ct_per_kwh"].reindex(net["slot_start"]).to_numpy()
    feed_in = p["feed_in_ct_per_kwh"].reindex(net["slot_start"]).to_numpy()
    short = net["dev_kwh"].to_numpy() > 0
    rate = np.where(short, tariff, feed_in)
    first = int(trades["trade_id"].max()) + 1 if len(trades) else 1
    return pd.DataFrame({
        "trade_id": np.arange(first, first + len(net)),
        "slot_start": net["slot_start"], "tick": -1, "market": "imbalance",
        "bid_id": "", "offer_id": "",
        "buyer": np.where(short, net["participant"], UTILITY),
        "seller": np.where(short, UTILITY, net["participant"]),
        "buyer_device": "", "seller_device": "", "energy_kwh": net["dev_kwh"].abs(),
        "rate_ct_per_kwh": rate, "buyer_rate_ct_per_kwh": rate, "seller_rate_ct_per_kwh": rate,
    })


def stored_changes(participants, ts: pd.DataFrame) -> pd.DataFrame:
    """Each battery's energy at the end less at the start (the scenario's initial SoC),
    by participant. [kWh]"""
    rows = [(p.id, a.id, float(ts[f"{a.id}.e_kwh"].iloc[-1])
             - a.spec.capacity_kwh * a.spec.soc_initial_percent / 100.0)
            for p in participants for a in p.assets.get("battery", [])
            if f"{a.id}.e_kwh" in ts and len(ts)]
    return pd.DataFrame(rows, columns=["participant", "device", "stored_change_kwh"])


def site_meter(scenario: Scenario, ts: pd.DataFrame) -> pd.DataFrame:
    """The transformer meter's import and the feeder's losses per slot. [kWh]"""
    dt_h = scenario.step_s / 3600.0
    return pd.DataFrame({"slot_start": ts.index,
                         "import_kwh": ts["grid.p_import_kw"].astype(float).to_numpy() * dt_h,
                         "loss_kwh": ts["grid.p_loss_kw"].astype(float).to_numpy() * dt_h})


def market_record(scenario: Scenario, run_dir: Path, ts: pd.DataFrame) -> MarketRecord:
    participants = resolve_participants(scenario)
    tree = market_tree(scenario, participants)
    devices = _devices(participants)
    tariff, feed_in = prices_ct_per_kwh(scenario)
    prices = pd.DataFrame({"slot_start": ts.index, "tariff_ct_per_kwh": tariff[:len(ts)],
                           "feed_in_ct_per_kwh": feed_in})
    energy = device_energy(scenario, ts, devices)
    trades, fees = (read_market_table(run_dir, name) for name in ("trades", "fees"))
    for frame in (trades, fees):  # recorded in the scenario's offset; match the series
        frame["slot_start"] = pd.to_datetime(frame["slot_start"]).dt.tz_convert(ts.index.tz)
    owner = {d: p for d, p, _, _ in devices}
    settle = imbalance_trades(trades, energy, owner, prices)
    return MarketRecord(
        areas=pd.DataFrame({"area": list(tree.parent), "parent": list(tree.parent.values()),
                            "level": [tree.level[a] for a in tree.parent]}),
        devices=pd.DataFrame([(d, p, k, p) for d, p, k, _ in devices],
                             columns=["device", "participant", "kind", "area"]),
        participants=pd.DataFrame([(p.id, p.type, p.id) for p in participants],
                                  columns=["participant", "type", "area"]),
        trades=pd.concat([trades, settle], ignore_index=True) if len(settle) else trades,
        fees=fees, energy=energy, prices=prices,
        stored=stored_changes(participants, ts), site=site_meter(scenario, ts),
    )
