"""The agents' part of /healthz (apps/core/health.py)."""

from apps.core import health
from apps.devices.models import Agent


def agents_online() -> tuple[int | None, bool]:
    """A count, not a condition: no agent online is the agents' matter, not the site's."""
    try:
        return Agent.objects.filter(online=True, enabled=True).count(), True
    except Exception:
        return None, True  # the database check has already said what is wrong


def register() -> None:
    health.register("agents_online", agents_online)
