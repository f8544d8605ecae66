import numpy as np
import pytest

from simulators.battery.model import BatteryFleet, BatteryParams, self_discharge_factor


def _fleet(**kwargs) -> BatteryFleet:
    return BatteryFleet([BatteryParams(**kwargs)])


def test_self_discharge_factor_one_day():
    assert self_discharge_factor(0.1, 86400.0) == pytest.approx(0.999, abs=1e-15)
    assert self_discharge_factor(0.0, 900.0) == 1.0


def test_step_clips_at_charge_power_limit():
    fleet = _fleet()
    fleet.step(np.array([80.0]), 900.0)
    assert fleet.p_kw[0] == 50.0
    assert fleet.p_set_kw[0] == 80.0
    assert fleet.p_deviation_kw[0] == 30.0
    assert fleet.e_kwh[0] == pytest.approx(61.87447891, abs=1e-8)
    assert fleet.soc_percent[0] == pytest.approx(61.87447891, abs=1e-8)
    assert fleet.e_loss_kwh[0] == pytest.approx(0.62552109, abs=1e-8)


def test_step_clips_at_discharge_power_limit():
    fleet = _fleet()
    fleet.step([-70.0], 900.0)
    assert fleet.p_kw[0] == -50.0
    assert fleet.p_deviation_kw[0] == -20.0


def test_step_overcharge_lands_on_soc_max():
    fleet = _fleet(soc_initial_percent=90.0)
    fleet.step([50.0], 3600.0)
    assert fleet.e_kwh[0] == pytest.approx(95.0, abs=1e-9)
    assert fleet.p_kw[0] == pytest.approx(5.26710716, abs=1e-8)
    assert fleet.p_deviation_kw[0] == pytest.approx(50.0 - 5.26710716, abs=1e-8)
    # only the self-discharge of the next hour can be refilled: 95 * (1 - a) / 0.95
    assert fleet.p_charge_avail_kw[0] == pytest.approx(0.00416866, abs=1e-8)


def test_step_overdischarge_lands_on_soc_min():
    fleet = _fleet(soc_initial_percent=10.0)
    fleet.step([-50.0], 3600.0)
    assert fleet.e_kwh[0] == pytest.approx(5.0, abs=1e-9)
    assert fleet.p_kw[0] == pytest.approx(-4.74960398, abs=1e-8)
    assert fleet.p_discharge_avail_kw[0] == 0.0


def test_step_random_setpoints_stay_in_soc_window():
    rng = np.random.default_rng(42)
    params = [
        BatteryParams(self_discharge_percent_per_day=0.0),
        BatteryParams(capacity_kwh=13.5, p_charge_max_kw=5.0, p_discharge_max_kw=5.0,
                      self_discharge_percent_per_day=0.0, soc_min_percent=10.0),
    ]
    fleet = BatteryFleet(params)
    for _ in range(1000):
        fleet.step(rng.uniform(-80.0, 80.0, size=2), 900.0)
        assert np.all(fleet.soc_percent >= np.array([5.0, 10.0]) - 1e-9)
        assert np.all(fleet.soc_percent <= 95.0 + 1e-9)
        assert np.all(fleet.e_loss_kwh >= -1e-12)


def test_step_random_setpoints_with_self_discharge_only_drift_below_min():
    rng = np.random.default_rng(7)
    fleet = BatteryFleet([BatteryParams(self_discharge_percent_per_day=5.0)])
    for _ in range(1000):
        fleet.step(rng.uniform(-60.0, 60.0, size=1), 900.0)
        assert fleet.e_kwh[0] <= 95.0 + 1e-9
        if fleet.e_kwh[0] < 5.0 - 1e-9:  # only self-discharge of an idle battery goes below
            assert fleet.p_kw[0] == 0.0
            assert fleet.e_kwh[0] > 5.0 * 0.95


def test_step_energy_identity_exact():
    rng = np.random.default_rng(1)
    params = [BatteryParams(), BatteryParams(eta_charge=0.9, eta_discharge=0.85,
                                             self_discharge_percent_per_day=3.0)]
    fleet = BatteryFleet(params)
    dt_s = 600.0
    dt_h = dt_s / 3600.0
    for _ in range(500):
        e_old = fleet.e_kwh.copy()
        fleet.step(rng.uniform(-70.0, 70.0, size=2), dt_s)
        p = fleet.p_kw
        expected = (fleet.eta_charge * np.maximum(p, 0) * dt_h
                    + np.minimum(p, 0) / fleet.eta_discharge * dt_h
                    - fleet.e_self_discharge_kwh)
        np.testing.assert_allclose(fleet.e_kwh - e_old, expected, rtol=0, atol=1e-9)
        np.testing.assert_allclose(fleet.e_self_discharge_kwh,
                                   e_old * (1 - self_discharge_factor([0.1, 3.0], dt_s)),
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(fleet.e_loss_kwh, p * dt_h - (fleet.e_kwh - e_old),
                                   rtol=0, atol=1e-12)
        assert np.all(fleet.e_loss_kwh >= 0.0)


def test_step_round_trip_efficiency():
    fleet = _fleet(soc_initial_percent=5.0, self_discharge_percent_per_day=0.0)
    fleet.step([10.0], 3600.0)  # 10 kWh AC in
    assert fleet.e_kwh[0] == pytest.approx(5.0 + 9.5, abs=1e-12)
    fleet.step([-50.0], 3600.0)  # take everything back out
    e_ac_out_kwh = -fleet.p_kw[0] * 1.0
    assert e_ac_out_kwh == pytest.approx(9.025, abs=1e-9)
    assert e_ac_out_kwh / 10.0 == pytest.approx(0.95 * 0.95, abs=1e-12)


def test_step_idle_self_discharge_one_day():
    fleet = _fleet()
    for _ in range(96):
        fleet.step([0.0], 900.0)
    assert fleet.e_kwh[0] == pytest.approx(50.0 * (1 - 0.1 / 100), abs=1e-9)
    assert fleet.p_kw[0] == 0.0


def test_step_vectorised_different_params():
    fleet = BatteryFleet([
        BatteryParams(capacity_kwh=10.0, p_charge_max_kw=5.0, p_discharge_max_kw=3.0,
                      eta_charge=0.9, eta_discharge=0.92, self_discharge_percent_per_day=2.0,
                      soc_min_percent=10.0, soc_max_percent=90.0, soc_initial_percent=50.0),
        BatteryParams(capacity_kwh=13.5, p_charge_max_kw=5.0, p_discharge_max_kw=5.0,
                      eta_charge=1.0, eta_discharge=1.0, self_discharge_percent_per_day=0.0,
                      soc_initial_percent=20.0),
        BatteryParams(),
    ])
    fleet.step(np.array([4.0, -10.0, -20.0]), 1800.0)
    np.testing.assert_allclose(fleet.p_kw, [4.0, -4.05, -20.0], atol=1e-12)
    np.testing.assert_allclose(fleet.p_deviation_kw, [0.0, -5.95, 0.0], atol=1e-12)
    np.testing.assert_allclose(fleet.e_kwh, [6.79789599, 0.675, 39.47264203], atol=1e-8)
    assert len(fleet) == 3


def test_available_p_kw_signs():
    fleet = BatteryFleet([BatteryParams(), BatteryParams(soc_initial_percent=95.0)])
    p_min_kw, p_max_kw = fleet.available_p_kw(900.0)
    assert np.all(p_min_kw <= 0.0) and np.all(p_max_kw >= 0.0)
    np.testing.assert_allclose(p_min_kw, [-50.0, -50.0])
    # a full battery can only refill its self-discharge of the step
    np.testing.assert_allclose(p_max_kw, [50.0, 0.00416873], atol=1e-8)


def test_battery_params_rejects_initial_soc_outside_window():
    with pytest.raises(ValueError, match="soc_initial_percent"):
        BatteryParams(soc_initial_percent=99.0)
