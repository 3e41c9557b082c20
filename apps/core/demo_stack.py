"""The demo's moving parts: an agent holding a simulated cabinet of the demo clients' devices,
the rq worker and the sweeper, each a child process of `manage.py demo`."""

import os
import subprocess
import sys
from pathlib import Path

import redis
from django.conf import settings

from apps.core.demo import DEMO_AGENT, cabinet_path
from apps.devices.models import Agent


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
    cabinet = cabinet_path()  # written by the seed, to match the demo data
    agent, token = demo_agent()
    python = sys.executable
    agent_env = {
        **os.environ,
        "QINGKA_SITE_URL": site_url,
        "QINGKA_AGENT_TOKEN": token,
        "QINGKA_BROKER_URL": settings.CELERY_BROKER_URL,
        "QINGKA_DRIVERS": "simulated",
        "QINGKA_SIM_DEVICES": str(cabinet),
        "QINGKA_STATE_DIR": str(cabinet.parent / "agent-state"),
    }
    commands = [
        ([python, "manage.py", "rqworker", "default"], os.environ),
        ([python, "manage.py", "run_sweeper"], os.environ),
        ([str(Path(python).parent / "qingka-agent"), "run"], agent_env),
    ]
    return [subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env) for argv, env in commands]
