"""Fixtures shared by the HIL tests."""

import pytest

from hil.mqtt.testing import broker_missing_reason


@pytest.fixture(scope="session")
def broker():
    """The Mosquitto broker on 127.0.0.1:1883 (CI starts one where none runs)."""
    reason = broker_missing_reason("127.0.0.1", 1883)
    if reason:
        pytest.fail(reason)
