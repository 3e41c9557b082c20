"""`/healthz`: is the site well? For load balancers, compose healthchecks and monitoring.

Answered by a middleware placed first, before host checking, HTTPS redirects, sessions and
login: a probe comes by IP or over plain HTTP inside the container. It tells only what CHECKS
find: a word or a count each, never an error message, a host name or an address. The database
and Redis are checked here; each app registers its own checks (`register`, in its
AppConfig.ready): the devices the agents online, the jobs the sweep.
"""

import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

PATH = "/healthz"


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


# (field, check): each check returns the field's value and whether it is well. SITE_CHECKS are the
# web process's own matters; CHECKS adds what other processes do (the sweep).
Check = Callable[[], tuple[Any, bool]]
Checks = list[tuple[str, Check]]
SITE_CHECKS: Checks = [("database", database), ("redis", redis_server)]
CHECKS: Checks = list(SITE_CHECKS)


def register(name: str, check: Check, *, of_the_site: bool = True) -> None:
    """Adds an app's check to /healthz (`of_the_site`: also to the web process's own checks); a
    name registered again is replaced, not asked twice."""
    for checks in (CHECKS, SITE_CHECKS):
        checks[:] = [entry for entry in checks if entry[0] != name]
    CHECKS.append((name, check))
    if of_the_site:
        SITE_CHECKS.append((name, check))


def check(name: str) -> Check:
    return dict(CHECKS)[name]


def report(checks: Checks | None = None) -> tuple[dict[str, Any], bool]:
    body, well = {}, True
    for name, run in CHECKS if checks is None else checks:
        body[name], ok = run()
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
