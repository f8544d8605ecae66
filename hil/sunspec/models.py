"""SunSpec information models as data (their types: :mod:`hil.sunspec.points`;
encode/decode: :mod:`hil.sunspec.codec`).

Point lists, order, types, sizes, scale-factor references and access are those of the
official SunSpec model definitions (github.com/sunspec/models, ``json/model_<id>.json``):

- 1 common (L = 66); 101 / 102 / 103 inverter, integer + scale factor (L = 50 each;
  single, split and three phase share one layout); 120 nameplate (L = 26);
  123 immediate controls (L = 24); 124 basic storage controls (L = 24);
- 701 DER AC measurement (L = 153), 704 DER AC controls (L = 65, with its four
  power-factor groups PFWInj, PFWInjRvrt, PFWAbs, PFWAbsRvrt after the fixed points),
  713 DER storage capacity (L = 7: ``WH_SF`` for ``WHRtg`` / ``WHAvail``, ``Pct_SF`` for
  ``SoC`` / ``SoH``), 802 battery base model (L = 62).

Checked point by point (names, order, offsets, types, sizes, scale-factor references,
access, enumeration values) against the JSON models shipped by pySunSpec2 1.3.7
(``sunspec2/models/json``) in ``tests/hil/test_sunspec_standard.py``. No repeating
group is needed for these models (802's cell/string detail lives in 803/804, not served
here); 704's four power-factor groups occur once each and are flattened as
``<group>.<point>``. Units are the twin's spelling (``%``, ``s``), not compared.

Registers: offsets count from the model's ``ID`` register (offset 0; ``L`` is offset 1,
the first point offset 2), as in the SunSpec tables. Multi-register values are
big-endian, high word first. A value's engineering figure is ``raw * 10**sf``.

Not-implemented values: :data:`hil.sunspec.points.NOT_IMPLEMENTED`. SIGN CONVENTIONS, converted in one place (:func:`hil.sunspec.codec.twin_p_kw` and
:func:`hil.sunspec.codec.sunspec_w`):
SunSpec inverter / DER active power ``W`` (101-103, 701) is positive when the device
*injects* (exports) power: 701's ``TotWhInj`` accumulates quadrants 1 and 4, and 704
``WSet`` is labelled "Set Active Power Level (may be negative for charging)". The twin's
``p_kw`` is positive for consumption / charging, so ``p_kw = -W / 1000``.
"""

from __future__ import annotations

from collections.abc import Sequence

from hil.sunspec.points import Model, Point, model_from_lines

__all__ = ["BATTERY", "COMMON", "CONTROLS", "DER_CTL_AC", "DER_MEASURE_AC",
           "DER_STORAGE_CAPACITY", "END_MODEL_ID", "INVERTER_1PH", "INVERTER_3PH",
           "INVERTER_SPLIT", "MODELS", "Model", "NAMEPLATE", "Point", "STORAGE",
           "SUNS_MARKER", "model"]

SUNS_MARKER = (0x5375, 0x6E53)  # 'SunS'
END_MODEL_ID = 0xFFFF


def _phases(lines: str, suffixes: Sequence[str]) -> str:
    return "\n".join(lines.replace("{p}", s).replace("{q}", q)
                     for s, q in zip(suffixes, ("L1L2", "L2L3", "L3L1"), strict=True))


_ENA = "s:0,1"
COMMON = model_from_lines(1, "common", """
Mn string n:16
Md string n:16
Opt string n:8
Vr string n:8
SN string n:16
DA uint16 rw
Pad pad
""")

_INVERTER = """
A uint16 sf:A_SF u:A
AphA uint16 sf:A_SF u:A
AphB uint16 sf:A_SF u:A
AphC uint16 sf:A_SF u:A
A_SF sunssf
PPVphAB uint16 sf:V_SF u:V
PPVphBC uint16 sf:V_SF u:V
PPVphCA uint16 sf:V_SF u:V
PhVphA uint16 sf:V_SF u:V
PhVphB uint16 sf:V_SF u:V
PhVphC uint16 sf:V_SF u:V
V_SF sunssf
W int16 sf:W_SF u:W
W_SF sunssf
Hz uint16 sf:Hz_SF u:Hz
Hz_SF sunssf
VA int16 sf:VA_SF u:VA
VA_SF sunssf
VAr int16 sf:VAr_SF u:var
VAr_SF sunssf
PF int16 sf:PF_SF u:Pct
PF_SF sunssf
WH acc32 sf:WH_SF u:Wh
WH_SF sunssf
DCA uint16 sf:DCA_SF u:A
DCA_SF sunssf
DCV uint16 sf:DCV_SF u:V
DCV_SF sunssf
DCW int16 sf:DCW_SF u:W
DCW_SF sunssf
TmpCab int16 sf:Tmp_SF u:C
TmpSnk int16 sf:Tmp_SF u:C
TmpTrns int16 sf:Tmp_SF u:C
TmpOt int16 sf:Tmp_SF u:C
Tmp_SF sunssf
St enum16
StVnd enum16
Evt1 bitfield32
Evt2 bitfield32
EvtVnd1 bitfield32
EvtVnd2 bitfield32
EvtVnd3 bitfield32
EvtVnd4 bitfield32
"""
INVERTER_1PH = model_from_lines(101, "inverter", _INVERTER)
INVERTER_SPLIT = model_from_lines(102, "inverter", _INVERTER)
INVERTER_3PH = model_from_lines(103, "inverter", _INVERTER)

NAMEPLATE = model_from_lines(120, "nameplate", """
DERTyp enum16
WRtg uint16 sf:WRtg_SF u:W
WRtg_SF sunssf
VARtg uint16 sf:VARtg_SF u:VA
VARtg_SF sunssf
VArRtgQ1 int16 sf:VArRtg_SF u:var
VArRtgQ2 int16 sf:VArRtg_SF u:var
VArRtgQ3 int16 sf:VArRtg_SF u:var
VArRtgQ4 int16 sf:VArRtg_SF u:var
VArRtg_SF sunssf
ARtg uint16 sf:ARtg_SF u:A
ARtg_SF sunssf
PFRtgQ1 int16 sf:PFRtg_SF
PFRtgQ2 int16 sf:PFRtg_SF
PFRtgQ3 int16 sf:PFRtg_SF
PFRtgQ4 int16 sf:PFRtg_SF
PFRtg_SF sunssf
WHRtg uint16 sf:WHRtg_SF u:Wh
WHRtg_SF sunssf
AhrRtg uint16 sf:AhrRtg_SF u:Ah
AhrRtg_SF sunssf
MaxChaRte uint16 sf:MaxChaRte_SF u:W
MaxChaRte_SF sunssf
MaxDisChaRte uint16 sf:MaxDisChaRte_SF u:W
MaxDisChaRte_SF sunssf
Pad pad
""")

CONTROLS = model_from_lines(123, "controls", f"""
Conn_WinTms uint16 rw u:s
Conn_RvrtTms uint16 rw u:s
Conn enum16 rw {_ENA}
WMaxLimPct uint16 rw sf:WMaxLimPct_SF u:%WMax
WMaxLimPct_WinTms uint16 rw u:s
WMaxLimPct_RvrtTms uint16 rw u:s
WMaxLimPct_RmpTms uint16 rw u:s
WMaxLim_Ena enum16 rw {_ENA}
OutPFSet int16 rw sf:OutPFSet_SF
OutPFSet_WinTms uint16 rw u:s
OutPFSet_RvrtTms uint16 rw u:s
OutPFSet_RmpTms uint16 rw u:s
OutPFSet_Ena enum16 rw {_ENA}
VArWMaxPct int16 rw sf:VArPct_SF
VArMaxPct int16 rw sf:VArPct_SF
VArAvalPct int16 rw sf:VArPct_SF
VArPct_WinTms uint16 rw u:s
VArPct_RvrtTms uint16 rw u:s
VArPct_RmpTms uint16 rw u:s
VArPct_Mod enum16 rw s:0,1,2,3
VArPct_Ena enum16 rw {_ENA}
WMaxLimPct_SF sunssf
OutPFSet_SF sunssf
VArPct_SF sunssf
""")

STORAGE = model_from_lines(124, "storage", f"""
WChaMax uint16 rw sf:WChaMax_SF u:W
WChaGra uint16 rw sf:WChaDisChaGra_SF u:%WChaMax/s
WDisChaGra uint16 rw sf:WChaDisChaGra_SF u:%WChaMax/s
StorCtl_Mod bitfield16 rw s:0,1
VAChaMax uint16 rw sf:VAChaMax_SF u:VA
MinRsvPct uint16 rw sf:MinRsvPct_SF u:%
ChaState uint16 sf:ChaState_SF u:%
StorAval uint16 sf:StorAval_SF u:Ah
InBatV uint16 sf:InBatV_SF u:V
ChaSt enum16
OutWRte int16 rw sf:InOutWRte_SF u:%WDisChaMax
InWRte int16 rw sf:InOutWRte_SF u:%WChaMax
InOutWRte_WinTms uint16 rw u:s
InOutWRte_RvrtTms uint16 rw u:s
InOutWRte_RmpTms uint16 rw u:s
ChaGriSet enum16 rw {_ENA}
WChaMax_SF sunssf
WChaDisChaGra_SF sunssf
VAChaMax_SF sunssf
MinRsvPct_SF sunssf
ChaState_SF sunssf
StorAval_SF sunssf
InBatV_SF sunssf
InOutWRte_SF sunssf
""")

_PHASE_701 = """
W{p} int16 sf:W_SF u:W
VA{p} int16 sf:VA_SF u:VA
Var{p} int16 sf:Var_SF u:var
PF{p} int16 sf:PF_SF
A{p} int16 sf:A_SF u:A
V{q} uint16 sf:V_SF u:V
V{p} uint16 sf:V_SF u:V
TotWhInj{p} uint64 sf:TotWh_SF u:Wh
TotWhAbs{p} uint64 sf:TotWh_SF u:Wh
TotVarhInj{p} uint64 sf:TotVarh_SF u:varh
TotVarhAbs{p} uint64 sf:TotVarh_SF u:varh"""
DER_MEASURE_AC = model_from_lines(701, "DERMeasureAC", """
ACType enum16
St enum16
InvSt enum16
ConnSt enum16
Alrm bitfield32
DERMode bitfield32
W int16 sf:W_SF u:W
VA int16 sf:VA_SF u:VA
Var int16 sf:Var_SF u:var
PF int16 sf:PF_SF
A int16 sf:A_SF u:A
LLV uint16 sf:V_SF u:V
LNV uint16 sf:V_SF u:V
Hz uint32 sf:Hz_SF u:Hz
TotWhInj uint64 sf:TotWh_SF u:Wh
TotWhAbs uint64 sf:TotWh_SF u:Wh
TotVarhInj uint64 sf:TotVarh_SF u:varh
TotVarhAbs uint64 sf:TotVarh_SF u:varh
TmpAmb int16 sf:Tmp_SF u:C
TmpCab int16 sf:Tmp_SF u:C
TmpSnk int16 sf:Tmp_SF u:C
TmpTrns int16 sf:Tmp_SF u:C
TmpSw int16 sf:Tmp_SF u:C
TmpOt int16 sf:Tmp_SF u:C""" + _phases(_PHASE_701, ("L1", "L2", "L3")) + """
ThrotPct uint16 u:%
ThrotSrc bitfield32
A_SF sunssf
V_SF sunssf
Hz_SF sunssf
W_SF sunssf
PF_SF sunssf
VA_SF sunssf
Var_SF sunssf
TotWh_SF sunssf
TotVarh_SF sunssf
Tmp_SF sunssf
MnAlrmInfo string n:32
""")

_PF_GROUP = "\n".join(f"{g}.PF uint16 rw sf:PF_SF\n{g}.Ext enum16 rw {_ENA}"
                      for g in ("PFWInj", "PFWInjRvrt", "PFWAbs", "PFWAbsRvrt"))
DER_CTL_AC = model_from_lines(704, "DERCtlAC", f"""
PFWInjEna enum16 rw {_ENA}
PFWInjEnaRvrt enum16 rw {_ENA}
PFWInjRvrtTms uint32 rw u:s
PFWInjRvrtRem uint32 u:s
PFWAbsEna enum16 rw {_ENA}
PFWAbsEnaRvrt enum16 rw {_ENA}
PFWAbsRvrtTms uint32 rw u:s
PFWAbsRvrtRem uint32 u:s
WMaxLimPctEna enum16 rw {_ENA}
WMaxLimPct uint16 rw sf:WMaxLimPct_SF u:%
WMaxLimPctRvrt uint16 rw sf:WMaxLimPct_SF u:%
WMaxLimPctEnaRvrt enum16 rw {_ENA}
WMaxLimPctRvrtTms uint32 rw u:s
WMaxLimPctRvrtRem uint32 u:s
WSetEna enum16 rw {_ENA}
WSetMod enum16 rw s:0,1
WSet int32 rw sf:WSet_SF u:W
WSetRvrt int32 rw sf:WSet_SF u:W
WSetPct int16 rw sf:WSetPct_SF u:%
WSetPctRvrt int16 rw sf:WSetPct_SF u:%
WSetEnaRvrt enum16 rw {_ENA}
WSetRvrtTms uint32 rw u:s
WSetRvrtRem uint32 u:s
VarSetEna enum16 rw {_ENA}
VarSetMod enum16 rw s:0,1,2,3,4
VarSetPri enum16 rw s:0,1,2
VarSet int32 rw sf:VarSet_SF u:var
VarSetRvrt int32 rw sf:VarSet_SF u:var
VarSetPct int16 rw sf:VarSetPct_SF u:%
VarSetPctRvrt int16 rw sf:VarSetPct_SF u:%
VarSetEnaRvrt enum16 rw {_ENA}
VarSetRvrtTms uint32 rw u:s
VarSetRvrtRem uint32 u:s
WRmp uint16 rw u:%/s
WRmpRef enum16 rw {_ENA}
VarRmp uint16 rw u:%/s
AntiIslEna enum16 rw {_ENA}
PF_SF sunssf
WMaxLimPct_SF sunssf
WSet_SF sunssf
WSetPct_SF sunssf
VarSet_SF sunssf
VarSetPct_SF sunssf
{_PF_GROUP}
""")

DER_STORAGE_CAPACITY = model_from_lines(713, "DERStorageCapacity", """
WHRtg uint16 sf:WH_SF u:Wh
WHAvail uint16 sf:WH_SF u:Wh
SoC uint16 sf:Pct_SF u:%
SoH uint16 sf:Pct_SF u:%
Sta enum16 s:0,1,2
WH_SF sunssf
Pct_SF sunssf
""")

BATTERY = model_from_lines(802, "battery", """
AHRtg uint16 sf:AHRtg_SF u:Ah
WHRtg uint16 sf:WHRtg_SF u:Wh
WChaRteMax uint16 sf:WChaDisChaMax_SF u:W
WDisChaRteMax uint16 sf:WChaDisChaMax_SF u:W
DisChaRte uint16 sf:DisChaRte_SF u:%WHRtg
SoCMax uint16 sf:SoC_SF u:%
SoCMin uint16 sf:SoC_SF u:%
SocRsvMax uint16 rw sf:SoC_SF u:%
SoCRsvMin uint16 rw sf:SoC_SF u:%
SoC uint16 sf:SoC_SF u:%
DoD uint16 sf:DoD_SF u:%
SoH uint16 sf:SoH_SF u:%
NCyc uint32
ChaSt enum16
LocRemCtl enum16
Hb uint16
CtrlHb uint16 rw
AlmRst uint16 rw
Typ enum16
State enum16
StateVnd enum16
WarrDt uint32
Evt1 bitfield32
Evt2 bitfield32
EvtVnd1 bitfield32
EvtVnd2 bitfield32
V uint16 sf:V_SF u:V
VMax uint16 sf:V_SF u:V
VMin uint16 sf:V_SF u:V
CellVMax uint16 sf:CellV_SF u:V
CellVMaxStr uint16
CellVMaxMod uint16
CellVMin uint16 sf:CellV_SF u:V
CellVMinStr uint16
CellVMinMod uint16
CellVAvg uint16 sf:CellV_SF u:V
A int16 sf:A_SF u:A
AChaMax uint16 sf:AMax_SF u:A
ADisChaMax uint16 sf:AMax_SF u:A
W int16 sf:W_SF u:W
ReqInvState enum16
ReqW int16 sf:W_SF u:W
SetOp enum16 rw s:1,2
SetInvState enum16 rw s:1,2,3
AHRtg_SF sunssf
WHRtg_SF sunssf
WChaDisChaMax_SF sunssf
DisChaRte_SF sunssf
SoC_SF sunssf
DoD_SF sunssf
SoH_SF sunssf
V_SF sunssf
CellV_SF sunssf
A_SF sunssf
AMax_SF sunssf
W_SF sunssf
""")

MODELS: dict[int, Model] = {m.id: m for m in (
    COMMON, INVERTER_1PH, INVERTER_SPLIT, INVERTER_3PH, NAMEPLATE, CONTROLS, STORAGE,
    DER_MEASURE_AC, DER_CTL_AC, DER_STORAGE_CAPACITY, BATTERY)}


def model(model_id: int) -> Model:
    """The definition of ``model_id``; ValueError listing the known ids otherwise."""
    try:
        return MODELS[model_id]
    except KeyError:
        raise ValueError(f"SunSpec model {model_id!r} is not defined here; known models are "
                         f"{', '.join(map(str, MODELS))}") from None
