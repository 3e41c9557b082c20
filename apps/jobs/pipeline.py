"""The device-job pipeline, site side (docs/agent-protocol.md).

The job row is the truth (NetBox): a Celery message carries only (job id, attempt, signature) and
is sent after the transaction that queued the job commits. The agent claims before it touches a
device and reports a result that this module applies in one transaction. The server decides
(LAVA): whether a failure is retried, when, and what the period and the device's health become.
"""

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from apps.audit import log
from apps.core import clock
from apps.devices.models import Device, Health
from apps.devices.rules import shows_cleared, shows_summarised
from config.celery import app as celery_app

from .errors import DEVICE_LOCKED, RETRY, error_info
from .models import ACTIVE_STATES, Job, JobKind, JobState

logger = logging.getLogger(__name__)
TASK_NAME = "qingka.run_job"
BAD_AFTER_FAILURES = 3  # consecutive failed jobs that make a device's health bad
SUMMARY_KINDS = (JobKind.UPLOAD_SUMMARY, JobKind.UPLOAD_AND_CLEAR)
CLEAR_KINDS = (JobKind.CLEAR, JobKind.UPLOAD_AND_CLEAR)


class NotFound(Exception):
    """Not this agent's job (or no such job): 404."""


class NotClaimable(Exception):
    """Not queued, or another attempt: 409."""


# --- asking for jobs ---------------------------------------------------------------------------


def unschedulable_reason(device: Device) -> str | None:
    """Why a new job cannot go to this device now, or None."""
    if device.health != Health.GOOD:
        return _("设备健康状况为“%(health)s”") % {"health": device.get_health_display()}
    agent = device.agent
    if agent is None:
        return _("设备未分配前置机")
    if not agent.enabled or agent.health != Health.GOOD:
        return _("前置机“%(agent)s”已停用或不可用") % {"agent": agent}
    if not agent.online:
        return _("前置机“%(agent)s”离线") % {"agent": agent}
    if not device.present:
        return _("设备不在位（未插入前置机）")
    return None


def request_jobs(kind: str, devices, *, period=None, user=None, run_after=None, request=None, batch=None):
    """Creates one job per device that can take one; returns (jobs, [(device, reason), …])."""
    now = clock.now()
    jobs, skipped = [], []
    for device in devices:
        reason = unschedulable_reason(device)
        if (
            reason is None
            and Job.objects.filter(device=device, kind=kind, period=period, state__in=ACTIVE_STATES).exists()
        ):
            reason = _("该设备已有同类任务在进行中")
        if reason:
            skipped.append((device, reason))
            continue
        job = Job.objects.create(
            kind=kind, device=device, period=period, requested_by=user, run_after=run_after or now, batch=batch
        )
        log.record(
            "job.requested",
            job,
            user=user,
            request=request,
            simulated=device.simulated,
            after={"kind": kind, "period": str(period) if period else None, "run_after": job.run_after},
        )
        if job.run_after <= now:
            queue(job, now)
        jobs.append(job)
    return jobs, skipped


# --- queue and messages ------------------------------------------------------------------------


def queue(job: Job, now: dt.datetime) -> bool:
    """One more attempt: the job is queued now and its message sent once this transaction commits."""
    moved = job.move(
        JobState.QUEUED, attempts=job.attempts + 1, queued_at=now, last_sent_at=None, lease_expires_at=None
    )
    if moved:
        transaction.on_commit(partial(send_message, job.pk))
    return moved


def send_message(job_id: int) -> bool:
    """Sends the message of a queued job to its agent's queue. A broker that is away is not
    fatal: the sweeper sends again what was never sent."""
    job = Job.objects.select_related("device__agent").filter(pk=job_id, state=JobState.QUEUED).first()
    if job is None or job.device.agent is None:
        return False
    agent = job.device.agent
    try:
        celery_app.send_task(
            TASK_NAME, args=[job.pk, job.attempts, agent.sign(job.pk, job.attempts)], queue=agent.queue_name
        )
    except Exception:  # the broker's many connection errors; the row stays the truth
        logger.exception("job %s: message to %s not sent, the sweeper will retry", job.pk, agent.queue_name)
        return False
    Job.objects.filter(pk=job.pk, state=JobState.QUEUED, attempts=job.attempts).update(last_sent_at=clock.now())
    return True


def retry_delay(attempts: int) -> dt.timedelta:
    base = settings.QINGKA_RETRY_BASE_SECONDS
    return dt.timedelta(seconds=min(600, base * 2 ** (attempts - 1)))


# --- the agent's calls ------------------------------------------------------------------------


def claim(agent, job_id: int, attempt: int) -> Job:
    """Only a queued job of this agent's device, at its current attempt; the agent gets a lease."""
    job = (
        Job.objects.select_related("device", "period", "device__client").filter(pk=job_id, device__agent=agent).first()
    )
    if job is None:
        raise NotFound(job_id)
    if job.state != JobState.QUEUED or job.attempts != attempt:
        raise NotClaimable(f"job {job_id} is {job.state} at attempt {job.attempts}, not queued at {attempt}")
    now = clock.now()
    if not job.move(
        JobState.RUNNING, started_at=now, lease_expires_at=now + dt.timedelta(seconds=settings.QINGKA_JOB_LEASE_SECONDS)
    ):
        raise NotClaimable(f"job {job_id} was taken meanwhile")
    log.record(
        "job.started",
        job,
        agent=agent,
        source=agent.hostname,
        simulated=job.device.simulated,
        after={"attempt": attempt},
    )
    return job


@transaction.atomic
def accept_result(agent, job_id: int, result: dict) -> Job:
    """Applies one result. Idempotent on (job, attempt): a second copy changes nothing."""
    job = (
        Job.objects.select_for_update(of=("self",))
        .select_related("device__client", "period", "device__agent")
        .filter(pk=job_id, device__agent=agent)
        .first()
    )
    if job is None:
        raise NotFound(job_id)
    attempt = result.get("attempt")
    if job.attempts != attempt or job.state in (JobState.QUEUED, JobState.CANCELLED):
        raise NotClaimable(
            f"job {job_id} is {job.state} at attempt {job.attempts}; result of attempt {attempt} is stale"
        )
    if job.state != JobState.RUNNING:
        return job  # this attempt's result was applied before
    now = clock.now()
    device = job.device
    if result.get("monitoring"):
        device.save(update_fields=device.take_reading(result["monitoring"], now))
    if result.get("error_code") == DEVICE_LOCKED and not device.locked_reported:
        device.locked_reported = True
        device.save(update_fields=["locked_reported"])
        log.record(
            "device.locked",
            device,
            agent=agent,
            source=agent.hostname,
            simulated=device.simulated,
            after={"locked_reported": True, "raw_code": result.get("raw_code") or ""},
        )
    stored = {
        k: result.get(k)
        for k in (
            "attempt",
            "outcome",
            "already_done",
            "error_code",
            "raw_code",
            "message",
            "started_at",
            "finished_at",
        )
    }
    audit = partial(log.record, agent=agent, source=agent.hostname, simulated=device.simulated)
    if result.get("outcome") == "succeeded":
        job.move(
            JobState.SUCCEEDED,
            finished_at=now,
            lease_expires_at=None,
            already_done=bool(result.get("already_done")),
            error_code="",
            raw_code=result.get("raw_code") or "",
            error_message="",
            result=stored,
        )
        audit("job.succeeded", job, after=stored)
    else:
        code = result.get("error_code") or "DRIVER_ERROR"
        info = error_info(code)
        failure = {
            "lease_expires_at": None,
            "error_code": code,
            "raw_code": result.get("raw_code") or "",
            "error_message": result.get("message") or str(info.message),
            "result": stored,
        }
        if info.retry == RETRY and job.attempts < job.max_attempts:
            job.move(JobState.SCHEDULED, run_after=now + retry_delay(job.attempts), **failure)
            audit("job.retry_scheduled", job, after={**stored, "run_after": job.run_after})
        else:
            job.move(JobState.FAILED, finished_at=now, **failure)
            audit("job.failed", job, after={**stored, "remedy": str(info.remedy)})
            _judge_device_health(device, audit)
    if job.period_id:
        _update_period(job, audit)
    return job


def _judge_device_health(device: Device, audit) -> None:
    """Repeated failures make a good device bad; a person sets it good again."""
    last = list(
        Job.objects.filter(device=device, state__in=(JobState.SUCCEEDED, JobState.FAILED))
        .order_by("-finished_at")
        .values_list("state", flat=True)[:BAD_AFTER_FAILURES]
    )
    if device.health == Health.GOOD and last == [JobState.FAILED] * BAD_AFTER_FAILURES:
        Device.objects.filter(pk=device.pk, health=Health.GOOD).update(health=Health.BAD)
        audit("device.health_bad", device, before={"health": Health.GOOD}, after={"health": Health.BAD})


def _update_period(job: Job, audit) -> None:
    """The period follows its devices: summarised or cleared when every device of the client is
    (main and sub devices alike). Whether it is locked is the devices' own word (Device.lock_state)."""
    period = job.period
    devices = list(job.device.client.devices.all())
    succeeded = job.state == JobState.SUCCEEDED

    def done(device, kinds, shows, field):
        if device.pk == job.device_id and succeeded and job.kind in kinds:
            return True
        return shows(period.month, device.monitoring_date(field))

    changes = {}
    if period.summary_uploaded_at is None and all(
        done(d, SUMMARY_KINDS + CLEAR_KINDS, shows_summarised, "zxbsrq") for d in devices
    ):
        changes["summary_uploaded_at"] = clock.now()
    if period.cleared_at is None and all(done(d, CLEAR_KINDS, shows_cleared, "kpjzsj") for d in devices):
        changes["cleared_at"] = clock.now()
    if not changes:
        return
    before = {name: getattr(period, name) for name in changes}
    for name, value in changes.items():
        setattr(period, name, value)
    period.save(update_fields=[*changes, "updated_at"])
    actions = {"summary_uploaded_at": "period.summary_uploaded", "cleared_at": "period.cleared"}
    for name in changes:
        audit(actions[name], period, before={name: before[name]}, after={name: changes[name]})


def retry_failed(job: Job) -> bool:
    """A person retries a failed job: a fresh round of attempts, queued now."""
    now = clock.now()
    if not job.move(
        JobState.SCHEDULED,
        run_after=now,
        finished_at=None,
        max_attempts=job.attempts + Job._meta.get_field("max_attempts").default,
    ):
        return False
    return queue(job, now)
