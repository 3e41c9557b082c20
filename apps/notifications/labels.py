"""Notification events as people read them (apps/core/labels.py)."""

from django.utils.translation import gettext as _

from apps.core.labels import choice_label
from apps.notifications.models import Event


def event_label(code: str) -> str:
    return choice_label(Event, code) or _("未知事件（%(code)s）") % {"code": code}
