"""The demo's moving parts: an agent holding a simulated cabinet of the demo clients' devices,
the rq worker and the sweeper, each a child process of `manage.py demo`."""

import os
import subprocess
import sys
from pathlib import Path

import redis
import yaml
from django.conf import settings

from apps.devices.models import Agent, Device

DEMO_AGENT = "演示前置机"


def write_cabinet(path: Path) -> None:
    """Every demo device in one simulated cabinet; a few carry the faults of real month-ends."""
    devices = []
    for n, device in enumerate(Device.objects.select_related("client").order_by("pk"), start=1):
        spec = {
            "device_number": device.number,
            "kind": device.kind,
            "slot": f"sim-{n}",
            "taxpayer_id": device.client.taxpayer_id,
            "sub_number": device.sub_number,
            "taxpayer_nature": "01" if device.client.taxpayer_kind == "general" else "08",
        }
        if n % 7 == 0:
            spec["transfer_failures"] = 1
        devices.append(spec)
    unfiled = {devices[4]["taxpayer_id"]: []} if len(devices) > 4 else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {"devices": devices, "bureau": {"returns_filed_by_default": True, "unfiled": unfiled}}, allow_unicode=True
        )
    )


def demo_agent() -> tuple[Agent, str]:
    """The demo agent with a new token (only its hash is kept, so each run makes one)."""
    agent = Agent.objects.filter(name=DEMO_AGENT).first() or Agent(name=DEMO_AGENT, location="演示机柜")
    token = agent.set_new_token()
    agent.save()
    return agent, token


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def start_processes(site_url: str) -> list[subprocess.Popen]:
    demo_dir = settings.VAR_DIR / "demo"
    cabinet = demo_dir / "cabinet.yaml"
    write_cabinet(cabinet)
    agent, token = demo_agent()
    python = sys.executable
    agent_env = {
        **os.environ,
        "QINGKA_SITE_URL": site_url,
        "QINGKA_AGENT_TOKEN": token,
        "QINGKA_BROKER_URL": settings.CELERY_BROKER_URL,
        "QINGKA_DRIVERS": "simulated",
        "QINGKA_SIM_DEVICES": str(cabinet),
        "QINGKA_STATE_DIR": str(demo_dir / "agent-state"),
    }
    commands = [
        ([python, "manage.py", "rqworker", "default"], os.environ),
        ([python, "manage.py", "run_sweeper"], os.environ),
        ([str(Path(python).parent / "qingka-agent"), "run"], agent_env),
    ]
    return [subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env) for argv, env in commands]
