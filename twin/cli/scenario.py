"""``python run.py validate [SCENARIO]``: check a scenario and print its assets;
``schema``: write the scenario JSON Schema and its field reference."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from twin.cli.options import ROOT, scenario_args

SCHEMA_PATH = ROOT / "scenarios" / "scenario.schema.json"


def add_validate_parser(sub) -> argparse.ArgumentParser:
    """Add the ``validate`` command to the CLI's subparsers."""
    p = sub.add_parser("validate", help="check a scenario (default: the baseline)")
    scenario_args(p, optional=True)
    return p


def add_schema_parser(sub) -> argparse.ArgumentParser:
    """Add the ``schema`` command to the CLI's subparsers."""
    p = sub.add_parser("schema", help="write the scenario JSON Schema")
    p.add_argument("--out", type=Path, default=SCHEMA_PATH, help=f"default: {SCHEMA_PATH}")
    return p


def describe_market(scenario) -> str:
    """The market line of ``validate``: rule, participants by type, strategies."""
    from twin.scenario.participants import resolve_participants  # a market scenario only

    people = resolve_participants(scenario)
    types = Counter(p.type for p in people)
    mix = Counter(p.strategy for p in people)
    return (f"market: {scenario.market.rule}, {len(people)} participants ("
            + ", ".join(f"{n} {t}" for t, n in types.items()) + "); strategies "
            + ", ".join(f"{n} {s}" for s, n in mix.items()))


def describe_hil(scenario, assets: dict) -> list[str]:
    """One line per HIL asset and for the VEN, for ``validate``."""
    h = scenario.hil
    lines = [f"hardware in the loop at rt_factor {h.rt_factor:g}"
             + (", emulators started here" if h.emulators else "")]
    for kind in ("pv", "battery", "ev_charger", "load"):
        for a in assets[kind]:
            b = a.spec.backend
            if b.type == "modbus":
                lines.append(f"  {a.id}: SunSpec over Modbus TCP {b.host}:{b.port} unit {b.unit_id}")
            elif b.type == "ocpp":
                lines.append(f"  {a.id}: OCPP 2.0.1 station {b.station_id or a.id} -> CSMS "
                             f"{h.csms.host}:{h.csms.port}")
            elif b.type == "mqtt":
                lines.append(f"  {a.id}: MQTT cariflex/sensors/{b.asset_type or kind}/{a.id}/power"
                             f" on {h.mqtt.host}:{h.mqtt.port}")
    if h.openadr is not None:
        lines.append(f"  OpenADR VEN {h.openadr.ven_name} -> {h.openadr.vtn_url}")
    return lines


def cmd_validate(args) -> int:
    """Run ``validate``: load the scenario, print its assets (market, HIL); 0 when valid."""
    # the scenario schema (pydantic) and its inputs: only when a scenario is read
    from twin.scenario.assets import resolve_assets
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    assets = resolve_assets(scenario)
    print(f"{args.scenario}: valid — {scenario.name}, {scenario.n_steps} steps of "
          f"{scenario.step}, seed {scenario.seed}")
    for kind, items in assets.items():
        where = sorted({a.bus for a in items if a.bus})
        print(f"  {kind:<10} {len(items):>3}" + (f"  on {', '.join(where)}" if where else ""))
    if scenario.market is not None:
        print(f"  {describe_market(scenario)}")
    if scenario.is_hil:
        for line in describe_hil(scenario, assets):
            print(f"  {line}")
    return 0


def cmd_schema(args) -> int:
    """Run ``schema``: write the JSON Schema and ``REFERENCE.md`` beside it."""
    # pydantic and the scenario schema: only when the schema is written
    from twin.scenario.reference import reference_markdown
    from twin.scenario.schema import Scenario

    schema = Scenario.model_json_schema()
    args.out.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    reference = args.out.with_name("REFERENCE.md")
    reference.write_text(reference_markdown(), encoding="utf-8")
    print(f"wrote {args.out} and {reference}")
    return 0
