"""`qingka-agent run`: learn the queue from the site, keep the inventory and heartbeats going in a
background thread, and consume the agent's own queue with a Celery worker in the foreground."""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import socket
import threading
import time

from . import __version__, worker
from .client import SiteClient, SiteError, Unauthorised
from .config import Config
from .inventory import Inventory, build_drivers
from .outbox import Outbox
from .signing import signing_key

log = logging.getLogger(__name__)


class Fatal(Exception):
    """The agent cannot run; the message says why."""


def wait_for_site(client: SiteClient) -> dict:
    delay = 1.0
    while True:
        try:
            return client.me()
        except Unauthorised:
            raise Fatal(
                f"the site {client.site_url} does not accept QINGKA_AGENT_TOKEN; "
                "register the agent again and use the token shown then"
            ) from None
        except SiteError as exc:
            log.warning("site %s does not answer (%s), retry in %.0fs", client.site_url, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 60)


FULL_EVERY = 60.0  # seconds between heartbeats that carry every device's reading


class Readings:
    """What the site has of each device's reading. A heartbeat carries a reading only when it
    changed in more than the device's clock, and every reading once a minute: 2,000 devices'
    monitoring every 3 s was most of what the site had to read."""

    def __init__(self):
        self.sent: dict[str, str] = {}
        self.full_at = 0.0

    def rows(self, rows: list[dict]) -> tuple[list[dict], dict[str, str]]:
        full = time.monotonic() - self.full_at >= FULL_EVERY
        out, digests = [], {}
        for row in rows:
            monitoring = row.get("monitoring")
            if monitoring is not None and row["device_number"]:
                digests[row["device_number"]] = digest = _digest(monitoring)
                if not full and self.sent.get(row["device_number"]) == digest:
                    row = dict(row, monitoring=None)
            out.append(row)
        return out, digests

    def delivered(self, digests: dict[str, str], full: bool) -> None:
        self.sent = digests
        if full:
            self.full_at = time.monotonic()


def _digest(monitoring: dict) -> str:
    content = {k: v for k, v in monitoring.items() if k != "clock"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def heartbeat(agent: worker.Agent, readings: Readings | None = None) -> None:
    busy = agent.busy()
    devices = [dict(row, busy=row["busy"] or row["device_number"] in busy) for row in agent.inventory.rows]
    readings = readings or Readings()
    full = time.monotonic() - readings.full_at >= FULL_EVERY
    devices, digests = readings.rows(devices)
    agent.client.heartbeat(
        __version__, socket.gethostname(), devices, jobs=agent.working(), parked=agent.outbox.parked()
    )
    readings.delivered(digests, full)


def background(agent: worker.Agent, config: Config, stop: threading.Event) -> None:
    """Scan every scan_seconds; heartbeat on a change and at least every heartbeat_seconds;
    after each heartbeat that reached the site, send what waits in the outbox."""
    next_scan = next_beat = 0.0
    site_up = None
    readings = Readings()
    while True:
        try:
            now = time.monotonic()
            changed = False
            if now >= next_scan:
                changed = agent.inventory.scan()
                next_scan = now + config.scan_seconds
            if changed or now >= next_beat:
                next_beat = now + config.heartbeat_seconds
                try:
                    heartbeat(agent, readings)
                except SiteError as exc:
                    if site_up is not False:
                        log.warning("heartbeat failed: %s", exc)
                    site_up = False
                else:
                    if site_up is False:
                        log.info("site answers again")
                    site_up = True
                    agent.outbox.flush(agent.client)
        except Exception:
            log.exception("background loop failed")
        if stop.wait(max(0.0, min(next_scan, next_beat) - time.monotonic())):
            return


def _exit(signum, frame):
    raise SystemExit(0)


def run(config: Config) -> int:
    config.require_site()
    # Until Celery installs its own warm-shutdown handler, SIGTERM just ends the process cleanly.
    signal.signal(signal.SIGTERM, _exit)
    client = SiteClient(config.site_url, config.token)
    stop = threading.Event()
    thread = agent = None
    try:
        inventory = Inventory(build_drivers(config))
        me = wait_for_site(client)
        log.info("agent %s (%s) at %s, queue %s", me["id"], me["name"], config.site_url, me["queue"])
        agent = worker.Agent(client, Outbox(config.state_dir / "outbox.sqlite3"), inventory, signing_key(config.token))
        inventory.scan()
        worker.install(agent)
        worker.configure(config)
        thread = threading.Thread(target=background, args=(agent, config, stop), name="inventory", daemon=True)
        thread.start()
        celery_worker = worker.app.Worker(
            hostname=f"qingka-agent-{me['id']}@{socket.gethostname()}",
            queues=[me["queue"]],
            concurrency=config.concurrency,
            loglevel="INFO",
            quiet=True,
            without_gossip=True,
            without_mingle=True,
        )
        celery_worker.start()
        return celery_worker.exitcode or 0
    finally:
        stop.set()
        if thread:
            thread.join(timeout=10)
        if agent:
            agent.drain()
        client.close()
        log.info("agent stopped")
