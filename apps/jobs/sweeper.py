"""The periodic sweep: the site's own background work, run by django-rq.

Why rq-scheduler and not Celery beat: the site's own background work runs on django-rq, and the
site runs no Celery worker at all (Celery's queues belong to the agents). Beat would need one just
for this; rq-scheduler puts the sweep on the rq worker the site already has.

Every step flips state with a conditional update (healthchecks), so two sweeps at once, or a sweep
racing an agent's call, never both win.
"""

import datetime as dt
import logging
from functools import partial

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit import log
from apps.autopilot import cycle
from apps.core import clock
from apps.devices.models import Agent
from apps.holds.services import hold_locked_devices
from apps.notifications import events

from .models import Job, JobState
from .pipeline import fail, queue, send_message

logger = logging.getLogger(__name__)
SWEEP_JOB_ID = "qingka-sweep"


def mark_offline_agents(now: dt.datetime) -> int:
    """An agent that missed its heartbeats is offline; its jobs wait for it."""
    limit = now - dt.timedelta(seconds=settings.QINGKA_AGENT_OFFLINE_SECONDS)
    flipped = 0
    for agent in Agent.objects.filter(online=True, last_heartbeat_at__lt=limit):
        if Agent.objects.filter(pk=agent.pk, online=True, last_heartbeat_at=agent.last_heartbeat_at).update(
            online=False
        ):
            log.record("agent.offline", agent, before={"online": True}, after={"online": False}, source=agent.hostname)
            flipped += 1
    return flipped


def expire_leases(now: dt.datetime) -> int:
    """A running job whose agent did not report within its lease goes back to the queue with one
    more attempt (the agent reads the device before acting, so nothing is done twice)."""
    expired = 0
    running = Job.objects.select_related("device__client").filter(state=JobState.RUNNING, lease_expires_at__lt=now)
    for job in running:
        with transaction.atomic():
            if job.attempts < job.max_attempts:
                if not queue(job, now):
                    continue
                log.record(
                    "job.lease_expired",
                    job,
                    simulated=job.device.simulated,
                    after={"state": job.state, "attempt": job.attempts},
                )
            else:  # the last attempt: failed for good, like any failure (health, holds, batch)
                fail(job, "LEASE_EXPIRED", now=now)
                if job.batch_id:
                    transaction.on_commit(partial(events.batch_progressed, job.batch_id))
            expired += 1
    return expired


def dispatch_due(now: dt.datetime) -> int:
    """Scheduled jobs whose time has come are queued."""
    dispatched = 0
    for job in Job.objects.filter(state=JobState.SCHEDULED, run_after__lte=now).order_by("run_after", "id"):
        with transaction.atomic():
            dispatched += queue(job, now)
    return dispatched


def broker_queue_length(queue_name: str) -> int:
    """Messages waiting in an agent's queue (kombu keeps a Redis list named after the queue)."""
    return redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue_name)


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
            resent += sum(send_message(job_id) for job_id in stale.values_list("id", flat=True))
    return resent


def autopilot_pass(now: dt.datetime) -> int:
    """The standing cycle, when it is on and a pass is due (apps/autopilot/cycle.py)."""
    autopilot = cycle.claim_pass(now)
    return sum(cycle.run_pass(now, autopilot).values()) if autopilot else 0


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    counts = {
        "agents_offline": mark_offline_agents(now),
        "leases_expired": expire_leases(now),
        "held": hold_locked_devices(timezone.localdate(now)),
        "autopilot": autopilot_pass(now),
        "dispatched": dispatch_due(now),
        "resent": resend_lost(now),
        "notified": events.scheduled(now),
    }
    if any(counts.values()):
        logger.info("sweep: %s", counts)
    return counts
