"""批量清卡 as services: creating a batch from its preview, its progress, and cancelling or
retrying its jobs through the job pipeline's verbs, so that a batch refuses what a person would."""

import datetime as dt
from collections import Counter
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.core.months import format_month
from apps.devices.errors import error_info
from apps.jobs import outcomes, requesting
from apps.jobs.models import FINISHED_STATES, NOT_STARTED_STATES, Job, JobKind, JobState, Origin
from apps.periods.models import Period
from apps.periods.rules import PeriodStatus

from . import selection
from .models import Batch


def preview(data: dict, filters: dict, start: dt.datetime) -> selection.Preview:
    return selection.preview(
        data["kind"],
        data["month"],
        filters,
        clock.now(),
        start,
        per_agent_per_minute=data["per_agent_per_minute"],
        avoid_busy_hours=data["avoid_busy_hours"],
    )


@transaction.atomic
def create_batch(data: dict, filters: dict, chosen_filters: dict, start: dt.datetime, *, user, request=None) -> Batch:
    """The batch and one job per device its preview chose, made in bulk; the clients left out are
    kept on the batch with their reasons. Raises IntegrityError for a token used before."""
    batch = Batch.objects.create(
        kind=data["kind"],
        month=data["month"],
        filters=chosen_filters,
        start_at=start,
        avoid_busy_hours=data["avoid_busy_hours"],
        per_agent_per_minute=data["per_agent_per_minute"],
        token=data["token"],
        created_by=user,
    )
    found = preview(data, filters, start)
    periods = {c.client.pk: c.period for c in found.chosen}
    new = [client_pk for client_pk, period in periods.items() if period.pk is None]
    if new:  # rows for clients that had none for the month; ids come back from a second look
        Period.objects.bulk_create([periods[client_pk] for client_pk in new], ignore_conflicts=True)
        periods.update({p.client_id: p for p in Period.objects.filter(month=batch.month, client__in=new)})
    wanted = [requesting.Wanted(c.kind, c.device, periods[c.client.pk], c.run_after) for c in found.chosen if c.device]
    jobs = requesting.create_jobs(wanted, origin=Origin.BATCH, user=user, request=request, batch=batch)
    batch.planned_count = len(found.chosen)
    batch.created_count = len(jobs)
    batch.left_out = [
        {
            "client": str(c.client),
            "client_id": c.client.pk,
            "device": c.device.number if c.device else "",
            "reason": str(c.reason),
        }
        for c in found.left_out
    ]
    batch.save(update_fields=["planned_count", "created_count", "left_out"])
    log.record(
        Action.BATCH_CREATED,
        batch,
        user=user,
        request=request,
        after={
            "kind": batch.kind,
            "month": format_month(batch.month),
            "filters": batch.filters,
            "start_at": start,
            "avoid_busy_hours": batch.avoid_busy_hours,
            "per_agent_per_minute": batch.per_agent_per_minute,
            "planned": batch.planned_count,
            "created": batch.created_count,
            "left_out": len(batch.left_out),
        },
    )
    return batch


def progress(batch: Batch) -> dict:
    """The batch's jobs with their errors and their periods' statuses, and the counts by state."""
    jobs: list[Any] = list(
        batch.jobs.select_related("device__client", "device__agent", "period").order_by("run_after", "pk")
    )
    statuses = dict(
        Period.objects.with_status()
        .filter(pk__in={j.period_id for j in jobs if j.period_id})
        .values_list("pk", "status_code")
    )
    for job in jobs:
        job.error = error_info(job.error_code) if job.error_code else None
        job.period_status = PeriodStatus(statuses[job.period_id]) if job.period_id in statuses else None
    counts = Counter(job.state for job in jobs)
    period_counts = Counter(statuses[job.period_id] for job in {j.period_id: j for j in jobs if j.period_id}.values())
    finished = sum(counts[state] for state in FINISHED_STATES)
    failed = [job for job in jobs if job.state == JobState.FAILED]
    return {
        "batch": batch,
        "jobs": jobs,
        "total": len(jobs),
        "finished": finished,
        "percent": round(100 * finished / len(jobs)) if jobs else 100,
        "counts": [(JobState(state), counts[state]) for state in JobState.values],
        "period_counts": [
            (status, period_counts[status.value]) for status in PeriodStatus if period_counts[status.value]
        ],
        "failed": failed,
        "not_started": sum(counts[state] for state in NOT_STARTED_STATES),
        "retryable": sum(1 for job in failed if not error_info(job.error_code).password),
        "running": finished < len(jobs),
    }


@transaction.atomic
def cancel_not_started(batch: Batch, *, user, request=None) -> int:
    cancelled = 0
    for job in batch.jobs.filter(state__in=NOT_STARTED_STATES).select_related("device__client"):
        try:
            requesting.cancel(job, user=user, request=request)
        except requesting.Refused:
            continue  # started meanwhile
        cancelled += 1
    return cancelled


def retry_failed(batch: Batch, *, user, request=None) -> tuple[int, list[tuple[Job, str]]]:
    """Retries each failed job the rule allows; returns (retried, [(job, reason refused), …])."""
    retried, refused = 0, []
    for job in batch.jobs.filter(state=JobState.FAILED).select_related("device__client", "device__agent", "period"):
        try:
            requesting.retry(job, user=user, request=request)
        except requesting.Refused as refusal:
            refused.append((job, refusal.reason))
        else:
            retried += 1
    return retried, refused


@receiver(outcomes.job_succeeded)
def ask_after_offline_upload(sender, job: Job, **kwargs) -> None:
    """A batch made this 上传离线发票 in place of its 抄报 on the device (selection): now it succeeded,
    the batch's own job is asked for by the same rule, with the reading the result just brought; a
    refusal joins the batch's left-out list with its reason."""
    if job.kind != JobKind.UPLOAD_OFFLINE or not job.batch_id or not job.period_id:
        return
    batch = Batch.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=job.batch_id)
    _jobs, refused = requesting.request_jobs(
        batch.kind, [job.device], period=job.period, origin=Origin.BATCH, user=batch.created_by, batch=batch
    )
    if refused:
        client = job.device.client
        batch.left_out = [
            *batch.left_out,
            *({"client": str(client), "client_id": client.pk, "device": d.number, "reason": r} for d, r in refused),
        ]
        batch.save(update_fields=["left_out"])
