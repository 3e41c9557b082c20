"""Settings from the environment and a TOML/YAML file; clear errors naming the variable."""

from pathlib import Path

import pytest
from qingka_agent import cli
from qingka_agent.config import ConfigError, load
from qingka_agent.inventory import build_drivers


def test_defaults():
    config = load(env={})
    assert config.broker_url == "redis://127.0.0.1:6379/0"
    assert config.drivers == ("usb",)
    assert config.state_dir == Path("~/.local/state/qingka-agent").expanduser()
    assert (config.concurrency, config.heartbeat_seconds, config.scan_seconds) == (4, 3, 2)
    assert config.command_timeout == 120


def test_environment_values():
    config = load(
        env={
            "QINGKA_SITE_URL": "https://qingka.example/",
            "QINGKA_AGENT_TOKEN": "t",
            "QINGKA_DRIVERS": "simulated, command",
            "QINGKA_COMMAND": "/opt/vendor/drv --json 'a b'",
            "QINGKA_CONCURRENCY": "8",
            "QINGKA_SIM_DEVICES": "/tmp/devices.yaml",
        }
    )
    assert config.site_url == "https://qingka.example"
    assert config.drivers == ("simulated", "command")
    assert config.command == ("/opt/vendor/drv", "--json", "a b")
    assert config.concurrency == 8 and config.sim_devices == Path("/tmp/devices.yaml")
    config.require_site()


def test_token_is_not_in_repr():
    assert "secret-token" not in repr(load(env={"QINGKA_AGENT_TOKEN": "secret-token"}))


@pytest.mark.parametrize(
    "env, name",
    [
        ({"QINGKA_AGENT_TOKEN": "t"}, "QINGKA_SITE_URL"),
        ({"QINGKA_SITE_URL": "http://x"}, "QINGKA_AGENT_TOKEN"),
    ],
)
def test_missing_site_settings_are_named(env, name):
    with pytest.raises(ConfigError, match=name):
        load(env=env).require_site()


@pytest.mark.parametrize(
    "name", ["QINGKA_CONCURRENCY", "QINGKA_HEARTBEAT_SECONDS", "QINGKA_SCAN_SECONDS", "QINGKA_COMMAND_TIMEOUT"]
)
@pytest.mark.parametrize("value", ["many", "0", "-1"])
def test_bad_numbers_are_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load(env={name: value})


@pytest.mark.parametrize(
    "drivers, name",
    [("simulated", "QINGKA_SIM_DEVICES"), ("command", "QINGKA_COMMAND"), ("usb,floppy", "QINGKA_DRIVERS")],
    ids=["sim-devices-missing", "program-missing", "unknown-driver"],
)
def test_driver_settings_are_named(drivers, name):
    with pytest.raises(ConfigError, match=name):
        build_drivers(load(env={"QINGKA_DRIVERS": drivers}))


def test_toml_file_and_environment_wins(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(
        'site_url = "http://file"\nQINGKA_AGENT_TOKEN = "file-token"\nconcurrency = 2\n'
        'drivers = ["simulated", "usb"]\n',
        encoding="utf-8",
    )
    config = load(path, env={"QINGKA_SITE_URL": "http://env"})
    assert config.site_url == "http://env"
    assert config.token == "file-token" and config.concurrency == 2
    assert config.drivers == ("simulated", "usb")


def test_yaml_file(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text("QINGKA_SITE_URL: http://file\nscan_seconds: 0.5\n", encoding="utf-8")
    config = load(path, env={})
    assert config.site_url == "http://file" and config.scan_seconds == 0.5


def test_unreadable_file(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text("site_url = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="agent.toml"):
        load(path, env={})


def test_cli_prints_one_clear_error(monkeypatch, capsys):
    for name in ("QINGKA_SITE_URL", "QINGKA_AGENT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["check"]) == 2
    err = capsys.readouterr().err
    assert "QINGKA_SITE_URL" in err and "Traceback" not in err
