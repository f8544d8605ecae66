"""Fixtures shared by the market report tests."""

import pytest

from tests.twin.report.market.market_fixtures import community


@pytest.fixture(scope="module")
def record():
    """The hand-worked market community of market_fixtures, built once per test module
    (test_market_bills.py overrides it with the community and its site meter)."""
    return community()
