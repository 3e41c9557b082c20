"""`/healthz`: is the site well? For load balancers, compose healthchecks and monitoring.

Answered by a middleware placed first, before host checking, HTTPS redirects, sessions and
login: a probe comes by IP or over plain HTTP inside the container. It tells only what CHECKS
find: a word or a count each, never an error message, a host name or an address.
"""

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

from apps.core import clock
from apps.devices.models import Agent

PATH = "/healthz"
SWEEP_CACHE_KEY, SWEEP_CACHE_SECONDS = "qingka.sweep_finished_at", 30


def database() -> tuple[str, bool]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return "error", False
    return "ok", True


def redis_server() -> tuple[str, bool]:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError:
        return "error", False
    return "ok", True


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


def sweep_stale_cached() -> bool:
    """For pages: whether the sweep is stale, asked of the database at most every 30 s per process."""
    from apps.jobs.sweeper import is_stale, last_sweep

    finished_at = cache.get(SWEEP_CACHE_KEY)
    if finished_at is None:
        record = last_sweep()
        finished_at = record.finished_at if record else ""
        cache.set(SWEEP_CACHE_KEY, finished_at, SWEEP_CACHE_SECONDS)
    return is_stale(finished_at or None, clock.now())


def agents_online() -> tuple[int | None, bool]:
    """A count, not a condition: no agent online is the agents' matter, not the site's."""
    try:
        return Agent.objects.filter(online=True, enabled=True).count(), True
    except Exception:
        return None, True  # the database check has already said what is wrong


# (field, check): each check returns the field's value and whether it is well.
Checks = list[tuple[str, Callable[[], tuple[Any, bool]]]]
SITE_CHECKS: Checks = [("database", database), ("redis", redis_server), ("agents_online", agents_online)]
CHECKS: Checks = SITE_CHECKS + [("sweep", sweep)]


def report(checks: Checks = CHECKS) -> tuple[dict[str, Any], bool]:
    body, well = {}, True
    for name, check in checks:
        body[name], ok = check()
        well = well and ok
    return body, well


def site_answers(base_url: str, timeout: float = 5) -> bool:
    """The site at `base_url` serves /healthz; a 503 counts, as it may speak only of the sweeper.
    Raises OSError when nothing answers."""
    try:
        with urllib.request.urlopen(f"{base_url}{PATH}", timeout=timeout):
            return True
    except urllib.error.HTTPError as error:
        return error.code == 503


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.rstrip("/") != PATH:
            return self.get_response(request)
        body, well = report()
        response = JsonResponse(body, status=200 if well else 503)
        response["Cache-Control"] = "no-store"
        return response
