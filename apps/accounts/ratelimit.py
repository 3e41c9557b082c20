"""Requests that send e-mail or make credentials are limited per hour. Each one is an audit
event anyway, so the audit log is the counter: nothing else to keep, and it holds across
processes and restarts."""

import datetime as dt

from django.db.models import Q

from apps.audit.models import AuditEvent
from apps.core import clock

WINDOW = dt.timedelta(hours=1)


def over_limit(action: str, limit: int, *, source: str = "", label: str = "", user=None) -> bool:
    """True when `action` already happened `limit` times in the last hour from this address, for
    this label (an e-mail address), or by this user."""
    same = Q()
    if source:
        same |= Q(source=source)
    if label:
        same |= Q(object_label=label)
    if user is not None:
        same |= Q(actor_user=user)
    recent = AuditEvent.objects.filter(same, action=action, created_at__gte=clock.now() - WINDOW)
    return recent.count() >= limit
