"""Breach prices of FlexMeasures' soft constraints, from the flex-context's relax flags.

``relax-constraints`` (default true) makes the SoC constraints soft at 1000 EUR/kWh and the
site capacities soft at 10000 EUR/kW unless ``relax-soc-constraints`` /
``relax-site-capacity-constraints`` say otherwise; ``relax-capacity-constraints`` makes the
device capacities soft at 100 EUR/kW. An explicit breach price always applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.scheduling.flex_model import FlexContext, VarQ

SOC_BREACH_DEFAULT_EUR_PER_KWH = 1000.0
SITE_BREACH_DEFAULT_EUR_PER_KW = 10000.0
DEVICE_BREACH_DEFAULT_EUR_PER_KW = 100.0


@dataclass(frozen=True)
class BreachPrices:
    """The breach prices in force once ``relax-*`` defaults are applied (None: hard).

    ``soc_min`` / ``soc_max`` [EUR/kWh], ``device_consumption`` / ``device_production`` and
    ``site_consumption`` / ``site_production`` [EUR/kW]; each a VarQ (one value or a series).
    """

    soc_min: VarQ | None
    soc_max: VarQ | None
    device_consumption: VarQ | None
    device_production: VarQ | None
    site_consumption: VarQ | None
    site_production: VarQ | None

    @classmethod
    def from_context(cls, ctx: FlexContext) -> BreachPrices:
        return cls(*_soc_breach_prices(ctx), *_device_breach_prices(ctx),
                   *_site_breach_prices(ctx))


def _soc_breach_prices(ctx: FlexContext) -> tuple:
    relax = ctx.relax_constraints if ctx.relax_soc_constraints is None \
        else ctx.relax_soc_constraints
    soc_min_bp, soc_max_bp = ctx.soc_minima_breach_price, ctx.soc_maxima_breach_price
    if relax:
        soc_min_bp = SOC_BREACH_DEFAULT_EUR_PER_KWH if soc_min_bp is None else soc_min_bp
        soc_max_bp = SOC_BREACH_DEFAULT_EUR_PER_KWH if soc_max_bp is None else soc_max_bp
    return soc_min_bp, soc_max_bp


def _device_breach_prices(ctx: FlexContext) -> tuple:
    cons_bp, prod_bp = ctx.consumption_breach_price, ctx.production_breach_price
    if ctx.relax_capacity_constraints and cons_bp is None and prod_bp is None:
        cons_bp = prod_bp = DEVICE_BREACH_DEFAULT_EUR_PER_KW
    return cons_bp, prod_bp


def _site_breach_prices(ctx: FlexContext) -> tuple:
    relax = ctx.relax_constraints if ctx.relax_site_capacity_constraints is None \
        else ctx.relax_site_capacity_constraints
    cons_bp, prod_bp = ctx.site_consumption_breach_price, ctx.site_production_breach_price
    if relax:
        cons_bp = SITE_BREACH_DEFAULT_EUR_PER_KW if cons_bp is None else cons_bp
        prod_bp = SITE_BREACH_DEFAULT_EUR_PER_KW if prod_bp is None else prod_bp
    return cons_bp, prod_bp
