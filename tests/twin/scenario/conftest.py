"""Shared builders of the scenario tests: the baseline's raw YAML mapping."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests import REPO

BASELINE = REPO / "scenarios" / "martinique_baseline.yaml"
_RAW = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))


@pytest.fixture
def raw() -> dict:
    """A fresh copy of the baseline's raw YAML mapping."""
    return copy.deepcopy(_RAW)
