"""The HIL commands' bad input: exit 2 with the field, the value and what is allowed."""

from twin.cli import main

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
