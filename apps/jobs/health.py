"""The sweep's part of /healthz (apps/core/health.py), and the same fact for pages: when the sweep
(apps/operations/sweeper.py) last finished, as it wrote down in SweepRecord."""

import datetime as dt

from django.conf import settings
from django.core.cache import cache

from apps.core import clock, health

from .models import SweepRecord

SWEEP_CACHE_KEY, SWEEP_CACHE_SECONDS = "qingka.sweep_finished_at", 30


def last_sweep() -> SweepRecord | None:
    return SweepRecord.objects.filter(pk=1).first()


def is_stale(finished_at: dt.datetime | None, now: dt.datetime) -> bool:
    """No sweep finished in the last three intervals."""
    return finished_at is None or now - finished_at > dt.timedelta(seconds=3 * settings.QINGKA_SWEEP_SECONDS)


def sweep() -> tuple[str, bool]:
    """The periodic sweep (leases, retries, lost messages, the autopilot) finished within three
    intervals. Not the web's own matter: a site whose sweeper is away still serves."""
    try:
        record = last_sweep()
    except Exception:
        return "error", False
    stale = is_stale(record.finished_at if record else None, clock.now())
    return ("stale", False) if stale else ("ok", True)


def last_sweep_cached():
    """When the last sweep finished (None: never), asked of the database at most every 30 s per process."""
    finished_at = cache.get(SWEEP_CACHE_KEY)
    if finished_at is None:
        record = last_sweep()
        finished_at = record.finished_at if record else ""
        cache.set(SWEEP_CACHE_KEY, finished_at, SWEEP_CACHE_SECONDS)
    return finished_at or None


def sweep_stale_cached() -> bool:
    """For pages: whether the sweep is stale (last_sweep_cached)."""
    return is_stale(last_sweep_cached(), clock.now())


def register() -> None:
    health.register("sweep", sweep, of_the_site=False)
