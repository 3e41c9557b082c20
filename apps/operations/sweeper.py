"""The periodic sweep, on top of every app it drives: marks silent agents offline, re-queues
expired leases, holds locked devices, runs the autopilot's pass, dispatches due jobs, re-sends
lost messages, and tells people what the state of all that calls for (notifications are derived
from the rows, never sent by the code that wrote them).

It runs in a plain long-running loop (`manage.py run_sweeper`, as healthchecks' sendalerts does),
not on a scheduler whose schedule lives in Redis keys: a Redis flush or a worker stopped for a
while once ended it for good, silently. The loop only needs the database; when the database or
the broker is away, a sweep fails, is logged, and the next one runs on time. The last finished
sweep is recorded (SweepRecord) for /healthz and the dashboard to show when it is stale.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from apps.autopilot import cycle
from apps.core import clock
from apps.devices.services import mark_offline_agents
from apps.holds.services import hold_locked_devices
from apps.jobs.health import is_stale, last_sweep
from apps.jobs.models import Job, JobState, SweepRecord
from apps.jobs.upkeep import dispatch_due, expire_leases, resend_lost
from apps.notifications import events

logger = logging.getLogger(__name__)


def autopilot_pass(now: dt.datetime) -> int:
    """The standing cycle, when it is on and a pass is due (apps/autopilot/cycle.py)."""
    autopilot = cycle.claim_pass(now)
    return sum(cycle.run_pass(now, autopilot).values()) if autopilot else 0


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
