"""`qingka-agent run`: learn the queue from the site, keep the inventory and heartbeats going in a
background thread, and consume the agent's own queue with a Celery worker in the foreground."""

from __future__ import annotations

import gc
import logging
import signal
import socket
import sys
import threading
import time

from . import __version__, worker
from .client import SiteClient, SiteError, Unauthorised
from .config import Config
from .inventory import Inventory, build_drivers, identity
from .outbox import Outbox
from .power import Power
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


FULL_EVERY = 60.0  # seconds between full heartbeats
# Of the agent's time, at most this share goes to scanning: a cabinet whose scan takes longer than
# scan_seconds × SCAN_SHARE is scanned less often. A scan is pure Python over every device, and the
# job threads wait behind it (a 2,000-device simulated cabinet: 20 to 30 ms, agent_scan_ms in
# docs/benchmarks.md, and longer while jobs run).
SCAN_SHARE = 0.005
STATE_FIELDS = ("slot", "kind", "driver", "device_number", "simulated", "busy", "usb")


class Reported:
    """What the site has of the devices, so that a heartbeat carries only what changed.

    A full heartbeat carries every device with its reading: the first, one a minute, one after a
    device was plugged in or pulled out, and every one to a site that takes no partial heartbeats.
    In between, a partial heartbeat carries only the devices whose state (busy, slot, …) changed,
    and their reading when it changed in more than the device's clock: a full heartbeat of 600
    devices takes the site about 60 ms (docs/benchmarks.md, heartbeat_600_p95), every 3 s."""

    def __init__(self, partial_allowed: bool = False):
        self.partial_allowed = partial_allowed
        self.site_has: dict[tuple, tuple] | None = None  # identity → (state, reading without its clock)
        self.full_at = 0.0
        # id(reading) → (reading, without its clock), of the last heartbeat's rows. Between two scans
        # the rows hold the same readings (a scan makes new ones, nothing changes one in place): each
        # is copied without its clock once and compared by identity, not key by key, which was most
        # of the time a 2,000-device cabinet's heartbeat took.
        self._readings: dict[int, tuple[dict, dict]] = {}

    def _reading(self, monitoring: dict | None, readings: dict[int, tuple[dict, dict]]) -> dict | None:
        if monitoring is None:
            return None
        kept = self._readings.get(id(monitoring))
        if kept is None or kept[0] is not monitoring:  # holding the reading keeps its id from being reused
            kept = (monitoring, _without_clock(monitoring))
        readings[id(monitoring)] = kept
        return kept[1]

    def prepare(self, rows: list[dict]) -> tuple[list[dict], bool, dict[tuple, tuple]]:
        """(the rows to send, whether they are all of them, what the site has once it took them)."""
        # A list as long as rows, so that two rows with one identity (two drivers told of one
        # slot) cannot shift the rows against their entries.
        readings: dict[int, tuple[dict, dict]] = {}
        entries = [
            (identity(row), (tuple(map(row.get, STATE_FIELDS)), self._reading(row.get("monitoring"), readings)))
            for row in rows
        ]
        self._readings = readings
        now = dict(entries)
        site_has = self.site_has
        full = (
            not self.partial_allowed
            or site_has is None
            or time.monotonic() - self.full_at >= FULL_EVERY
            or now.keys() != site_has.keys()
        )
        if full or site_has is None:
            return rows, True, now
        sent = []
        for row, (key, (state, reading)) in zip(rows, entries, strict=True):
            had_state, had_reading = site_has[key]
            if reading is not had_reading and reading != had_reading:
                sent.append(row)
            elif state != had_state:
                sent.append(dict(row, monitoring=None))
        return sent, False, now

    def delivered(self, site_has: dict[tuple, tuple], full: bool) -> None:
        self.site_has = site_has
        if full:
            self.full_at = time.monotonic()


def _without_clock(monitoring: dict) -> dict:
    return {k: v for k, v in monitoring.items() if k != "clock"}


def heartbeat(agent: worker.Agent, reported: Reported) -> None:
    busy = agent.busy()
    devices = [dict(row, busy=row["busy"] or row["device_number"] in busy) for row in agent.inventory.rows]
    devices, full, site_has = reported.prepare(devices)
    agent.client.heartbeat(
        __version__,
        socket.gethostname(),
        devices,
        jobs=agent.working(),
        parked=agent.outbox.parked(),
        changed_only=not full,
    )
    reported.delivered(site_has, full)


def background(agent: worker.Agent, config: Config, stop: threading.Event, reported: Reported | None = None) -> None:
    """Scan every scan_seconds, or less often when a scan takes more than SCAN_SHARE of that;
    heartbeat on a change and at least every heartbeat_seconds; after each heartbeat that reached
    the site, send what waits in the outbox."""
    next_scan = next_beat = 0.0
    site_up = None
    reported = reported or Reported()
    while True:
        try:
            now = time.monotonic()
            changed = False
            if now >= next_scan:
                changed = agent.inventory.scan()
                next_scan = now + max(config.scan_seconds, (time.monotonic() - now) / SCAN_SHARE)
            if changed or now >= next_beat:
                next_beat = now + config.heartbeat_seconds
                try:
                    heartbeat(agent, reported)
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
    # A job's thread gives the GIL up at each of its many waits on the network; taking it back
    # behind a scan (pure Python over every device) cost up to the default 5 ms each time.
    sys.setswitchinterval(0.001)
    # Until Celery installs its own warm-shutdown handler, SIGTERM just ends the process cleanly.
    signal.signal(signal.SIGTERM, _exit)
    client = SiteClient(config.site_url, config.token)
    stop = threading.Event()
    thread = agent = None
    try:
        inventory = Inventory(build_drivers(config))
        me = wait_for_site(client)
        log.info("agent %s (%s) at %s, queue %s", me["id"], me["name"], config.site_url, me["queue"])
        agent = worker.Agent(
            client,
            Outbox(config.state_dir / "outbox.sqlite3"),
            inventory,
            signing_key(config.token),
            Power(config.uhubctl, config.power_settle),
            result_pages=me.get("result_pages"),
        )
        inventory.scan()
        worker.install(agent)
        worker.configure(config, me["queue"])
        reported = Reported(partial_allowed=me.get("partial_heartbeats", False))
        thread = threading.Thread(
            target=background, args=(agent, config, stop, reported), name="inventory", daemon=True
        )
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
        # What is loaded by now lives as long as the agent: frozen, a full collection no longer walks
        # it. Those walks stopped every thread of the agent at once, and were the tail of the latency.
        gc.freeze()
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
