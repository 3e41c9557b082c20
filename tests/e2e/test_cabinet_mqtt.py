"""A month-end through a cabinet over MQTT: the live site, a real agent process with the `cabinet`
driver, the cabinet emulator in its own process and mosquitto. 抄报 then 清卡 of four devices ends
with their periods done; 重新上电 restarts a port through the cabinet."""

import datetime as dt
import shutil
import socket
from pathlib import Path

import pytest
import yaml

from apps.core import clock
from apps.devices.models import Device
from apps.jobs.requesting import request_jobs
from apps.periods.models import Period
from tests.factories import make_agent

from .conftest import device_spec, register_clients, wait_for_jobs
from .processes import BIN, wait_until

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto is not installed"),
]
TERMINAL = "101234567801"
NOV = dt.date(2026, 11, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def start_cabinet(stack, specs) -> str:
    """mosquitto and the emulator holding `specs` on one terminal; returns the broker's URL."""
    port = free_port()
    conf = stack.tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
    stack.start("mosquitto", [MOSQUITTO, "-c", str(conf)], stack.site_env)
    wait_until(lambda: port_answers(port), timeout=10, what="mosquitto")
    devices = [
        {
            "usb_port": n,
            "plate_num": s["device_number"],
            "kind": s["kind"],
            "zxbsrq": "2026-11-02",
            "kpjzsj": "2026-12-15",
        }
        for n, s in enumerate(specs, start=1)
    ]
    cabinet = stack.tmp_path / "cabinet.yaml"
    cabinet.write_text(yaml.safe_dump({"terminals": [{"ter_id": TERMINAL, "ports": 8, "devices": devices}]}))
    url = f"mqtt://127.0.0.1:{port}"
    python = str(BIN / "python")
    stack.start(
        "emulator",
        [python, "-m", "qingka_agent.cabinet_emulator", "--broker", url, "--cabinet", str(cabinet)],
        stack.site_env,
    )
    return url


@pytest.mark.clock("2026-12-03T09:00:00+08:00")
def test_month_end_through_a_cabinet_over_mqtt(stack):
    specs = [device_spec(100 + n, kind=("tax_disk", "ukey", "golden_tax_disk", "tax_disk")[n]) for n in range(4)]
    devices = register_clients([{**spec, "name": f"机柜客户{n}"} for n, spec in enumerate(specs)])
    broker = start_cabinet(stack, specs)
    agent, token = make_agent("mqtt-cabinet")
    env = {
        **stack.site_env,
        "QINGKA_SITE_URL": stack.site_url,
        "QINGKA_AGENT_TOKEN": token,
        "QINGKA_BROKER_URL": stack.site_env["REDIS_URL"],
        "QINGKA_DRIVERS": "cabinet",
        "QINGKA_CABINET_BROKER_URL": broker,
        "QINGKA_CABINET_TERMINALS": TERMINAL,
        "QINGKA_CABINET_SIMULATED": "true",
        "QINGKA_CABINET_TIMEOUT": "5",
        "QINGKA_STATE_DIR": str(stack.tmp_path / "agent-state"),
        "QINGKA_HEARTBEAT_SECONDS": "1",
        "QINGKA_SCAN_SECONDS": "1",
    }
    stack.start("agent", [str(BIN / "qingka-agent"), "run"], env)
    wait_until(
        lambda: Device.objects.filter(agent=agent, present=True).count() == 4, timeout=30, what="the cabinet's devices"
    )
    devices = list(Device.objects.filter(pk__in=[d.pk for d in devices]).select_related("agent", "client"))

    periods = []
    for device in devices:
        period = Period.for_client(device.client, NOV)
        period.return_filed_on = clock.today()
        period.save()
        periods.append(period)
    jobs = []
    for device, period in zip(devices, periods, strict=True):
        created, skipped = request_jobs("upload_summary", [device], period=period)
        assert not skipped, skipped
        jobs += created
    finished = wait_for_jobs(jobs, timeout=40)
    assert [(j.state, j.error_code) for j in finished] == [("succeeded", "")] * 4, stack.logs()
    # The cabinet has one command for both steps (cbjkxxhc): with the return filed, the 抄报 cleared
    # too, the reading after it says so, and the periods are done; a 清卡 is then refused as done.
    for device, period in zip(devices, periods, strict=True):
        period.refresh_from_db()
        assert period.status() == "done", (period, period.status())
        assert request_jobs("clear", [device], period=period) == ([], [(device, "本期已完成")])
    for device in devices:
        device.refresh_from_db()
        assert device.monitoring["kpjzsj"] == "2027-01-15"

    (power,), skipped = request_jobs("power_cycle", [devices[0]])
    assert not skipped
    (done,) = wait_for_jobs([power], timeout=20)
    assert (done.state, done.error_code) == ("succeeded", ""), stack.logs()
