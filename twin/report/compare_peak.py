"""Why one clearing rule has a grid peak the others do not: the step, the markets and
the trades that made it (for ``comparison.html``).

Sign convention: positive = consumption / charging / import. Powers in kW, energies
in kWh per slot, rates in ct/kWh. A peak is "its own" when a rule's peak import exceeds
the highest peak of every other rule by more than ``PEAK_MARGIN`` (relative) and
``PEAK_MARGIN_KW``.
"""

from __future__ import annotations

import html

import pandas as pd

from twin.report.market.bills import self_pairs
from twin.report.market.kpis import EXTERNALS, IMBALANCE

PEAK_MARGIN = 0.10
PEAK_MARGIN_KW = 5.0
TOP = 5


def own_peaks(runs: list[dict]) -> list[dict]:
    """The runs whose peak import stands out, with their peak step."""
    peaks = {r["rule"]: float(r["ts"]["grid.p_import_kw"].astype(float).max()) for r in runs}
    out = []
    for r in runs:
        others = [v for k, v in peaks.items() if k != r["rule"]]
        if others and peaks[r["rule"]] > max(others) * (1 + PEAK_MARGIN) + PEAK_MARGIN_KW:
            at = r["ts"]["grid.p_import_kw"].astype(float).idxmax()
            then = {o["rule"]: float(o["ts"]["grid.p_import_kw"].astype(float).get(at, "nan"))
                    for o in runs if o is not r}
            out.append({"run": r, "peak_kw": peaks[r["rule"]], "others_kw": max(others),
                        "at": at, "others_then_kw": then})
    return out


def _source(trades: pd.DataFrame, levels: dict[str, str]) -> pd.Series:
    ext = trades["buyer"].isin(EXTERNALS) | trades["seller"].isin(EXTERNALS)
    src = trades["market"].map(levels).fillna(trades["market"]) + " market"
    src = src.where(~ext, "market maker (" + trades["market"] + ")")
    src = src.where(trades["market"] != IMBALANCE, "utility imbalance")
    return src.where(~self_pairs(trades), "own devices (behind the meter)")


def explain_peak(peak: dict, levels: dict[str, str], step_h: float) -> dict:
    """The devices that drew most at the peak step and the trades delivered in its slot:
    energy by market level, the largest trades (with the bid / offer rates)."""
    r, at = peak["run"], peak["at"]
    ts = r["ts"]
    row = ts.loc[at]
    draws = {c[:-len(".p_kw")]: float(row[c]) for c in ts.columns
             if c.endswith(".p_kw") and not c.startswith("grid.")}
    devices = sorted(draws.items(), key=lambda kv: -kv[1])[:TOP]
    t = r["record"].trades
    slot = t[t["slot_start"] == at].copy()
    slot["source"] = _source(slot, levels)
    by_source = slot.groupby("source")["energy_kwh"].sum().sort_values(ascending=False)
    top = slot.sort_values("energy_kwh", ascending=False).head(TOP)
    return {"rule": r["rule"], "at": at, "peak_kw": peak["peak_kw"],
            "others_kw": peak["others_kw"], "others_then_kw": peak["others_then_kw"],
            "devices_kw": devices,
            "by_source_kwh": by_source, "top_trades": top, "step_h": step_h}


def peak_html(explained: list[dict], tz: str) -> str:
    if not explained:
        return ("<h2>Peaks</h2><p>No rule has a peak import more than "
                f"{PEAK_MARGIN:.0%} + {PEAK_MARGIN_KW:g} kW above every other rule's.</p>")
    parts = ["<h2>Peaks one rule has and the others do not</h2>"]
    for e in explained:
        when = pd.Timestamp(e["at"]).tz_convert(tz).strftime("%Y-%m-%d %H:%M")
        dev = ", ".join(f"{html.escape(d)} {p:.1f} kW" for d, p in e["devices_kw"])
        src = ", ".join(f"{html.escape(s)} {v:.1f} kWh" for s, v in e["by_source_kwh"].items())
        then = ", ".join(f"{html.escape(k)} {v:.1f} kW" for k, v in e["others_then_kw"].items())
        rows = "".join(
            f"<tr><td>{html.escape(str(x.market))}</td><td>{html.escape(str(x.seller))} "
            f"{html.escape(str(x.seller_device or ''))}</td><td>{html.escape(str(x.buyer))} "
            f"{html.escape(str(x.buyer_device or ''))}</td><td>{x.energy_kwh:.2f}</td>"
            f"<td>{x.rate_ct_per_kwh:.2f}</td><td>{x.buyer_rate_ct_per_kwh:.2f}</td></tr>"
            for x in e["top_trades"].itertuples(index=False))
        parts.append(
            f"<p><b>{html.escape(e['rule'])}</b>: peak import {e['peak_kw']:.1f} kW in the "
            f"step from {when} (the other rules: at most {e['others_kw']:.1f} kW over the run, "
            f"in that step {then}). Devices "
            f"drawing most then: {dev}. Energy delivered in that slot by where it was "
            f"traded: {src}.</p><table><tr><th>market</th><th>seller (device)</th>"
            "<th>buyer (device)</th><th>kWh</th><th>rate [ct/kWh]</th>"
            f"<th>buyer rate [ct/kWh]</th></tr>{rows}</table>")
    return "".join(parts)
