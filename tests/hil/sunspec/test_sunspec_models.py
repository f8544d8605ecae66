"""SunSpec model data and the pure codec: lengths against the official model JSON, offsets,
scale factors, not-implemented values, the one sign conversion."""

import pytest

from hil.sunspec import models as sm
from hil.sunspec.codec import (
    decode_model,
    decode_raw,
    encode_points,
    encode_raw,
    int_to_regs,
    regs_to_int,
    scale,
    sunspec_w,
    twin_p_kw,
    unscale,
)
from hil.sunspec.image import RegisterImage


@pytest.mark.parametrize(("model_id", "length"), [
    (1, 66), (101, 50), (102, 50), (103, 50), (120, 26), (123, 24), (124, 24), (701, 153),
    (704, 65), (713, 7), (802, 62)])
def test_model_length_matches_official_json(model_id, length):
    assert sm.model(model_id).length == length


def test_model_offsets_of_known_points():
    # offsets from the ID register, as in the SunSpec tables (e.g. 103 W is register 40084
    # one-based on a device whose 103 starts at 40070 one-based: offset 14)
    assert sm.INVERTER_3PH.point("W").offset == 14
    assert sm.INVERTER_3PH.point("WH").size == 2
    assert sm.CONTROLS.point("WMaxLimPct").offset == 5
    assert sm.CONTROLS.point("WMaxLim_Ena").offset == 9
    assert sm.STORAGE.point("InWRte").offset == 13
    assert sm.DER_CTL_AC.point("WSet").offset == 24
    assert sm.DER_CTL_AC.point("PFWAbsRvrt.Ext").offset == 66  # last register of L = 65
    assert sm.DER_MEASURE_AC.point("MnAlrmInfo").offset == 123


def test_model_unknown_point_and_model_name_the_allowed():
    with pytest.raises(ValueError, match="no point 'Wmax'.*WMaxLimPct"):
        sm.CONTROLS.point("Wmax")
    with pytest.raises(ValueError, match="model 999 .*701"):
        sm.model(999)


def test_regs_to_int_big_endian_signed():
    assert regs_to_int([0xFFFF, 0xFFFE], signed=True) == -2
    assert int_to_regs(-2, 2) == [0xFFFF, 0xFFFE]
    assert int_to_regs(0x12345678, 2) == [0x1234, 0x5678]


@pytest.mark.parametrize(("type_", "size", "words"), [
    ("int16", 1, [0x8000]), ("uint16", 1, [0xFFFF]), ("enum16", 1, [0xFFFF]),
    ("bitfield16", 1, [0xFFFF]), ("sunssf", 1, [0x8000]), ("acc32", 2, [0, 0]),
    ("int32", 2, [0x8000, 0]), ("uint32", 2, [0xFFFF, 0xFFFF]),
    ("bitfield32", 2, [0xFFFF, 0xFFFF]), ("uint64", 4, [0xFFFF] * 4), ("string", 2, [0, 0])])
def test_decode_raw_not_implemented_is_none(type_, size, words):
    p = sm.Point("X", type_, size, 2)
    assert decode_raw(p, words) is None
    assert encode_raw(p, None) == words


def test_scale_and_unscale_with_negative_and_positive_sf():
    p = sm.CONTROLS.point("WMaxLimPct")
    assert unscale(p, 42.37, -2) == 4237
    assert scale(4237, -2) == 42.37
    w = sm.INVERTER_3PH.point("W")
    assert unscale(w, -12345.0, 1) == -1234  # 10 W resolution
    assert scale(-1234, 1) == -12340.0


def test_unscale_out_of_range_names_point_value_and_range():
    p = sm.CONTROLS.point("WMaxLimPct")
    with pytest.raises(ValueError, match=r"WMaxLimPct: 700 .*outside \[0, 655.34\]"):
        unscale(p, 700.0, -2)
    with pytest.raises(ValueError, match="not a finite number"):
        unscale(p, float("nan"), -2)


def test_decode_model_applies_scale_factor_and_sf_not_implemented():
    img = RegisterImage([sm.COMMON, sm.INVERTER_1PH])
    img.set_sfs(101, {"W_SF": -1, "A_SF": -2})
    img.set(101, {"W": -1234.5, "A": 5.67})
    values = decode_model(sm.INVERTER_1PH, img.read(img.starts[101], 52))
    assert values["W"] == -1234.5
    assert values["A"] == 5.67
    assert values["Hz"] is None  # Hz_SF never written: not implemented


def test_encode_points_string_and_common_model():
    words = encode_points(sm.COMMON, {"Mn": "Cariflex"}, {})
    assert words[2][:4] == [0x4361, 0x7269, 0x666C, 0x6578]  # 'Cariflex'
    assert len(words[2]) == 16


def test_image_chain_layout():
    img = RegisterImage([sm.COMMON, sm.INVERTER_1PH, sm.NAMEPLATE])
    assert img.read(40000, 4) == [0x5375, 0x6E53, 1, 66]
    assert img.starts == {1: 40002, 101: 40070, 120: 40122}
    assert img.read(40122 + 28, 2) == [0xFFFF, 0]


def test_sign_conversion_injection_positive_to_consumption_positive():
    assert twin_p_kw(3000.0) == -3.0  # injecting 3 kW = producing
    assert twin_p_kw(-5000.0) == 5.0  # absorbing 5 kW = charging
    assert sunspec_w(5.0) == -5000.0
    assert twin_p_kw(0.0) == 0.0 and str(twin_p_kw(0.0)) == "0.0"
