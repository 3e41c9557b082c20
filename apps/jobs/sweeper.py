"""The periodic sweep: marks silent agents offline, re-queues expired leases, dispatches due jobs
and re-sends lost messages.

It runs in a plain long-running loop (`manage.py run_sweeper`, as healthchecks' sendalerts does),
not on a scheduler whose schedule lives in Redis keys: a Redis flush or a worker stopped for a
while once ended it for good, silently. The loop only needs the database; when the database or
the broker is away, a sweep fails, is logged, and the next one runs on time. The last finished
sweep is recorded (SweepRecord) for /healthz and the dashboard to show when it is stale.

Every step flips state with a conditional update (healthchecks), so two sweeps at once, or a sweep
racing an agent's call, never both win.
"""

import datetime as dt
import logging
from functools import partial

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit import log
from apps.audit.models import Action
from apps.autopilot import cycle
from apps.core import clock
from apps.devices.models import Agent, Device
from apps.holds.services import hold_locked_devices
from apps.notifications import events

from .models import Job, JobState, SweepRecord
from .pipeline import fail, queue, send_messages

logger = logging.getLogger(__name__)


def mark_offline_agents(now: dt.datetime) -> int:
    """An agent that missed its heartbeats is offline; its jobs wait for it."""
    limit = now - dt.timedelta(seconds=settings.QINGKA_AGENT_OFFLINE_SECONDS)
    flipped = 0
    for agent in Agent.objects.filter(online=True, last_heartbeat_at__lt=limit):
        if Agent.objects.filter(pk=agent.pk, online=True, last_heartbeat_at=agent.last_heartbeat_at).update(
            online=False
        ):
            log.record(
                Action.AGENT_OFFLINE, agent, before={"online": True}, after={"online": False}, source=agent.hostname
            )
            events.agent_offline(agent, since=agent.last_heartbeat_at or now)
            flipped += 1
    return flipped


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
                if job.batch_id:
                    transaction.on_commit(partial(events.batch_progressed, job.batch_id))
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
        Job.objects.filter(pk__in=due, state=JobState.SCHEDULED).update(
            state=JobState.QUEUED, attempts=F("attempts") + 1, queued_at=now, last_sent_at=None, lease_expires_at=None
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


def autopilot_pass(now: dt.datetime) -> int:
    """The standing cycle, when it is on and a pass is due (apps/autopilot/cycle.py)."""
    autopilot = cycle.claim_pass(now)
    return sum(cycle.run_pass(now, autopilot).values()) if autopilot else 0


def last_sweep() -> SweepRecord | None:
    return SweepRecord.objects.filter(pk=1).first()


def is_stale(finished_at: dt.datetime | None, now: dt.datetime) -> bool:
    """No sweep finished in the last three intervals."""
    return finished_at is None or now - finished_at > dt.timedelta(seconds=3 * settings.QINGKA_SWEEP_SECONDS)


def grant_grace(last: SweepRecord | None, now: dt.datetime) -> dt.datetime | None:
    """After the sweep itself was away (the database, the site or the sweeper down), no agent could
    renew a lease or be heard. Every running lease is extended by the time the sweep was away, and
    no agent is marked offline until it had a full heartbeat window to be heard again. Returns
    when the sweep resumed, while that window lasts."""
    if last is None:
        return None
    if is_stale(last.finished_at, now):
        away = now - last.finished_at
        extended = Job.objects.filter(state=JobState.RUNNING, lease_expires_at__isnull=False).update(
            lease_expires_at=F("lease_expires_at") + away
        )
        logger.warning("the sweep was away for %s: %d running leases extended by as much", away, extended)
        return now
    window = dt.timedelta(seconds=settings.QINGKA_AGENT_OFFLINE_SECONDS)
    return last.resumed_at if last.resumed_at and now - last.resumed_at < window else None


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    resumed_at = grant_grace(last_sweep(), now)
    counts = {
        "agents_offline": 0 if resumed_at else mark_offline_agents(now),
        "leases_expired": expire_leases(now),
        "held": hold_locked_devices(timezone.localdate(now)),
        "autopilot": autopilot_pass(now),
        "dispatched": dispatch_due(now),
        "resent": resend_lost(now),
        "notified": events.scheduled(now),
    }
    SweepRecord.objects.update_or_create(
        pk=1, defaults={"finished_at": now, "resumed_at": resumed_at, "counts": counts}
    )
    if any(counts.values()):
        logger.info("sweep: %s", counts)
    return counts
