"""Issue 30: a held device's tries left are worded once, with one number from one source.

Before: "证书口令错误，剩余 7 次（证书口令剩余尝试次数 8）" — the device's message at the failure
beside an older reading. Now: the reading when it came after the failure, else the message."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from apps.attention.rows import Kind, rows_for
from apps.holds.models import Hold, HoldReason
from tests.factories import make_device

pytestmark = pytest.mark.usefixtures("nov10")
NOON = timezone.make_aware(dt.datetime(2026, 11, 10, 12, 0))


def held(monitored_at, tries=8, message="证书口令错误，剩余 7 次"):
    device = make_device()
    device.monitoring = {"cert_tries_left": tries}
    device.monitored_at = monitored_at
    device.save()
    return Hold.objects.create(
        device=device,
        reason=HoldReason.PASSWORD,
        error_code="CERT_PASSWORD_WRONG",
        message=message,
        created_at=NOON,
    )


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.mark.django_db
def test_an_older_reading_gives_way_to_the_failure_message():
    hold = held(NOON - dt.timedelta(hours=1), tries=8)
    assert hold.described == "证书口令错误，剩余 7 次"


@pytest.mark.django_db
def test_a_reading_after_the_failure_is_the_one_number():
    hold = held(NOON + dt.timedelta(minutes=5), tries=7, message="wrong pin, 7 left")
    assert hold.described == "证书口令错误，剩余 7 次"


@pytest.mark.django_db
def test_no_message_reads_the_catalogue():
    hold = held(None, message="")
    assert hold.described == "证书口令错误"


def _one_number(text: str):
    assert "剩余 7 次" in text
    assert "剩余尝试次数" not in text and "8" not in text.replace("2026", "")


@pytest.mark.django_db
def test_the_attention_row_the_client_page_and_the_release_page_say_it_once(users, as_role):
    hold = held(NOON - dt.timedelta(hours=1), tries=8)
    hold.device.client.staff = users["owner"]
    hold.device.client.save()
    row = next(r for r in rows_for(users["admin"], NOON) if r.kind == Kind.HELD)
    assert row.reason == "口令错误：证书口令错误，剩余 7 次"
    client_page = as_role("admin").get(reverse("clients:detail", args=[hold.device.client_id])).content.decode()
    assert "证书口令错误，剩余 7 次" in client_page
    assert "证书口令剩余尝试次数" not in client_page
    release = as_role("admin").get(reverse("holds:release", args=[hold.pk])).content.decode()
    assert "证书口令错误，剩余 7 次" in release and "证书口令剩余尝试次数" not in release
