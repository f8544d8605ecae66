"""Results store: one folder per run, time series as Parquet parts written while it runs.

Layout of ``results/<scenario>/<timestamp>/``::

    scenario.yaml        the resolved scenario (every default filled in)
    inputs.parquet       weather and import price of every step
    provenance.json      package versions, git commit, seed, wall time, status
    timeseries/part-*.parquet   one row per step, one column per entity attribute
    events/part-*.parquet       EV arrivals, plug-ins and departures (with sessions)
    market/trades/part-*.parquet, market/fees/part-*.parquet   a market run's trades and
                         the grid fees each market booked (columns :data:`MARKET_TABLES`)
    kpis.json, report.html, plots/*.png

Each part is a complete Parquet file written under a temporary name and renamed, so a
killed run leaves every finished part readable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from twin.scenario.schema import Scenario

# a market run's tables: one row per trade (energy [kWh], rates [ct/kWh]; the buyer pays
# ``buyer_rate``, the seller earns ``seller_rate``) and one per grid fee booked on a trade
# in a market (``fee_ct`` [ct] on ``energy_kwh`` [kWh])
TRADE_COLUMNS = [
    "trade_id", "slot_start", "tick", "market", "bid_id", "offer_id", "buyer", "seller",
    "buyer_device", "seller_device", "energy_kwh", "rate_ct_per_kwh", "buyer_rate_ct_per_kwh",
    "seller_rate_ct_per_kwh",
]
FEE_COLUMNS = ["trade_id", "slot_start", "market", "energy_kwh", "fee_ct"]
MARKET_TABLES = {"trades": TRADE_COLUMNS, "fees": FEE_COLUMNS}  # under market/<name>/


def new_run_dir(scenario: Scenario, root: Path | None = None) -> Path:
    """Create ``<root>/<scenario>/<UTC timestamp>/`` (unique even within one second)."""
    base = Path(root or scenario.outputs.dir) / scenario.name
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1000):
        path = base / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder under {base}")


def write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def write_scenario(run_dir: Path, scenario: Scenario) -> None:
    data = scenario.model_dump(mode="json")
    (run_dir / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


class PartWriter:
    """Writes a table as numbered, self-contained Parquet parts in a folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        path = self.folder / f"part-{self.n:05d}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        os.replace(tmp, path)
        self.n += 1


def read_parts(folder: Path) -> pd.DataFrame:
    """All finished parts of a table, in order (an empty frame if there are none)."""
    parts = sorted(Path(folder).glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    try:  # one Arrow table, converted once: a year's series in a third of the memory
        table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column changed type between parts
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return table.to_pandas(self_destruct=True)


def read_timeseries(run_dir: Path) -> pd.DataFrame:
    """Time series of a run indexed by local step start."""
    frame = read_parts(Path(run_dir) / "timeseries")
    if frame.empty:
        return frame
    frame.index = pd.Index(frame.pop("time"), name="time")  # no copy of the frame
    return frame


def write_inputs(run_dir: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(Path(run_dir) / "inputs.parquet")


def read_inputs(run_dir: Path) -> pd.DataFrame:
    path = Path(run_dir) / "inputs.parquet"
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def read_events(run_dir: Path) -> pd.DataFrame:
    return read_parts(Path(run_dir) / "events")


def read_market_table(run_dir: Path, name: str) -> pd.DataFrame:
    """A market run's table ``name`` (``"trades"`` or ``"fees"``, :data:`MARKET_TABLES`)
    from ``market/<name>/``; with its columns and no rows when none was written."""
    frame = read_parts(Path(run_dir) / "market" / name)
    return frame if not frame.empty else pd.DataFrame(columns=MARKET_TABLES[name])
