"""The agent's Celery app and its one task, `qingka.run_job(job_id, attempt, signature)`.

A message only says "look at job N, attempt A": the job itself, with the passwords, comes from
the claim call, and nothing touches a device before that claim succeeded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from celery import Celery

from . import broker, clock
from .client import NotClaimable, NotFound, SiteClient, SiteError, SiteUnreachable
from .config import Config
from .drivers.base import (
    DEVICE_MISSING,
    DEVICE_NOT_STARTED,
    DRIVER_ERROR,
    ERROR_CODES,
    TIMEOUT,
    DeviceError,
    Driver,
    Secrets,
)
from .inventory import Inventory
from .outbox import Outbox
from .paging import paged
from .power import Power
from .signing import verify

log = logging.getLogger(__name__)

broker.install()  # a bad item on the queue is dropped, not the end of the worker
app = Celery("qingka_agent")
app.conf.update(
    broker_url="redis://127.0.0.1:6379/0",
    result_backend=None,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_pool="threads",
    worker_concurrency=4,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,  # the CLI sets up plain one-line logging
    # No broadcast commands: the agent's Redis user has no pub/sub channel (apps/devices/broker.py),
    # and an agent must not be able to stop or reconfigure another through celery.pidbox.
    worker_enable_remote_control=False,
    worker_send_task_events=False,
)

KINDS = (
    "read_status",
    "upload_summary",
    "clear",
    "upload_and_clear",
    "query_invoices",
    "power_cycle",
    "upload_offline",
)
# A device that did not start or did not answer is power-cycled (when the agent can) and tried once more.
POWER_CYCLE_ON = (DEVICE_NOT_STARTED, TIMEOUT)
CLAIMS_PER_CALL = 100  # the site's limit


def agent_transport_options(queue: str) -> dict:
    """kombu keeps unacked messages in one hash for every consumer of a database; the agent keeps
    its own under its queue's name, the only keys its Redis user may touch."""
    return {
        "unacked_key": f"{queue}.unacked",
        "unacked_index_key": f"{queue}.unacked_index",
        "unacked_mutex_key": f"{queue}.unacked_mutex",
    }


def configure(config: Config, queue: str | None = None) -> None:
    app.conf.update(broker_url=config.broker_url, worker_concurrency=config.concurrency)
    if queue:
        app.conf.broker_transport_options = agent_transport_options(queue)


def _now() -> str:
    return clock.now().isoformat()


def _month(iso: str) -> tuple[int, int]:
    year, month = iso[:7].split("-")
    return int(year), int(month)


def _cleared(monitoring: dict[str, Any], period: str) -> bool:
    """清卡 for `period` happened: kpjzsj has moved past the month after the period."""
    year, month = _month(period)
    following = (year + month // 12, month % 12 + 1)
    return bool(monitoring.get("kpjzsj")) and _month(monitoring["kpjzsj"]) > following


def _summarised(monitoring: dict[str, Any], period: str) -> bool:
    """抄报 for `period` happened: the latest 抄报 is from after the period (or it is cleared)."""
    zxbsrq = monitoring.get("zxbsrq") or ""
    return _cleared(monitoring, period) or (bool(zxbsrq) and _month(zxbsrq) > _month(period))


def _failed(
    code: str, message: str, raw_code: str | None = None, monitoring: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "outcome": "failed",
        "already_done": False,
        "error_code": code,
        "raw_code": raw_code,
        "message": message,
        "monitoring": monitoring,
    }


def _succeeded(monitoring: dict[str, Any], already_done: bool = False, raw_code: str | None = None) -> dict[str, Any]:
    return {
        "outcome": "succeeded",
        "already_done": already_done,
        "error_code": None,
        "raw_code": raw_code,
        "message": "",
        "monitoring": monitoring,
    }


def _operate(
    driver: Driver,
    kind: str,
    number: str,
    period: str | None,
    secrets: Secrets,
    known: dict[str, Any] | None,
    query: dict[str, str] | None = None,
    power: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """_attempt, and when it failed with DEVICE_NOT_STARTED or TIMEOUT and the agent can power-cycle
    the device (power), 重新上电 and one more attempt, which reads the device first: a step the first
    attempt did after all is then seen done, not repeated. 重新上电 (`power_cycle`) is a job too."""
    if kind == "power_cycle":
        return _power_cycle(driver, number, secrets, power)
    result = _attempt(driver, kind, number, period, secrets, known, query)
    if result["outcome"] == "failed" and result["error_code"] in POWER_CYCLE_ON and power is not None:
        log.warning("device %s: %s failed with %s; 重新上电 and one retry", number, kind, result["error_code"])
        try:
            power(number)
        except DeviceError as exc:
            log.warning("device %s: 重新上电 failed (%s); no retry", number, exc)
            return result
        except Exception:
            log.exception("device %s: 重新上电 failed in the driver; no retry", number)
            return result
        result = _attempt(driver, kind, number, period, secrets, None, query)
    return result


def _power_cycle(driver: Driver, number: str, secrets: Secrets, power: Callable[[str], None] | None) -> dict[str, Any]:
    """重新上电, then the device read again: its reading after the restart is the result."""
    if power is None:
        return _failed(DRIVER_ERROR, "本前置机无法给该设备重新上电（驱动不支持，也未配置 uhubctl）")
    try:
        power(number)
        return _succeeded(driver.read_status(number, secrets))
    except Exception as exc:
        return _raised(exc, number, "power_cycle")


def _attempt(
    driver: Driver,
    kind: str,
    number: str,
    period: str | None,
    secrets: Secrets,
    known: dict[str, Any] | None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one job on its device; always returns the result fields, never raises.

    A step the device already did for this period is skipped, not repeated. Whether it did is
    known from its latest reading (`known`: the last scan's or the last operation's); only without
    one is the device read first. A reading can only be behind the device, never ahead of it (a
    clear does not come undone), and a device reports a repeated 抄报 or 清卡 as already done, so
    acting on an old reading repeats nothing: 抄报并清卡 costs two device operations, not three.
    发票查询 (`query`: a month, or a code and number) reads the device's invoices and changes nothing."""
    monitoring = None
    try:
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        if kind == "query_invoices":
            answer = driver.query_invoices(number, secrets, query or {})
            monitoring = {k: v for k, v in answer.items() if k not in ("invoices", "already_done", "raw_code")}
            return {**_succeeded(monitoring), "invoices": answer.get("invoices") or []}
        if kind == "upload_offline":  # 上传离线发票, whatever the period: the invoices still only on the device
            answer = driver.upload_offline(number, secrets)
            monitoring = {k: v for k, v in answer.items() if k not in ("already_done", "raw_code")}
            return _succeeded(monitoring, bool(answer.get("already_done")), answer.get("raw_code"))
        if kind == "read_status" or not known:
            monitoring = known = driver.read_status(number, secrets)
        steps = []
        if kind != "read_status":
            if period is None:
                raise ValueError(f"a {kind} job without its period")
            if kind in ("upload_summary", "upload_and_clear") and not _summarised(known, period):
                steps.append(partial(driver.upload_summary, number, period, secrets))
            if kind in ("clear", "upload_and_clear") and not _cleared(known, period):
                steps.append(partial(driver.clear, number, period, secrets))
        already_done, raw_code, summary = kind != "read_status", None, None
        monitoring = monitoring or known
        for step in steps:
            monitoring = step()
            summary = monitoring.get("summary", summary)  # what 抄报 uploaded, kept past the clear after it
            # A repeat the device reports as success comes with already_done and its code (195, …).
            already_done = already_done and bool(monitoring.get("already_done"))
            raw_code = monitoring.get("raw_code") or raw_code
        monitoring = {k: v for k, v in monitoring.items() if k not in ("already_done", "raw_code", "summary")}
        if summary is not None:
            monitoring["summary"] = summary
        return _succeeded(monitoring, already_done, raw_code)
    except Exception as exc:
        return _raised(exc, number, kind, monitoring)


def _raised(exc: Exception, number: str, kind: str, monitoring: dict[str, Any] | None = None) -> dict[str, Any]:
    """The result of an operation that raised (called in its except block): a device's own error by
    its code (DRIVER_ERROR for one outside the catalogue), anything else a logged DRIVER_ERROR;
    `monitoring` the reading taken before, where the error brings none."""
    if isinstance(exc, DeviceError):
        code = exc.code if exc.code in ERROR_CODES else DRIVER_ERROR
        return _failed(
            code, exc.message or str(exc), exc.raw_code, exc.monitoring if exc.monitoring is not None else monitoring
        )
    log.exception("device %s: %s failed in the driver", number, kind)
    return _failed(DRIVER_ERROR, f"{type(exc).__name__}: {exc}", monitoring=monitoring)


class Claims:
    """The claims of the messages being handled, sent together by one thread while each task's
    thread waits for its own job. Claims made while a call is under way go in the next, so a busy
    agent claims many jobs per call and an idle one claims each at once, without waiting."""

    def __init__(self, client: SiteClient):
        self._client = client
        self._waiting: list[tuple[int, int, Future]] = []
        self._ready = threading.Condition()
        threading.Thread(target=self._run, name="claims", daemon=True).start()

    def claim(self, job_id: int, attempt: int) -> dict:
        """The job, claimed; raises what the site answered for it (NotClaimable, SiteUnreachable …)."""
        future: Future = Future()
        with self._ready:
            self._waiting.append((job_id, attempt, future))
            self._ready.notify()
        return future.result()

    def _next_call(self) -> list[tuple[int, int, Future]]:
        """The claims for the next call: oldest first, one per job (the site answers per job)."""
        with self._ready:
            self._ready.wait_for(lambda: self._waiting)
            batch: list[tuple[int, int, Future]] = []
            later: list[tuple[int, int, Future]] = []
            jobs: set[int] = set()
            for claim in self._waiting:
                if len(batch) < CLAIMS_PER_CALL and claim[0] not in jobs:
                    batch.append(claim)
                    jobs.add(claim[0])
                else:
                    later.append(claim)
            self._waiting = later
            return batch

    def _run(self) -> None:
        while True:
            batch = self._next_call()
            try:
                claimed, refused = self._client.claim({job_id: attempt for job_id, attempt, _ in batch})
            except Exception as exc:
                for _, _, future in batch:
                    future.set_exception(exc)
                continue
            for job_id, _, future in batch:
                if job_id in claimed:
                    future.set_result(claimed[job_id])
                else:
                    future.set_exception(refused.get(job_id) or SiteError("the site's answer left this claim out"))


class Agent:
    """Everything a job needs inside the running agent; set once with install()."""

    def __init__(
        self,
        client: SiteClient,
        outbox: Outbox,
        inventory: Inventory,
        signing_key: bytes,
        power: Power | None = None,
        result_pages: dict[str, int] | None = None,
    ):
        self.client = client
        self.result_pages = result_pages  # what the site's me/ says it takes in pages (None: no pages)
        self.power = power or Power()
        self.outbox = outbox
        self.inventory = inventory
        self.signing_key = signing_key
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._working: set[int] = set()  # claimed jobs whose result is not in the outbox yet
        self._claims = Claims(client)
        # Results go out from a thread of their own: a task's slot takes the next job as soon as
        # its result is safe in the outbox, and the results stored meanwhile go in one call.
        self._stored = threading.Event()
        threading.Thread(target=self._send_results, name="results", daemon=True).start()

    def _device_lock(self, number: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(number, threading.Lock())

    def working(self) -> list[int]:
        """Jobs claimed and not yet reported: the heartbeat keeps their leases running."""
        with self._locks_guard:
            return sorted(self._working | self.outbox.waiting())

    def busy(self) -> set[str]:
        """Device numbers with an operation running now."""
        with self._locks_guard:
            return {number for number, lock in self._locks.items() if lock.locked()}

    def handle(self, job_id: int, attempt: int, signature: str) -> None:
        """Raises SiteUnreachable only when the claim could not reach the site (retry later)."""
        if not verify(self.signing_key, job_id, attempt, signature):
            log.warning("job %s attempt %s: bad signature, message dropped", job_id, attempt)
            return
        try:
            job = self._claims.claim(job_id, attempt)
        except (NotClaimable, NotFound) as exc:
            log.info("job %s attempt %s: not claimable (%s), message dropped", job_id, attempt, exc)
            return
        except SiteUnreachable:
            raise
        except SiteError as exc:
            log.error("job %s attempt %s: claim refused (%s), message dropped", job_id, attempt, exc)
            return
        with self._locks_guard:
            self._working.add(job_id)
        try:
            self._work(job_id, attempt, job)
        finally:
            with self._locks_guard:
                self._working.discard(job_id)
        self._stored.set()

    def _send_results(self) -> None:
        while True:
            self._stored.wait()
            self._stored.clear()
            self.drain()

    def drain(self) -> None:
        """Sends what waits in the outbox now (the sender thread, tests, and a clean stop)."""
        try:
            self.outbox.flush(self.client)
        except Exception:  # it stays in the outbox; the next flush sends it
            log.exception("sending results failed")

    def _work(self, job_id: int, attempt: int, job: dict) -> None:
        started_at = _now()
        device = job["device"]
        number, kind, period = device["number"], job["kind"], job.get("period")
        secrets = Secrets(
            certificate_password=device.pop("certificate_password", "") or "",
            device_password=device.pop("device_password", "") or "",
        )
        log.info("job %s attempt %s device %s: claimed, %s %s", job_id, attempt, number, kind, period or "")
        driver = self.inventory.driver_for(number)
        if driver is None:
            result = _failed(DEVICE_MISSING, "设备未连接到本前置机")
        else:
            with self._device_lock(number):
                known = self.inventory.reading_of(number)
                power = self.power.switch_for(driver, self.inventory.slot_of(number))
                result = _operate(driver, kind, number, period, secrets, known, job.get("query"), power)
            if result.get("monitoring"):
                self.inventory.remember(number, result["monitoring"])
        entries = paged(
            {"attempt": attempt, **result, "started_at": started_at, "finished_at": _now()}, self.result_pages
        )
        result = entries[0]
        if result["outcome"] == "succeeded":
            log.info(
                "job %s attempt %s device %s: succeeded%s%s",
                job_id,
                attempt,
                number,
                " (already done)" if result["already_done"] else "",
                f", its result in {len(entries)} pages" if len(entries) > 1 else "",
            )
        else:
            log.warning(
                "job %s attempt %s device %s: failed %s%s %s",
                job_id,
                attempt,
                number,
                result["error_code"],
                f" ({result['raw_code']})" if result["raw_code"] else "",
                result["message"],
            )
        self.outbox.put(job_id, attempt, *entries)


_agent: Agent | None = None


def install(agent: Agent) -> None:
    global _agent
    _agent = agent


@app.task(name="qingka.run_job", bind=True, max_retries=None)
def run_job(self, job_id: int, attempt: int, signature: str) -> None:
    if _agent is None:
        raise RuntimeError("qingka.run_job runs only inside `qingka-agent run`")
    try:
        _agent.handle(job_id, attempt, signature)
    except SiteUnreachable as exc:
        countdown = min(300, 5 * 2**self.request.retries)
        log.warning(
            "job %s attempt %s: site unreachable for the claim (%s), retry in %ss", job_id, attempt, exc, countdown
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
