"""`/healthz`: is the site well? For load balancers, compose healthchecks and monitoring.

Answered by a middleware placed first, before host checking, HTTPS redirects, sessions and
login: a probe comes by IP or over plain HTTP inside the container. It tells only what CHECKS
find: a word or a count each, never an error message, a host name or an address.
"""

from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from apps.devices.models import Agent

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


def agents_online() -> tuple[int | None, bool]:
    """A count, not a condition: no agent online is the agents' matter, not the site's."""
    try:
        return Agent.objects.filter(online=True, enabled=True).count(), True
    except Exception:
        return None, True  # the database check has already said what is wrong


# (field, check): each check returns the field's value and whether it is well.
CHECKS: list[tuple[str, Callable[[], tuple[Any, bool]]]] = [
    ("database", database),
    ("redis", redis_server),
    ("agents_online", agents_online),
]


def report() -> tuple[dict[str, Any], bool]:
    body, well = {}, True
    for name, check in CHECKS:
        body[name], ok = check()
        well = well and ok
    return body, well


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
