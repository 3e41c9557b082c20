"""`qingka-agent devices` and `check` with a fake driver and a fake site."""

import json

import pytest
from agent_fakes import CLEAR_DUE, TOKEN, FakeDriver, FakeSite
from qingka_agent import cli, inventory
from qingka_agent.drivers.base import FoundDevice


class UnknownUsb:
    name = "usb"

    def discover(self):
        return [FoundDevice(slot="1-1.7", kind=None, driver="none", usb={"vid": "3a59", "pid": "4458"})]


@pytest.fixture
def fake_drivers(monkeypatch):
    monkeypatch.setitem(inventory.FACTORIES, "fake", lambda config: FakeDriver({"539912237528": CLEAR_DUE}))
    monkeypatch.setitem(inventory.FACTORIES, "unknown", lambda config: UnknownUsb())
    monkeypatch.setenv("QINGKA_DRIVERS", "fake,unknown")


def test_devices_json(fake_drivers, capsys):
    assert cli.main(["devices", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {
        "slot": "sim-1",
        "kind": "tax_disk",
        "driver": "simulated",
        "device_number": "539912237528",
        "simulated": True,
        "busy": False,
        "usb": None,
        "monitoring": {"device_number": "539912237528", "summary_count": 0, "clear_count": 0, **CLEAR_DUE},
    }
    assert rows[1]["driver"] == "none" and rows[1]["device_number"] is None


def test_devices_table(fake_drivers, capsys):
    assert cli.main(["devices"]) == 0
    header, simulated, unknown = capsys.readouterr().out.splitlines()
    assert "设备编号" in header
    assert simulated.split() == ["税控盘", "tax_disk", "sim-1", "539912237528", "simulated", "模拟"]
    assert unknown.split() == ["未知", "unknown", "1-1.7", "未知", "none"]


@pytest.fixture
def site(monkeypatch):
    site = FakeSite()
    monkeypatch.setenv("QINGKA_SITE_URL", site.url)
    monkeypatch.setenv("QINGKA_AGENT_TOKEN", TOKEN)
    monkeypatch.setenv("QINGKA_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("QINGKA_DRIVERS", "simulated")  # no USB line (agent/tests/test_install.py has it)
    yield site
    site.close()


def test_check_all_good(site, capsys):
    assert cli.main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line[0] for line in lines] == ["✓", "✓", "✓"]
    assert "agent.1" in lines[1]


def test_check_reports_each_failure(site, monkeypatch, capsys):
    monkeypatch.setenv("QINGKA_AGENT_TOKEN", "revoked-token")
    monkeypatch.setenv("QINGKA_BROKER_URL", "redis://:brokerpw@127.0.0.1:9/0")
    assert cli.main(["check"]) == 1
    out = capsys.readouterr().out
    site_line, token_line, broker_line = out.splitlines()
    assert site_line.startswith("✓ site reachable")
    assert token_line.startswith("✗ token rejected")
    assert broker_line.startswith("✗ broker unreachable")
    assert "revoked-token" not in out and "brokerpw" not in out


def test_check_site_down(site, capsys):
    site.close()
    assert cli.main(["check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("✗ site unreachable") and lines[1].startswith("✗ token not checked")
