"""The sweep's part of /healthz (apps/core/health.py), and the same fact for pages."""

from django.core.cache import cache

from apps.core import clock, health

SWEEP_CACHE_KEY, SWEEP_CACHE_SECONDS = "qingka.sweep_finished_at", 30


def sweep() -> tuple[str, bool]:
    """The periodic sweep (leases, retries, lost messages, the autopilot) finished within three
    intervals. Not the web's own matter: a site whose sweeper is away still serves."""
    from apps.jobs.sweeper import is_stale, last_sweep

    try:
        record = last_sweep()
    except Exception:
        return "error", False
    stale = is_stale(record.finished_at if record else None, clock.now())
    return ("stale", False) if stale else ("ok", True)


def last_sweep_cached():
    """When the last sweep finished (None: never), asked of the database at most every 30 s per process."""
    from apps.jobs.sweeper import last_sweep

    finished_at = cache.get(SWEEP_CACHE_KEY)
    if finished_at is None:
        record = last_sweep()
        finished_at = record.finished_at if record else ""
        cache.set(SWEEP_CACHE_KEY, finished_at, SWEEP_CACHE_SECONDS)
    return finished_at or None


def sweep_stale_cached() -> bool:
    """For pages: whether the sweep is stale (last_sweep_cached)."""
    from apps.jobs.sweeper import is_stale

    return is_stale(last_sweep_cached(), clock.now())


def register() -> None:
    health.register("sweep", sweep, of_the_site=False)
