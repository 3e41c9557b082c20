"""Asking for device jobs (docs/agent-protocol.md): the one way to make them (a person on the
client page or the API, a batch, the autopilot), to cancel one that has not started and to retry
one that failed. Each asks the one rule (rules.refusal_reason) and owns its audit; the job row is
the truth (NetBox), and its message is sent once the transaction commits (messaging.py)."""

import datetime as dt
import json
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.core.bulk import insert_rows
from apps.devices.errors import error_info
from apps.devices.models import Device
from apps.holds.models import Hold, hold_reason_of
from apps.periods.models import Period

from .messaging import queue, send_rows
from .models import ACTIVE_STATES, NOT_STARTED_STATES, Job, JobKind, JobState, Origin
from .rules import refusal_reason


class Refused(Exception):
    """The job may not be made or moved: the reason is in Chinese, for the person who asked."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Wanted:
    """A job someone (a person, a batch, the cycle) decided to make."""

    kind: str
    device: Device
    period: Period | None = None  # a saved Period, or None for 读取状态 and 发票查询
    run_after: dt.datetime | None = None
    query: dict | None = None  # 发票查询's month, or code and number


def create_jobs(wanted: list[Wanted], *, origin: str, user=None, request=None, batch=None) -> list[Job]:
    """Makes the jobs the caller decided on (it has applied rules.refusal_reason). In a few
    statements whatever the number: the jobs and their audit events inserted in bulk, those due
    now made queued at once and their messages sent together once the transaction commits."""
    now = clock.now()
    jobs = []
    for w in wanted:
        when = w.run_after or now
        due = when <= now
        jobs.append(
            Job(
                kind=w.kind,
                device=w.device,
                period=w.period,
                query=w.query,
                origin=origin,
                requested_by=user,
                run_after=when,
                batch=batch,
                state=JobState.QUEUED if due else JobState.SCHEDULED,
                attempts=1 if due else 0,
                queued_at=now if due else None,
                # Stamped now for the send after the commit: 5,000 rows updated after it cost 0.2 s,
                # and the sweep's resend_lost waits for queued_at to age whether the send went or not.
                last_sent_at=now if due else None,
            )
        )
    insert_rows(jobs)
    _audit_requested(jobs, origin, user, request)
    # Their rows are not read again to send them: a job cancelled, or a device moved, meanwhile is
    # refused at its claim, and the sweep sends again a queued job that no agent claimed.
    queued = [
        (job.pk, job.attempts, job.device.agent_id)
        for job in jobs
        if job.state == JobState.QUEUED and job.device.agent_id is not None
    ]
    if queued:
        transaction.on_commit(partial(send_rows, queued, stamp=False))
    return jobs


def _audit_requested(jobs: list[Job], origin: str, user, request) -> None:
    """A job.requested event per job, made by the database from the rows just inserted (one
    INSERT … SELECT: 5,000 events cost what one does in Python), with the fields log.build() gives."""
    if not jobs:
        return
    model = log.build(Action.JOB_REQUESTED, jobs[0], user=user, request=request, client_id=jobs[0].device.client_id)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (created_at, actor_user_id, actor_label, action, object_type, object_id,
                                          object_label, client_id, after, source, simulated)
            SELECT %(now)s, %(user)s, %(actor)s, 'job.requested', 'jobs.job', j.id::text,
                   '#' || j.id || ' ' || (%(kind_labels)s::jsonb ->> j.kind) || ' ' || d.number, d.client_id,
                   jsonb_build_object(
                       'kind', j.kind, 'origin', j.origin, 'run_after', j.run_after, 'query', j.query,
                       'period', CASE WHEN p.id IS NULL THEN NULL ELSE c.name || ' ' || to_char(p.month, 'YYYY-MM') END
                   ),
                   %(source)s, d.simulated
            FROM jobs_job j
            JOIN devices_device d ON d.id = j.device_id
            LEFT JOIN periods_period p ON p.id = j.period_id
            LEFT JOIN clients_client c ON c.id = p.client_id
            WHERE j.id = ANY(%(ids)s)
            ORDER BY j.id
            """,
            {
                "now": model.created_at,
                "user": model.actor_user_id,
                "actor": model.actor_label,
                "kind_labels": json.dumps({kind: str(label) for kind, label in JobKind.choices}),
                "source": model.source,
                "ids": [job.pk for job in jobs],
            },
        )


def request_jobs(
    kind: str,
    devices,
    *,
    period=None,
    origin: str = Origin.PERSON,
    user=None,
    run_after=None,
    request=None,
    batch=None,
    query=None,
) -> tuple[list[Job], list[tuple[Device, str]]]:
    """One job per device that may take one now (jobs/rules.refusal_reason, the same rule for
    every way in); returns (jobs, [(device, reason), …])."""
    now = clock.now()
    devices = list(devices)
    holds = dict(Hold.objects.active().filter(device__in=devices).values_list("device_id", "reason"))
    busy = set(
        Job.objects.filter(
            device__in=devices, kind=kind, period=period, state__in=ACTIVE_STATES, **_same_query(query)
        ).values_list("device_id", flat=True)
    )
    wanted, skipped = [], []
    for device in devices:
        reason = refusal_reason(
            kind, device, period, now, hold_reason=holds.get(device.pk), has_active_job=device.pk in busy
        )
        if reason:
            skipped.append((device, reason))
        else:
            wanted.append(Wanted(kind, device, period, run_after, query))
    return create_jobs(wanted, origin=origin, user=user, request=request, batch=batch), skipped


def _same_query(query: dict | None) -> dict:
    """Jobs doing the same work: 发票查询 of another month is other work."""
    return {} if query is None else {"query": query}


def request_job(kind: str, device: Device, **options) -> Job:
    """One job on one device, or Refused with the reason."""
    jobs, skipped = request_jobs(kind, [device], **options)
    if skipped:
        raise Refused(skipped[0][1])
    return jobs[0]


def cancel(job: Job, *, user=None, request=None) -> None:
    """Cancels a job that has not started; Refused otherwise."""
    if job.state not in NOT_STARTED_STATES or not job.move(JobState.CANCELLED):
        raise Refused(_("只能取消尚未开始的任务"))
    log.record(
        Action.JOB_CANCELLED,
        job,
        user=user,
        request=request,
        simulated=job.device.simulated,
        after={"batch": job.batch_id},
    )


def retry_refusal(job: Job, now: dt.datetime) -> str | None:
    """Why a person may not retry this failed job now, or None: never a password failure, never a
    held device, and the same rule as a new job of its kind."""
    if job.state != JobState.FAILED:
        return _("只能重试失败的任务")
    if error_info(job.error_code).password:
        return _("口令错误的任务不能重试：更正口令并解除设备暂停后，重新发起任务")
    busy = (
        Job.objects.filter(
            device=job.device, kind=job.kind, period=job.period, state__in=ACTIVE_STATES, **_same_query(job.query)
        )
        .exclude(pk=job.pk)
        .exists()
    )
    return refusal_reason(
        job.kind, job.device, job.period, now, hold_reason=hold_reason_of(job.device), has_active_job=busy
    )


@transaction.atomic
def retry(job: Job, *, user=None, request=None) -> None:
    """A person retries a failed job: a fresh round of attempts, queued now; Refused with the reason."""
    now = clock.now()
    reason = retry_refusal(job, now)
    if reason:
        raise Refused(reason)
    default_attempts = Job._meta.get_field("max_attempts").default
    if not job.move(JobState.SCHEDULED, run_after=now, finished_at=None, max_attempts=job.attempts + default_attempts):
        raise Refused(_("任务状态已变化，请刷新后重试"))
    queue(job, now)
    log.record(Action.JOB_RETRIED, job, user=user, request=request, simulated=job.device.simulated)
