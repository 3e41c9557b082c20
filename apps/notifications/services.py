"""Channels added, tested and removed by people, each audited (the URL itself never is)."""

import datetime as dt
import logging

from django.conf import settings
from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock

from .delivery import deliver, notify
from .models import Channel, Delivery, Event, Notification

logger = logging.getLogger(__name__)


def add_channel(*, name: str, url: str, events: list[str], user, owner=None, request=None) -> Channel:
    channel = Channel.objects.create(name=name, url=url, events=events, user=owner)
    log.record(
        Action.CHANNEL_CREATED,
        channel,
        user=user,
        request=request,
        after={"name": name, "events": events, "owner": str(owner or "")},
    )
    return channel


def remove_channel(channel: Channel, *, user, request=None) -> None:
    log.record(Action.CHANNEL_REMOVED, channel, user=user, request=request, before={"name": channel.name})
    channel.delete()


TEST_KEY = "test:u{user}:"


def tests_over_limit(user) -> bool:
    """Test sends are limited per person and hour (QINGKA_CHANNEL_TESTS_PER_HOUR); the test
    notifications themselves are the counter."""
    since = clock.now() - dt.timedelta(hours=1)
    recent = Notification.objects.filter(
        event=Event.TEST, key__startswith=TEST_KEY.format(user=user.pk), created_at__gte=since
    )
    return recent.count() >= settings.QINGKA_CHANNEL_TESTS_PER_HOUR


def test_channel(channel: Channel, user=None) -> bool:
    """Sends a test message now, recorded on the sends page like any notification; returns whether
    the channel took it. Why it did not is logged, never told: the answer must not say whether
    some host or port answers (issue 27)."""
    now = clock.now()
    subject = _("【清卡】测试消息")
    body = _("这是一条来自清卡的测试消息：渠道“%(name)s”可以正常接收通知。") % {"name": channel.name}
    owner = TEST_KEY.format(user=user.pk) if user is not None else "test:"
    notification = notify(f"{owner}c{channel.pk}:{now.isoformat()}", Event.TEST, subject, body, firm=False)
    delivery = Delivery.objects.create(notification=notification, channel=channel)
    try:
        deliver(delivery.pk)
    except Exception:
        logger.warning("test send to channel %s failed", channel.pk, exc_info=True)
        return False
    return True
