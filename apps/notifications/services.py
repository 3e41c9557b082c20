"""Channels added, tested and removed by people, each audited (the URL itself never is)."""

from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock

from .delivery import deliver, notify
from .models import Channel, Delivery, Event


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


def test_channel(channel: Channel) -> str | None:
    """Sends a test message now, recorded on the sends page like any notification; returns the
    error in words when the channel did not take it."""
    now = clock.now()
    subject = _("【清卡】测试消息")
    body = _("这是一条来自清卡的测试消息：渠道“%(name)s”可以正常接收通知。") % {"name": channel.name}
    notification = notify(f"test:{channel.pk}:{now.isoformat()}", Event.TEST, subject, body, firm=False)
    delivery = Delivery.objects.create(notification=notification, channel=channel)
    try:
        deliver(delivery.pk)
    except Exception as error:
        return str(error)
    return None
