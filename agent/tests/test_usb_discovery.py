"""USB discovery against an emulated USB tree (umockdev): kinds by VID:PID, slots by port path."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import usb.backend.libusb1
from qingka_agent import usb as usb_discovery

UMOCKDEV_DIR = Path(__file__).with_name("umockdev")
pytestmark = pytest.mark.usb
DISCOVER = "import json; from qingka_agent.usb import scan; print(json.dumps([d.as_inventory() for d in scan()]))"


def discover_under_umockdev(description: Path) -> list[dict]:
    umockdev_run = shutil.which("umockdev-run")
    if umockdev_run is None:
        pytest.fail("umockdev-run not found; the USB discovery tests need it: apt-get install umockdev libusb-1.0-0")
    proc = subprocess.run(
        [umockdev_run, "--device", str(description), "--", sys.executable, "-c", DISCOVER],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_finds_tax_devices_with_kind_and_slot():
    rows = discover_under_umockdev(UMOCKDEV_DIR / "cabinet.umockdev")
    assert [(r["slot"], r["kind"]) for r in rows] == [
        ("1-1.4.2", "ukey"),  # 101d:0005 behind two hubs
        ("1-1.4.3", "ukey"),  # 3254:ff10
        ("1-2", "tax_disk"),  # 1432:07dc
        ("2-1", "golden_tax_disk"),  # 101d:0003, mass storage but a 金税盘
    ]  # neither the hubs nor the SanDisk stick at 1-3
    assert all(r["driver"] == "none" and r["device_number"] is None for r in rows)
    by_slot = {r["slot"]: r["usb"] for r in rows}
    assert by_slot["1-2"] == {"vid": "1432", "pid": "07dc", "product": "TaxDisk", "manufacturer": "NISEC", "address": 6}
    assert by_slot["2-1"]["product"] == "USB Flash Disk"
    # no sysfs strings and the device cannot be opened for its string descriptors: None, no crash
    assert by_slot["1-1.4.3"] == {"vid": "3254", "pid": "ff10", "product": None, "manufacturer": None, "address": 5}


def test_committed_description_matches_its_generator():
    spec = importlib.util.spec_from_file_location("generate", UMOCKDEV_DIR / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    expected = "\n".join(generate.record(*device) for device in generate.DEVICES)
    assert (UMOCKDEV_DIR / "cabinet.umockdev").read_text() == expected


def test_missing_libusb_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(usb.backend.libusb1, "get_backend", lambda *a, **k: None)
    with pytest.raises(usb_discovery.UsbUnavailable, match="apt-get install libusb-1.0-0"):
        usb_discovery.scan()


@pytest.mark.parametrize("as_json", [False, True])
def test_agent_devices_command_shows_the_emulated_devices(as_json, tmp_path):
    """`qingka-agent devices` itself, as staff run it next to the cabinet."""
    umockdev_run = shutil.which("umockdev-run")
    assert umockdev_run, "apt-get install umockdev libusb-1.0-0"
    agent = Path(sys.executable).with_name("qingka-agent")
    env = {"PATH": str(agent.parent) + ":/usr/bin:/bin", "QINGKA_DRIVERS": "usb", "QINGKA_STATE_DIR": str(tmp_path)}
    proc = subprocess.run(
        [
            umockdev_run,
            "--device",
            str(UMOCKDEV_DIR / "cabinet.umockdev"),
            "--",
            str(agent),
            "devices",
            *(["--json"] if as_json else []),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    if as_json:
        rows = json.loads(proc.stdout)
        assert {(r["slot"], r["kind"]) for r in rows} == {
            ("1-1.4.2", "ukey"),
            ("1-1.4.3", "ukey"),
            ("1-2", "tax_disk"),
            ("2-1", "golden_tax_disk"),
        }
    else:
        lines = proc.stdout.splitlines()
        for slot, kind in (("1-1.4.2", "税务UKey"), ("1-2", "税控盘"), ("2-1", "金税盘")):
            assert any(slot in line and kind in line for line in lines), proc.stdout
        assert "1-3" not in proc.stdout  # the USB stick is not a tax device
