"""Sending: notify() records a notification and one delivery per channel that wants it, in the
caller's transaction; the rq worker sends each delivery after commit, retried with back-off. The
row is the truth and the queue carries only its id, so a lost queue item is found again by the
sweep (resend_stuck)."""

import datetime as dt
import logging
from functools import partial

import apprise
import django_rq
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from rq import Retry

from apps.core import clock

from . import safety
from .models import Channel, Delivery, DeliveryState, Notification

logger = logging.getLogger(__name__)
DJANGO_MAIL = safety.DJANGO_MAIL
RETRY = Retry(max=5, interval=[10, 30, 60, 300, 900])
STUCK_AFTER = dt.timedelta(minutes=20)  # a delivery not sent by then was lost by the queue: enqueue it again


def site_link(path: str) -> str:
    return settings.QINGKA_SITE_URL.rstrip("/") + path


def channel_url_error(url: str) -> str | None:
    """Why a channel URL cannot be used, or None (apps/notifications/safety.py: known schemes,
    allowed mail domains and webhook hosts, no internal address)."""
    error = safety.url_error(url)
    if error:
        return error
    if not url.startswith(DJANGO_MAIL) and not apprise.Apprise().add(url):
        return "无法识别的通知地址：请参照说明填写企业微信、钉钉、飞书、django-mail:// 或允许的 json:// 地址"
    return None


def notify(key: str, event: str, subject: str, body: str, path: str = "", *, client=None, users=(), firm=True):
    """Records the notification for `key` once (a second call with the same key changes
    nothing) and a delivery to each channel that wants `event`: the firm's when `firm`, and those
    of `users`. Returns the notification, or None when `key` was notified before."""
    users = [user for user in users if user is not None]
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                key=key[:200],
                event=event,
                subject=subject[:200],
                body=body,
                url=site_link(path) if path else "",
                client=client,
            )
    except IntegrityError:
        return None
    notification.recipients.set(users)
    channels = Channel.objects.filter((Q(user__isnull=True) if firm else Q(pk__in=[])) | Q(user__in=users))
    deliveries = Delivery.objects.bulk_create(
        [Delivery(notification=notification, channel=channel) for channel in channels if channel.wants(event)]
    )
    for delivery in deliveries:
        transaction.on_commit(partial(enqueue, delivery.pk))
    return notification


def enqueue(delivery_id: int) -> None:
    try:
        django_rq.get_queue("default").enqueue(deliver, delivery_id, retry=RETRY)
    except Exception:  # Redis away: the sweep sends what stays pending
        logger.exception("delivery %s not queued; the sweep will queue it again", delivery_id)


def deliver(delivery_id: int) -> None:
    """Sends one delivery (the rq job). Raises when sending failed, so rq retries it later."""
    taken = Delivery.objects.filter(pk=delivery_id, state__in=(DeliveryState.PENDING, DeliveryState.FAILED)).update(
        state=DeliveryState.SENDING, attempts=F("attempts") + 1, updated_at=clock.now()
    )
    if not taken:
        return  # sent already, or another worker has it
    delivery = Delivery.objects.select_related("notification", "channel").get(pk=delivery_id)
    try:
        send(delivery.channel, delivery.notification.subject, _text(delivery.notification))
    except Exception as error:
        Delivery.objects.filter(pk=delivery_id).update(
            state=DeliveryState.FAILED, last_error=str(error)[:2000], updated_at=clock.now()
        )
        Channel.objects.filter(pk=delivery.channel_id).update(failures_in_a_row=F("failures_in_a_row") + 1)
        raise
    Delivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.SENT, last_error="", sent_at=clock.now(), updated_at=clock.now()
    )
    Channel.objects.filter(pk=delivery.channel_id).update(failures_in_a_row=0)


def send(channel: Channel, subject: str, body: str) -> None:
    """Sends now; raises with a reason when the channel did not take it."""
    # The rules again at send time: a channel saved before them, or a host whose DNS changed since.
    error = safety.url_error(channel.url)
    if error:
        raise safety.Refused(error)
    if channel.url.startswith(DJANGO_MAIL):
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [channel.url.removeprefix(DJANGO_MAIL)])
        return
    # In this thread (not apprise's thread pool), so that the guard below covers its connections.
    sender = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
    if not sender.add(channel.url):
        raise ValueError("无法识别的通知地址")
    with safety.guarded():  # every connect checked after resolution, no redirect followed
        if not sender.notify(title=subject, body=body):
            raise RuntimeError("通知渠道未接受消息（地址、密钥或网络有误）")


def resend_stuck(now: dt.datetime) -> int:
    """Queues again the deliveries that stayed pending or sending too long (a lost queue item)."""
    stuck = Delivery.objects.filter(
        state__in=(DeliveryState.PENDING, DeliveryState.SENDING), updated_at__lt=now - STUCK_AFTER
    )
    ids = list(stuck.values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids).update(state=DeliveryState.PENDING, updated_at=now)
    for delivery_id in ids:
        enqueue(delivery_id)
    return len(ids)


def _text(notification: Notification) -> str:
    return f"{notification.body}\n{notification.url}" if notification.url else notification.body
