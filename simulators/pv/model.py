"""PV system model: weather and sun position to inverter AC power.

Pure, vectorised functions built on pvlib (no mosaik). Chain per system:
plane-of-array irradiance (Hay-Davies transposition), SAPM cell temperature,
PVWatts DC power less lumped losses, PVWatts inverter clipping at the AC rating.

Sign convention: positive = consumption, so production is NEGATIVE ``p_kw``;
a PV system never consumes (night-time values are exactly 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib

SAPM_PARAMETERS = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]


@dataclass(frozen=True)
class PvParams:
    """Parameters of one PV system.

    Attributes
    ----------
    p_dc_kwp : float
        Array DC rating at STC. [kWp]
    p_ac_kw : float
        Inverter AC rating, the clipping limit. [kW]
    tilt_deg : float
        Module tilt from horizontal. [°]
    azimuth_deg : float
        Module azimuth, clockwise from north (180 = south). [°]
    gamma_pdc_per_c : float
        DC power temperature coefficient. [1/°C]
    losses_percent : float
        Lumped DC losses (soiling, wiring, mismatch, reflection). [%]
    inverter_eta_nom : float
        Nominal inverter efficiency. [-]
    albedo : float
        Ground reflectance. [-]
    temp_model : str
        SAPM parameter set in ``pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS['sapm']``.
    """

    p_dc_kwp: float = 5.0
    p_ac_kw: float = 4.6
    tilt_deg: float = 15.0
    azimuth_deg: float = 180.0
    gamma_pdc_per_c: float = -0.0037
    losses_percent: float = 14.0
    inverter_eta_nom: float = 0.96
    albedo: float = 0.2
    temp_model: str = "open_rack_glass_polymer"


def solar_position(
    times: pd.DatetimeIndex, latitude: float, longitude: float, altitude_m: float
) -> pd.DataFrame:
    """Solar position and extraterrestrial irradiance, computed once per site.

    Parameters
    ----------
    times : pd.DatetimeIndex
        Timezone-aware time steps.
    latitude, longitude : float
        Site position. [degrees north, degrees east]
    altitude_m : float
        Site altitude. [m]

    Returns
    -------
    pd.DataFrame
        pvlib columns ``apparent_zenith``, ``zenith``, ``azimuth``, ... [°]
        plus ``dni_extra_w_per_m2``, extraterrestrial normal irradiance. [W/m2]
    """
    solpos = pvlib.solarposition.get_solarposition(times, latitude, longitude, altitude=altitude_m)
    solpos["dni_extra_w_per_m2"] = pvlib.irradiance.get_extra_radiation(times)
    return solpos


def _poa_global_w_per_m2(
    weather: pd.DataFrame, solpos: pd.DataFrame, tilt_deg: float, azimuth_deg: float, albedo: float
) -> np.ndarray:
    """Plane-of-array global irradiance, Hay-Davies sky diffuse. [W/m2]"""
    if "dni_extra_w_per_m2" in solpos:
        dni_extra = solpos["dni_extra_w_per_m2"]
    else:
        dni_extra = pvlib.irradiance.get_extra_radiation(solpos.index)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        solpos["apparent_zenith"],
        solpos["azimuth"],
        weather["dni_w_per_m2"],
        weather["ghi_w_per_m2"],
        weather["dhi_w_per_m2"],
        dni_extra=dni_extra,
        model="haydavies",
        albedo=albedo,
    )
    return np.maximum(np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)), 0.0)


def _cell_temperature_c(poa: np.ndarray, weather: pd.DataFrame, temp_model: str) -> np.ndarray:
    """SAPM cell temperature. [°C]"""
    return np.asarray(
        pvlib.temperature.sapm_cell(
            poa,
            weather["temp_air_c"].to_numpy(dtype=float),
            weather["wind_speed_m_per_s"].to_numpy(dtype=float),
            **SAPM_PARAMETERS[temp_model],
        ),
        dtype=float,
    )


def _ac_from_poa_kw(poa: np.ndarray, temp_cell_c: np.ndarray, params: PvParams) -> np.ndarray:
    """DC (PVWatts, less losses) then AC (PVWatts inverter); returns p_kw <= 0. [kW]"""
    pdc_w = pvlib.pvsystem.pvwatts_dc(
        poa, temp_cell_c, params.p_dc_kwp * 1000.0, params.gamma_pdc_per_c
    )
    pdc_w = np.maximum(np.asarray(pdc_w, dtype=float), 0.0) * (1.0 - params.losses_percent / 100.0)
    pac_w = pvlib.inverter.pvwatts(
        pdc_w,
        params.p_ac_kw * 1000.0 / params.inverter_eta_nom,
        eta_inv_nom=params.inverter_eta_nom,
    )
    pac_kw = np.clip(np.nan_to_num(np.asarray(pac_w, dtype=float)) / 1000.0, 0.0, params.p_ac_kw)
    return -pac_kw + 0.0  # + 0.0 turns -0.0 into 0.0


def pv_ac_power_kw(weather: pd.DataFrame, solpos: pd.DataFrame, params: PvParams) -> np.ndarray:
    r"""AC power of one PV system.

    .. math::

        P_{dc} = \frac{E_{poa}}{1000} P_{dc0} (1 + \gamma (T_{cell} - 25))
                 (1 - L/100), \qquad
        P_{ac} = \min(\eta(P_{dc}) P_{dc}, P_{ac0}), \qquad p = -P_{ac}

    with :math:`E_{poa}` from :func:`pvlib.irradiance.get_total_irradiance`
    (Hay-Davies), :math:`T_{cell}` from :func:`pvlib.temperature.sapm_cell`
    and :math:`\eta` the PVWatts inverter efficiency curve
    (:func:`pvlib.inverter.pvwatts` with ``pdc0 = p_ac_kw / eta_nom``).

    Parameters
    ----------
    weather : pd.DataFrame
        Columns ``ghi_w_per_m2``, ``dni_w_per_m2``, ``dhi_w_per_m2`` [W/m2],
        ``temp_air_c`` [°C], ``wind_speed_m_per_s`` [m/s].
    solpos : pd.DataFrame
        Output of :func:`solar_position` for the same index.
    params : PvParams
        System parameters.

    Returns
    -------
    np.ndarray
        AC active power, production negative, in [-p_ac_kw, 0]. [kW]
    """
    poa = _poa_global_w_per_m2(weather, solpos, params.tilt_deg, params.azimuth_deg, params.albedo)
    return _ac_from_poa_kw(poa, _cell_temperature_c(poa, weather, params.temp_model), params)


def pv_ac_power_kw_many(
    weather: pd.DataFrame, solpos: pd.DataFrame, params_list: list[PvParams]
) -> np.ndarray:
    """AC power of many PV systems sharing one weather and sun position.

    Transposition is computed once per distinct (tilt, azimuth, albedo) and
    cell temperature once per distinct (orientation, temperature model).

    Parameters
    ----------
    weather : pd.DataFrame
        As for :func:`pv_ac_power_kw`.
    solpos : pd.DataFrame
        Output of :func:`solar_position`.
    params_list : list of PvParams
        One entry per system.

    Returns
    -------
    np.ndarray
        Shape (n_times, n_systems), production negative. [kW]
    """
    out = np.zeros((len(weather), len(params_list)))
    poa_cache: dict[tuple[float, float, float], np.ndarray] = {}
    temp_cache: dict[tuple[float, float, float, str], np.ndarray] = {}
    for j, p in enumerate(params_list):
        key = (p.tilt_deg, p.azimuth_deg, p.albedo)
        if key not in poa_cache:
            poa_cache[key] = _poa_global_w_per_m2(weather, solpos, *key)
        tkey = (*key, p.temp_model)
        if tkey not in temp_cache:
            temp_cache[tkey] = _cell_temperature_c(poa_cache[key], weather, p.temp_model)
        out[:, j] = _ac_from_poa_kw(poa_cache[key], temp_cache[tkey], p)
    return out


def curtail(p_avail_kw: np.ndarray, p_limit_kw: np.ndarray | float) -> np.ndarray:
    """Apply an active-power limit to (negative) available PV power.

    Parameters
    ----------
    p_avail_kw : np.ndarray
        Available AC power, production negative. [kW]
    p_limit_kw : np.ndarray or float
        Maximum production magnitude, >= 0 (negative values act as 0). [kW]

    Returns
    -------
    np.ndarray
        ``max(p_avail_kw, -p_limit_kw)``, production negative. [kW]
    """
    limit = np.maximum(np.asarray(p_limit_kw, dtype=float), 0.0)
    return np.maximum(np.asarray(p_avail_kw, dtype=float), -limit)
