"""The parts of a run's results that only some runs have, behind one interface.

A market run has a market section (:class:`twin.report.market.section.MarketSection`:
its record, gsy-e exports, bills and report table), a HIL run a HIL section
(:class:`twin.report.hil.section.HilSection`: the devices' validation record, verdict
and plots). The runner, the KPIs and the report loop over :func:`sections_for` and
never ask which kind of run they have. Sign convention: positive = consumption /
charging / import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd
from matplotlib.figure import Figure

from twin.report.hil.section import HIL
from twin.report.market.section import MARKET
from twin.scenario.schema import Scenario


class Section(Protocol):
    """One part of a run's results: made after the co-simulation from what the run
    recorded, with its KPIs, figures and table in the report."""

    name: str  # the key of its record (``write_report(..., <name>=record)``)

    def applies(self, scenario: Scenario) -> bool:
        """True when runs of ``scenario`` have this section."""

    def realised(self, scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The series and events the site KPIs and plots count (copies where they differ
        from the recorded ones)."""

    def finish(self, scenario: Scenario, run_dir: Path, ts: pd.DataFrame
               ) -> tuple[object, dict]:
        """The section's record (its files written into ``run_dir``) and its KPIs."""

    def figures(self, scenario: Scenario, ts: pd.DataFrame, record) -> dict[str, Figure]:
        """The section's figures by name (``plots/<name>.png``)."""

    def table(self, scenario: Scenario, kpis: dict, record, fmt) -> str:
        """The section's HTML table; ``fmt`` writes a value for a cell."""

    def control(self, scenario: Scenario) -> str | None:
        """What steers the devices, for the report's header, or None: the scheduling
        strategy."""


SECTIONS: tuple[Section, ...] = (MARKET, HIL)


def sections_for(scenario: Scenario) -> list[Section]:
    """The sections of runs of ``scenario``, in report order."""
    return [s for s in SECTIONS if s.applies(scenario)]


def realised_series(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The series and events the site KPIs and plots count: what every section of the
    run makes of the recorded ones (e.g. a HIL run's measurements in place of the twin's
    prediction, :func:`twin.report.hil.realised.realised`)."""
    for section in sections_for(scenario):
        ts, events = section.realised(scenario, ts, events)
    return ts, events


def control_label(scenario: Scenario) -> str:
    """What steers the devices: a section's word for it, else the scheduling strategy."""
    labels = [c for c in (s.control(scenario) for s in sections_for(scenario)) if c]
    return labels[0] if labels else scenario.scheduling.strategy
