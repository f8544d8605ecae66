"""The HIL commands' bad input: exit 2 with the field, the value and what is allowed."""

from twin.cli.main import main

LOOPBACK = "scenarios/hil_loopback.yaml"


def test_emulate_unknown_asset(capsys):
    assert main(["emulate", LOOPBACK, "--asset", "bat_nope", "--modbus", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "bat_nope" in err and "bat_hil" in err and "Traceback" not in err


def test_emulate_modbus_needs_host_and_port(capsys):
    assert main(["emulate", LOOPBACK, "--asset", "bat_hil", "--modbus", "localhost"]) == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_emulate_ocpp_needs_a_charger_and_a_ws_url(capsys):
    assert main(["emulate", LOOPBACK, "--asset", "pv_hil", "--ocpp", "ws://127.0.0.1:1"]) == 2
    assert "evc_hil_1" in capsys.readouterr().err
    assert main(["emulate", LOOPBACK, "--asset", "evc_hil_1", "--ocpp", "http://x"]) == 2
    assert "ws://" in capsys.readouterr().err


def test_emulate_speed_and_mode(capsys):
    assert main(["emulate", LOOPBACK, "--asset", "bat_hil", "--modbus", "127.0.0.1:1502",
                 "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().err
    assert main(["emulate", LOOPBACK, "--asset", "bat_hil"]) == 2  # --modbus or --ocpp


def test_vtn_bad_events_file(tmp_path, capsys):
    bad = tmp_path / "events.yaml"
    bad.write_text("events:\n  - signal_name: LOAD_SHED\n    signal_type: level\n"
                   "    intervals: [{duration_s: 60, value: 1}]\n")
    assert main(["vtn", "--port", "0", "--events", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "signal_name" in err and "LOAD_SHED" in err


def test_csms_tls_needs_both_files(tmp_path, capsys):
    assert main(["csms", "--port", "0", "--tls-cert", str(tmp_path / "c.pem")]) == 2
    assert "tls" in capsys.readouterr().err.lower()


def _record(tmp_path, rmse_kw: float, tol_kw: float):
    import json

    from twin.report.hil.validation import verdict
    from twin.scenario.hil import Tolerances

    tol = Tolerances(p_rmse_kw=tol_kw)
    dev = {"asset_id": "evc_1", "kind": "ev_charger", "steps": 100, "p_rmse_kw": rmse_kw,
           "p_max_error_kw": 1.0, "tracking_delay_s": 15.0}
    dev["failed"] = verdict(dev, tol)
    dev["pass"] = not dev["failed"]
    (tmp_path / "hil").mkdir(exist_ok=True)
    (tmp_path / "hil" / "validation.json").write_text(json.dumps(
        {"tolerances": tol.model_dump(), "devices": [dev], "pass": dev["pass"]}))
    return tmp_path


def test_hil_verdict_lines_and_exit_code(tmp_path, capsys):
    from twin.report.hil.section import EXIT_HIL_FAILED, print_verdict

    assert print_verdict(_record(tmp_path, 0.3, 2.0)) == 0
    out = capsys.readouterr().out
    assert "PASS evc_1 (ev_charger): RMSE 0.3 kW (<= 2)" in out and "delay 15 s" in out
    assert print_verdict(_record(tmp_path, 0.3, 0.001)) == EXIT_HIL_FAILED == 3
    out = capsys.readouterr().out
    assert "HIL validation: FAIL" in out and "FAIL evc_1" in out and "p_rmse_kw 0.3" in out
    assert print_verdict(_record(tmp_path, 0.3, 0.001), quiet=True) == 3  # still said
    assert "FAIL evc_1" in capsys.readouterr().err
    assert print_verdict(tmp_path / "nothing") == 3  # no validation recorded is no pass


def test_help_names_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    assert "3 HIL validation failed" in capsys.readouterr().out
