"""The scenario's list of pandapower line types is pandapower's own."""

from pandapower.std_types import basic_line_std_types

from twin.scenario.line_types import LINE_STD_TYPES


def test_line_types_are_pandapowers_basic_line_types():
    assert sorted(LINE_STD_TYPES) == sorted(basic_line_std_types())
