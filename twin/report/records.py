"""A run's KPIs and its sections' records, from what the run recorded.

What the runner does after the co-simulation and ``python run.py report`` does for an
existing run folder; here in the report layer, so that rebuilding a report imports
neither the mosaik world nor the simulators' adapters.
Sign convention: positive = consumption / charging / import.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from twin.report.kpis import compute_kpis
from twin.report.sections import sections_for
from twin.scenario.schema import Scenario


def run_records(scenario: Scenario, run_dir: Path, ts: pd.DataFrame, events: pd.DataFrame
                ) -> tuple[dict, dict[str, object]]:
    """A run's KPIs from what it recorded, and the record of each of its sections
    (:func:`twin.report.sections.sections_for`) by the section's name: a market run's
    market record (its results written under ``gsy/`` and ``market/``), a HIL run's
    validation record (``hil/validation.json``). No records for a run without steps."""
    if not len(ts):
        return {}, {}
    kpis = compute_kpis(scenario, ts, events)
    records: dict[str, object] = {}
    for section in sections_for(scenario):
        records[section.name], summary = section.finish(scenario, run_dir, ts)
        kpis.update(summary)
    return kpis, records


def run_kpis(scenario: Scenario, run_dir: Path, ts: pd.DataFrame, events: pd.DataFrame
             ) -> tuple[dict, object, object]:
    """:func:`run_records` as (KPIs, market record, HIL validation record), None where the
    run has none: the shape ``run.py report`` (``twin.cli.run``) unpacks."""
    kpis, records = run_records(scenario, run_dir, ts, events)
    return kpis, records.get("market"), records.get("hil")
