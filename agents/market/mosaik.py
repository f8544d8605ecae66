"""mosaik adapter of the market operator. No clearing logic here.

One ``Operator`` entity (input: the agents' ``orders`` of this tick; output: the
``trades`` of this tick). It steps once per tick: at the first tick of slot ``k``
the book of slot ``k`` closes (what is left lapses) and the book of slot ``k + 1``
opens. Trades and the grid fees each market booked are written as Parquet parts
under ``market/`` in the run folder as the run goes.

:class:`MarketOperator` is that bookkeeping without mosaik, so that an adapter that
hosts the agents too (``agents.community.mosaik.CommunityMarketSim``) runs the same
operator tick by tick inside one mosaik step.
"""

from __future__ import annotations

import pandas as pd
from mosaik_api_v3.types import Meta

from agents.market.clock import MarketClock
from agents.market.engine import SlotBook
from simulators.base import ArraySimulator, meta
from twin.inputs import prices_ct_per_kwh
from twin.results import MARKET_TABLES, PartWriter
from twin.rng import stream
from twin.scenario.participants import market_tree, resolve_participants

META: Meta = meta("Operator", ["orders", "trades"])
FLUSH_EVERY_SLOTS = 96  # a day of trades per part


class MarketOperator:
    """The market operator of a scenario: its slot book, the tariff it opens each slot
    at, and the trade and fee records it writes under ``run_dir/market``.

    Parameters
    ----------
    scenario : Scenario
        A scenario with a ``market``.
    run_dir : str
        The run folder (the parts go to ``<run_dir>/market/{trades,fees}``).
    """

    def __init__(self, scenario, run_dir: str):
        sc, mk = scenario, scenario.market
        self.clock = MarketClock(mk.slot_s, mk.ticks_per_slot)
        self.tree = market_tree(sc, resolve_participants(sc))
        self.book = SlotBook(self.tree, mk.rule, stream(sc.seed, "market"),
                             mk.forward_after_ticks, mk.market_maker)
        self.tariff, self.feed_in = prices_ct_per_kwh(sc)
        self.start = pd.Timestamp(sc.start)
        self.start_ns = self.start.as_unit("ns").value  # [ns since the epoch, UTC]
        folder = run_dir + "/market"
        self.writers = {name: PartWriter(f"{folder}/{name}") for name in ("trades", "fees")}
        self.pending: list[tuple[int, list]] = []  # (slot start [ns], a tick's trades)
        self.slots_buffered = self.n_trades = 0

    def tick_at(self, time: int, orders: list) -> list:
        """One tick at mosaik time ``time`` [s] with the agents' live ``orders``
        (``OrderIn``): the trades (``SettledTrade``), recorded."""
        slot, tick = self.clock.at(time)
        if tick == 0:
            self.book.close()
            self.slots_buffered += 1
            if self.slots_buffered >= FLUSH_EVERY_SLOTS:
                self.flush()
            if slot < len(self.tariff):
                self.book.open(slot, float(self.tariff[slot]), self.feed_in)
        if slot >= len(self.tariff):
            return []
        self.book.sync(orders)
        trades = self.book.tick(tick)
        self._record(trades)
        return trades

    def _record(self, trades) -> None:
        """Keep the tick's trades with their slot's start; their rows are made at flush."""
        if not trades:
            return
        start = self.start_ns + self.clock.slot_start_s(self.book.slot) * 1_000_000_000
        self.pending.append((start, trades))
        self.n_trades += len(trades)

    def _rows(self) -> dict[str, list[tuple]]:
        """The kept trades as the rows of each table (trade ids counted on from the
        first kept trade, slot starts as ns since the epoch); nothing is kept after."""
        first = self.n_trades - sum(len(trades) for _, trades in self.pending) + 1
        kept = [(s, t) for s, trades in self.pending for t in trades]
        self.pending = []
        return {
            "trades": [(n, s, t.tick, t.market, t.bid_id, t.offer_id, t.buyer, t.seller,
                        t.buyer_device, t.seller_device, t.energy_kwh, t.rate_ct_per_kwh,
                        t.buyer_rate_ct_per_kwh, t.seller_rate_ct_per_kwh)
                       for n, (s, t) in enumerate(kept, first)],
            "fees": [(n, s, market, t.energy_kwh, fee * t.energy_kwh)
                     for n, (s, t) in enumerate(kept, first)
                     for market, fee in t.fees_ct_per_kwh.items()]}

    def flush(self) -> None:
        """Write the kept trades as a part of each table (slot starts, kept as ns since
        the epoch, become the scenario's time zone: no per-row Timestamp objects)."""
        self.slots_buffered = 0
        for name, rows in self._rows().items():
            if rows:
                frame = pd.DataFrame(rows, columns=MARKET_TABLES[name])
                frame["slot_start"] = pd.to_datetime(
                    frame["slot_start"].to_numpy("int64"), utc=True).tz_convert(self.start.tz)
                self.writers[name].write(frame)


class MarketSim(ArraySimulator):
    def __init__(self):
        super().__init__(META)
        self.trades: list = []

    def setup(self):
        self.operator = MarketOperator(self.scenario, self.params["run_dir"])
        self.step_s = self.operator.clock.tick_s

    def advance(self, time, inputs):
        orders = [o for v in inputs.get("operator", {}).get("orders", {}).values()
                  for o in (v or [])]
        self.trades = self.operator.tick_at(time, orders)

    def outputs(self, model, attr):
        return [self.trades if attr == "trades" else []]

    def finalize(self):
        if self._ready:
            self.operator.flush()
