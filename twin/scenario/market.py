"""Scenario schema of the local energy market (``market:`` in a scenario).

Rates in ct/kWh. With a ``market`` section, prosumer agents (Mesa) own the site's
devices, trade each delivery slot on a market tree taken from the feeder (house ->
LV feeder -> MV) and turn their trades into battery and EV set-points.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from agents.market.engine import RULES
from agents.market.pricing import STRATEGIES
from twin.scenario.base import Strict
from twin.timeparse import parse_duration_s

PARTICIPANT_TYPES = ("single_family", "multi_family", "commercial", "producer", "storage")
Rule = Literal[RULES]  # type: ignore[valid-type]
StrategyName = Literal[STRATEGIES]  # type: ignore[valid-type]
ParticipantType = Literal[PARTICIPANT_TYPES]  # type: ignore[valid-type]


def _iso_duration(cls, v: str) -> str:
    """An ISO 8601 duration (the error names what is allowed)."""
    parse_duration_s(v)
    return v


class Fee(Strict):
    constant_ct_per_kwh: float = Field(0.0, ge=0, le=100, description="Per kWh traded [ct/kWh]")
    percent: float = Field(0.0, ge=0, lt=100, description="Of the trade's rate (gsy-e "
                           "Protocol B) [%]")


class GridFees(Strict):
    """Grid fee of each market level, booked by the market that charges it."""

    house: Fee = Field(default_factory=Fee)
    lv_feeder: Fee = Field(default_factory=lambda: Fee(constant_ct_per_kwh=0.5))
    mv: Fee = Field(default_factory=lambda: Fee(constant_ct_per_kwh=1.0))


class StrategyShare(Strict):
    strategy: StrategyName = Field("gsy_ramp", description="gsy_ramp | linear | "
                                   "zero_intelligence | retailer")
    share: float = Field(1.0, gt=0, le=1, description="Share of the participants using it")
    update_interval: str = Field("PT5M", description="gsy_ramp: rate update interval, "
                                 "ISO 8601")
    fit_to_limit: bool = Field(True, description="gsy_ramp: equal steps reaching the limit")
    change_per_update_ct_per_kwh: float | None = Field(
        None, ge=0, description="gsy_ramp without fit_to_limit: step per update [ct/kWh]")

    _iso = field_validator("update_interval")(_iso_duration)

    @model_validator(mode="after")
    def _step(self) -> StrategyShare:
        if not self.fit_to_limit and self.change_per_update_ct_per_kwh is None:
            raise ValueError("change_per_update_ct_per_kwh: needed when fit_to_limit is false")
        return self

    @property
    def update_interval_s(self) -> int:
        return parse_duration_s(self.update_interval)


class ParticipantSpec(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Participant id")
    type: ParticipantType = Field(description="single_family | multi_family | commercial | "
                                  "producer | storage")
    assets: list[str] = Field(min_length=1, description="Ids of the assets behind its meter "
                              "(pv, battery, ev_charger, load), all on one bus")
    strategy: StrategyName | None = Field(None, description="One of market.strategies "
                                          "(default: drawn from the mix)")


class Market(Strict):
    """Peer-to-peer market of prosumer agents under a gsy-e clearing rule."""

    rule: Rule = Field("pay_as_clear", description="pay_as_offer | pay_as_bid | "
                       "pay_as_clear | pda_uniform")
    slot: str = Field("PT15M", description="Delivery slot, ISO 8601; equal to the scenario "
                      "step. Each slot is traded during the slot before it")
    ticks_per_slot: int = Field(10, ge=10, le=900, description="Matching rounds per slot")
    forward_after_ticks: int = Field(2, ge=1, description="Ticks an unmatched order waits "
                                     "in a market before it moves to the parent market")
    market_maker: bool = Field(True, description="A market maker in the MV market sells at "
                               "the tariff and buys at the feed-in price")
    flex: Literal["market", "scheduler"] = Field(
        "market", description="market: batteries and EVs trade for themselves (bids to "
        "charge, offers to discharge); scheduler: the built-in FlexMeasures storage "
        "scheduler plans each participant's batteries and EVs (tariff, its own households "
        "and PV; hourly, 24 h ahead) and they trade and follow that plan")
    grid_fees: GridFees = Field(default_factory=GridFees)
    strategies: list[StrategyShare] = Field(
        default_factory=lambda: [StrategyShare()], min_length=1,
        description="Strategy mix: shares are normalised over the list")
    participants: Literal["auto"] | list[ParticipantSpec] = Field(
        "auto", description="auto: one household per load, each bus's PV, batteries and "
        "chargers shared round-robin among its households (buses without a load: one "
        "participant per bus); or an explicit list")

    _iso = field_validator("slot")(_iso_duration)

    @model_validator(mode="after")
    def _ticks(self) -> Market:
        slot_s = parse_duration_s(self.slot)
        if slot_s % self.ticks_per_slot:
            raise ValueError(f"ticks_per_slot: {self.ticks_per_slot} does not divide the slot "
                             f"({slot_s} s) into whole seconds")
        names = [s.strategy for s in self.strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategies: each strategy once, got {names}")
        if not isinstance(self.participants, str):
            for i, p in enumerate(self.participants):
                if p.strategy is not None and p.strategy not in names:
                    raise ValueError(f"participants[{i}].strategy: {p.strategy!r} is not in "
                                     f"market.strategies ({', '.join(names)})")
        return self

    @property
    def slot_s(self) -> int:
        return parse_duration_s(self.slot)

    @property
    def tick_s(self) -> int:
        return self.slot_s // self.ticks_per_slot
