"""Login and accounts: lockout, rate limits, and every login, logout and failure in the audit log."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from apps.audit.models import AuditEvent

pytestmark = [pytest.mark.security, pytest.mark.django_db]
LOGIN = "/accounts/login/"


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_logins_logouts_and_failures_are_audited(client, users):
    assert attempt(client, "accountant", "wrong").status_code == 200
    assert attempt(client, "nobody-here", "wrong").status_code == 200
    assert attempt(client, "accountant", "pw-owner-1").status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR="10.0.0.1")
    events = list(AuditEvent.objects.order_by("id").values_list("action", "object_label", "source"))
    assert events == [
        ("account.login_failed", "会计乙", "10.0.0.1"),
        ("account.login_failed", "nobody-here", "10.0.0.1"),
        ("account.logged_in", "会计乙", "10.0.0.1"),
        ("account.logged_out", "会计乙", "10.0.0.1"),
    ]
    assert "pw-owner-1" not in str(list(AuditEvent.objects.values())) and "wrong" not in str(
        list(AuditEvent.objects.values("before", "after"))
    )


def test_an_address_is_locked_out_after_failures_with_the_end_in_the_audit_log(client, users):
    limit = settings.AXES_FAILURE_LIMIT
    start = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for n in range(limit):
            attempt(client, "accountant", f"guess-{n}", address="10.0.1.1")
        # Now even the right password, from that address, is refused, and the page says until when.
        locked = attempt(client, "accountant", "pw-owner-1", address="10.0.1.1")
    assert locked.status_code == 429 and SESSION_KEY not in client.session
    until = start + settings.AXES_COOLOFF_TIME
    assert (
        "暂时锁定" in locked.text
        and f"{until.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y-%m-%d %H:%M}" in locked.text
    )
    event = AuditEvent.objects.filter(action="account.locked_out").first()
    assert event is not None and event.object_label == "会计乙" and event.actor_user is None
    assert event.after["until"] == until.isoformat().replace("+00:00", "Z")
    # Another user is not affected from a fresh address.
    assert attempt(client, "viewer", "pw-viewer-1", address="10.0.2.1").status_code == 302
    # After the cool-off the right password works again from the locked address.
    with time_machine.travel(until + dt.timedelta(seconds=1), tick=False):
        assert attempt(client, "accountant", "pw-owner-1", address="10.0.1.1").status_code == 302


def test_guesses_at_a_name_from_one_address_never_lock_that_name_out_elsewhere(client, users):
    """Issue 27: with "username" among the lockout parameters, anyone could lock the admin out of
    the site from one address by guessing at the admin's name five times."""
    for n in range(settings.AXES_FAILURE_LIMIT + 2):
        attempt(client, "admin", f"guess-{n}", address="198.51.100.7")
        attempt(client, f"random-{n}", "guess", address="198.51.100.7")
    assert attempt(client, "admin", "pw-admin-1", address="198.51.100.7").status_code == 429
    assert attempt(client, "admin", "pw-admin-1", address="10.0.0.20").status_code == 302


def test_behind_the_proxy_guesses_lock_the_forwarded_address_only(client, users, settings):
    """Every request arrives from the proxy's address; the lockout and the audit log go by the
    X-Forwarded-For entry the proxy added, and ignore what the client forged to its left."""
    settings.QINGKA_PROXY_HOPS = 1

    def through_proxy(username, password, forwarded):
        return client.post(
            LOGIN,
            {"username": username, "password": password},
            REMOTE_ADDR="10.0.0.254",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    for n in range(settings.AXES_FAILURE_LIMIT):
        through_proxy(f"random-{n}", "guess", f"10.0.0.{n + 1}, 203.0.113.66")  # forged entries differ
    assert through_proxy("admin", "pw-admin-1", "203.0.113.66").status_code == 429
    assert through_proxy("admin", "pw-admin-1", "198.51.100.20").status_code == 302
    failed = AuditEvent.objects.filter(action="account.login_failed").values_list("source", flat=True)
    assert set(failed) == {"203.0.113.66"}
    locked = AuditEvent.objects.filter(action="account.locked_out")
    assert {(event.source, event.after["ip_address"]) for event in locked} == {("203.0.113.66", "203.0.113.66")}
    assert AuditEvent.objects.get(action="account.logged_in").source == "198.51.100.20"


def test_an_address_is_locked_out_after_failures_for_any_user_names(client, users):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"someone-{n}", "guess", address="10.0.5.5")
    assert attempt(client, "viewer", "pw-viewer-1", address="10.0.5.5").status_code == 429
    assert attempt(client, "viewer", "pw-viewer-1", address="10.0.5.6").status_code == 302
    event = AuditEvent.objects.filter(action="account.locked_out").first()
    assert event.after["ip_address"] == "10.0.5.5" and event.source == "10.0.5.5"


def test_password_reset_requests_are_limited_per_address_and_per_email(client, users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    users["owner"].email = "owner@example.com"
    users["owner"].save()
    limit = settings.QINGKA_PASSWORD_RESETS_PER_HOUR
    for n in range(limit):
        response = client.post(reverse("password_reset"), {"email": "owner@example.com"}, REMOTE_ADDR=f"10.1.0.{n}")
        assert response.status_code == 302
    assert len(mail.outbox) == limit
    refused = client.post(reverse("password_reset"), {"email": "owner@example.com"}, REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429 and "请求过于频繁" in refused.text and len(mail.outbox) == limit
    # Per address too: other e-mails from an address that has asked too often.
    for n in range(limit):
        client.post(reverse("password_reset"), {"email": f"x{n}@example.com"}, REMOTE_ADDR="10.1.2.2")
    assert client.post(reverse("password_reset"), {"email": "y@example.com"}, REMOTE_ADDR="10.1.2.2").status_code == 429
    # An hour later it works again.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=1)):
        assert client.post(reverse("password_reset"), {"email": "owner@example.com"}).status_code == 302


def test_api_token_requests_are_limited(client, users):
    client.force_login(users["owner"])
    limit = settings.QINGKA_API_TOKENS_PER_HOUR
    for n in range(limit):
        response = client.post(reverse("api_tokens"), {"name": f"脚本{n}", "days": 30})
        assert response.status_code == 200 and response.context["key"]
    refused = client.post(reverse("api_tokens"), {"name": "再来一个", "days": 30})
    assert refused.status_code == 429 and users["owner"].api_tokens.count() == limit
