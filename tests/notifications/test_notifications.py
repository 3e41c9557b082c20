"""Notifications: one per event (its key), a delivery per channel that wants it, sent by the rq
job through apprise, each outcome recorded; a channel that keeps failing is broken; channels are
added, tested and removed on a page and through the admin-only API, their URL never shown back."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.attention.rows import Kind, rows_for
from apps.audit.models import AuditEvent
from apps.core import clock
from apps.jobs.models import SweepRecord
from apps.notifications import delivery, events
from apps.notifications.models import Channel, Delivery, DeliveryState, Event, Notification
from apps.periods.rules import SHANGHAI
from tests.factories import make_client, make_period

pytestmark = pytest.mark.django_db


def test_one_notification_per_key_and_a_delivery_per_channel_that_wants_it(users, django_capture_on_commit_callbacks):
    firm = Channel.objects.create(name="事务所群", url="json://127.0.0.1:9/x")
    held_only = Channel.objects.create(name="只收锁死", url="json://127.0.0.1:9/y", events=[Event.DEVICE_HELD])
    mine = Channel.objects.create(name="我的", url="json://127.0.0.1:9/z", user=users["owner"])
    Channel.objects.create(name="同事的", url="json://127.0.0.1:9/w", user=users["colleague"])
    with django_capture_on_commit_callbacks() as callbacks:
        first = delivery.notify("k1", Event.AGENT_OFFLINE, "标题", "内容", users=[users["owner"]])
        again = delivery.notify("k1", Event.AGENT_OFFLINE, "标题", "内容", users=[users["owner"]])
    assert first is not None and again is None and Notification.objects.count() == 1
    assert set(Delivery.objects.values_list("channel", flat=True)) == {firm.pk, mine.pk}
    assert len(callbacks) == 2 and held_only.pk not in Delivery.objects.values_list("channel", flat=True)


def test_a_delivery_goes_through_apprise_and_its_outcome_is_kept(users, webhook):
    Channel.objects.create(name="webhook", url=webhook.url)
    notification = delivery.notify("k2", Event.DEVICE_HELD, "【清卡】甲公司：口令错误", "甲公司的设备已暂停")
    item = Delivery.objects.get(notification=notification)
    delivery.deliver(item.pk)
    item.refresh_from_db()
    assert item.state == DeliveryState.SENT and item.attempts == 1
    assert len(webhook.received) == 1 and "甲公司" in webhook.received[0]["message"]
    delivery.deliver(item.pk)  # sent already: never twice
    assert len(webhook.received) == 1


def test_a_channel_that_keeps_failing_is_broken_and_shows_on_attention(users, webhook):
    cache.clear()
    SweepRecord.objects.create(pk=1, finished_at=clock.now())
    webhook.fail = True
    channel = Channel.objects.create(name="坏渠道", url=webhook.url)
    for n in range(3):
        notification = delivery.notify(f"f{n}", Event.AGENT_OFFLINE, "t", "b")
        with pytest.raises(RuntimeError):
            delivery.deliver(Delivery.objects.get(notification=notification).pk)
    channel.refresh_from_db()
    assert channel.broken and Delivery.objects.filter(state=DeliveryState.FAILED).count() == 3
    shown = [row.kind for row in rows_for(users["admin"], clock.now()) if row.kind != Kind.DEADLINES_MISSING]
    assert shown == [Kind.CHANNEL_BROKEN]  # (from December the admin also sees next year's 征期 missing)
    assert rows_for(users["owner"], clock.now()) == []  # not their channel
    webhook.fail = False
    notification = delivery.notify("ok", Event.AGENT_OFFLINE, "t", "b")
    delivery.deliver(Delivery.objects.get(notification=notification).pk)
    channel.refresh_from_db()
    assert not channel.broken


def test_lost_deliveries_are_queued_again(users):
    Channel.objects.create(name="c", url="json://127.0.0.1:9/x")
    delivery.notify("lost", Event.AGENT_OFFLINE, "t", "b")
    later = clock.now() + delivery.STUCK_AFTER + dt.timedelta(minutes=1)
    assert delivery.resend_stuck(later) == 1 and delivery.resend_stuck(later) == 0


def test_the_daily_digest_lists_exactly_each_accountants_unfinished_clients(users, nov10):
    done = make_client(name="甲已完成", staff=users["owner"])
    make_period(
        done,
        month=dt.date(2026, 10, 1),
        summary_uploaded_at=clock.now(),
        return_filed_on=dt.date(2026, 11, 5),
        cleared_at=clock.now(),
    )
    make_client(name="乙待抄报", staff=users["owner"])
    make_client(name="丙同事的", staff=users["colleague"])
    morning = dt.datetime(2026, 11, 10, 8, 59, tzinfo=SHANGHAI)
    assert events.daily_digests(morning) == 0
    assert events.daily_digests(morning + dt.timedelta(minutes=1)) == 2
    assert events.daily_digests(morning + dt.timedelta(hours=3)) == 0  # once a day
    mine = Notification.objects.get(event=Event.DAILY_DIGEST, recipients=users["owner"])
    theirs = Notification.objects.get(event=Event.DAILY_DIGEST, recipients=users["colleague"])
    assert (
        "乙待抄报" in mine.body and "剩6天" in mine.body and "甲已完成" not in mine.body and "丙同事的" not in mine.body
    )
    assert "丙同事的" in theirs.body and "乙待抄报" not in theirs.body


def test_channels_page_adds_tests_and_removes_with_chinese_errors(as_role, users, webhook):
    admin = as_role("admin")
    bad = admin.post(reverse("notifications:channels"), {"name": "", "url": "nonsense"})
    assert "请填写名称" in bad.content.decode() and "不支持的通知地址" in bad.content.decode()
    assert not Channel.objects.exists()
    admin.post(reverse("notifications:channels"), {"name": "企业微信群", "url": webhook.url, "events": ["device_held"]})
    channel = Channel.objects.get()
    page = admin.get(reverse("notifications:channels")).content.decode()
    assert webhook.url not in page and channel.masked_url in page
    admin.post(reverse("notifications:test", args=[channel.pk]))
    assert len(webhook.received) == 1 and "测试消息" in webhook.received[0]["title"]
    sends = admin.get(reverse("notifications:sends")).content.decode()
    assert "测试消息" in sends and "已发送" in sends
    assert as_role("owner").post(reverse("notifications:remove", args=[channel.pk])).status_code == 403
    as_role("admin").post(reverse("notifications:remove", args=[channel.pk]))
    assert not Channel.objects.exists()
    assert {"channel.created", "channel.removed"} <= set(AuditEvent.objects.values_list("action", flat=True))
    assert webhook.url not in str(list(AuditEvent.objects.values_list("before", "after")))


def test_only_an_admin_adds_tests_or_removes_a_channel(as_role, users):
    """Issue 27: a channel makes the site send; 会计 and 只读 may not add one (nor test or remove)."""
    channel = Channel.objects.create(name="x", url="dingtalk://abc", user=users["owner"])
    for role in ("owner", "readonly"):
        client = as_role(role)
        made = client.post(reverse("notifications:channels"), {"name": "我的钉钉", "url": "dingtalk://tok"})
        assert made.status_code == 403
        assert client.post(reverse("notifications:test", args=[channel.pk])).status_code == 403
        assert client.post(reverse("notifications:remove", args=[channel.pk])).status_code == 403
    assert list(Channel.objects.all()) == [channel]


def test_the_api_is_for_admins_and_never_returns_the_url(api, as_role, users):
    url = "/api/v1/notification-channels/"
    assert as_role("owner").get(url).status_code == 403
    bad = api.post(url, {"name": "x", "url": "nonsense"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()
    made = api.post(url, {"name": "飞书", "url": "feishu://secret-token", "user": None}, format="json")
    assert made.status_code == 201 and "url" not in made.json() and "secret-token" not in str(made.json())
    assert made.json()["events"] == [] and made.json()["masked_url"].startswith("feishu://…")
    listed = api.get(url).json()["results"]
    assert len(listed) == 1 and "secret-token" not in str(listed)
    assert api.delete(f"{url}{made.json()['id']}/").status_code == 204
