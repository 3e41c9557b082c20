"""The jobs' part of the periodic sweep (apps/operations/sweeper.py): leases that ran out go back
to the queue, jobs whose time came are queued, messages the broker lost are sent again. Each step
flips state with a conditional update (healthchecks), so two sweeps at once, or a sweep racing an
agent's call, never both win."""

import datetime as dt
from functools import partial

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F

from apps.audit import log
from apps.audit.models import Action
from apps.devices.models import Agent, Device

from .messaging import queue, send_messages
from .models import Job, JobState
from .outcomes import fail

# A claim the site granted reaches the agent's list of jobs it works on a moment later: a job
# claimed within this many seconds is never taken for one the agent forgot.
CLAIM_SETTLES_SECONDS = 5


def release_unlisted(agent: Agent, listed: list[int], previous_heartbeat: dt.datetime | None, now: dt.datetime) -> int:
    """The running jobs of `agent` that its heartbeat no longer lists, claimed before its previous
    heartbeat and more than CLAIM_SETTLES_SECONDS ago, go back to the queue at once, as at the end
    of their lease: the agent was killed and restarted and forgot them (issue 27), rather than
    leave them waiting out the whole lease."""
    if previous_heartbeat is None:
        return 0
    since = min(previous_heartbeat, now - dt.timedelta(seconds=CLAIM_SETTLES_SECONDS))
    forgotten = list(
        Job.objects.filter(
            state=JobState.RUNNING, started_at__lt=since, device__in=Device.objects.filter(agent=agent).values("pk")
        )
        .exclude(pk__in=listed)
        .values_list("pk", flat=True)
    )
    return expire_leases(now, only=forgotten, released=True) if forgotten else 0


def expire_leases(now: dt.datetime, only: list[int] | None = None, released: bool = False) -> int:
    """A running job whose agent did not report within its lease goes back to the queue with one
    more attempt (the agent reads the device before acting, so nothing is done twice). `only`: these
    jobs, whatever their lease (release_unlisted)."""
    expired = 0
    running = Job.objects.select_related("device__client").filter(state=JobState.RUNNING)
    running = running.filter(pk__in=only) if only is not None else running.filter(lease_expires_at__lt=now)
    extra = {"not_listed_by_agent": True} if released else {}
    for job in running:
        with transaction.atomic():
            if job.attempts < job.max_attempts:
                if not queue(job, now):
                    continue
                log.record(
                    Action.JOB_LEASE_EXPIRED,
                    job,
                    simulated=job.device.simulated,
                    after={"state": job.state, "attempt": job.attempts, **extra},
                )
            else:  # the last attempt: failed for good, like any failure (health, holds, batch)
                fail(job, "LEASE_EXPIRED", now=now)
            expired += 1
    return expired


def dispatch_due(now: dt.datetime) -> int:
    """Scheduled jobs whose time has come are queued, all in one statement, and their messages
    sent together once it commits."""
    with transaction.atomic():
        due = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(state=JobState.SCHEDULED, run_after__lte=now)
            .values_list("pk", flat=True)
        )
        Job.objects.filter(pk__in=due).move(
            JobState.SCHEDULED,
            JobState.QUEUED,
            attempts=F("attempts") + 1,
            queued_at=now,
            last_sent_at=None,
            lease_expires_at=None,
        )
        if due:
            transaction.on_commit(partial(send_messages, due))
    return len(due)


def broker_queue_length(queue_name: str) -> int:
    """Messages waiting in an agent's queue (kombu keeps a Redis list named after the queue)."""
    return int(redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue_name))  # type: ignore[arg-type]  # sync client


def resend_lost(now: dt.datetime) -> int:
    """A queued job of an online agent whose message is neither in the broker nor claimed after a
    while was lost (a broker restart, a worker killed after taking it): send it again. A duplicate
    is harmless: the second claim of one attempt is refused."""
    limit = now - dt.timedelta(seconds=settings.QINGKA_RESEND_AFTER_SECONDS)
    resent = 0
    for agent in Agent.objects.filter(online=True, enabled=True):
        stale = Job.objects.filter(state=JobState.QUEUED, device__agent=agent, queued_at__lt=limit).exclude(
            last_sent_at__gte=limit
        )
        if stale.exists() and broker_queue_length(agent.queue_name) == 0:
            resent += send_messages(list(stale.values_list("id", flat=True)))
    return resent
