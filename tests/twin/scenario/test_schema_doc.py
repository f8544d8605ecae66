"""The generated scenario field reference."""


from tests import REPO
from twin.scenario.reference import reference_markdown


def test_reference_markdown_lists_both_asset_forms_with_units():
    text = reference_markdown()
    assert "| `assets.battery[].capacity_kwh` | number | `100.0` | > 0, <= 100000 | Usable energy capacity [kWh] |" in text
    assert "| `assets.battery.count` | integer | `10` |" in text
    assert "`assets.battery.items[].capacity_kwh`" in text
    assert "| `start` | date-time | **required** |" in text
    assert "`weather.path`" in text and "`weather.mean_kc`" in text


def test_reference_markdown_matches_committed_file():
    committed = REPO / "scenarios" / "REFERENCE.md"
    assert committed.read_text(encoding="utf-8") == reference_markdown()
