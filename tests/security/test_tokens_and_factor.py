"""API tokens expire and are revoked (from a page, and by a password change); the TOTP second
factor is asked at login, required for 管理员 when the firm says so, and again for a bulk clear."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, FirmSettings
from apps.audit.models import AuditEvent
from apps.scheduling.models import Batch
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.security, pytest.mark.django_db]
START = dt.datetime(2026, 11, 10, 2, 0, tzinfo=dt.UTC)


def api_with(key) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def new_token(client, name="对账脚本", days=30) -> str:
    response = client.post(reverse("api_tokens"), {"name": name, "days": days})
    assert response.status_code == 200
    return response.context["key"]


def test_a_token_works_until_it_expires(client, users):
    with time_machine.travel(START, tick=False):
        client.force_login(users["owner"])
        key = new_token(client, days=30)
        assert api_with(key).get("/api/v1/clients/").status_code == 200
    assert not ApiToken.objects.filter(key_hash=key).exists()  # only the hash is kept
    with time_machine.travel(START + dt.timedelta(days=30, seconds=1), tick=False):
        refused = api_with(key).get("/api/v1/clients/")
    assert refused.status_code == 401 and "已过期" in refused.json()["detail"]


def test_a_token_is_revoked_from_the_page_and_only_by_its_owner(client, users):
    client.force_login(users["owner"])
    key = new_token(client)
    token = ApiToken.objects.get(user=users["owner"])
    page = client.get(reverse("api_tokens")).text
    assert "对账脚本" in page and token.prefix in page and key not in page  # the key is shown once only
    client.force_login(users["colleague"])
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert api_with(key).get("/api/v1/clients/").status_code == 200
    client.force_login(users["owner"])
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    assert api_with(key).get("/api/v1/clients/").status_code == 401
    assert AuditEvent.objects.filter(action="api_token.revoked", actor_user=users["owner"]).count() == 1


def test_changing_the_password_revokes_every_token(client, users):
    client.force_login(users["owner"])
    keys = [new_token(client, name=f"脚本{n}") for n in range(2)]
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-owner-1", "new_password1": "Qk-new-pass-77", "new_password2": "Qk-new-pass-77"},
    )
    assert response.status_code == 302
    for key in keys:
        assert api_with(key).get("/api/v1/clients/").status_code == 401
    event = AuditEvent.objects.get(action="api_token.revoked_all")
    assert event.after == {"reason": "password_changed", "tokens": 2}


def test_a_password_reset_revokes_the_calendar_feed_link(client, users, settings):
    """Issue 27: the reset revoked tokens and sessions, but the ICS feed link kept working."""
    import re

    from django.core import mail

    from apps.accounts.models import User
    from apps.filing_calendar.services import feed_key, new_feed

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    owner = users["owner"]
    User.objects.filter(pk=owner.pk).update(email="owner@example.com")
    key = feed_key(new_feed(owner))
    assert client.get(reverse("calendar_ics"), {"key": key}).status_code == 200
    client.post(reverse("password_reset"), {"email": "owner@example.com"})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link)
    client.post(form["Location"], {"new_password1": "Qk-reset-pass-88", "new_password2": "Qk-reset-pass-88"})
    assert User.objects.get(pk=owner.pk).check_password("Qk-reset-pass-88")
    assert client.get(reverse("calendar_ics"), {"key": key}).status_code in (403, 404)
    assert AuditEvent.objects.filter(action="calendar_feed.revoked").count() == 1


# --- the second factor ---------------------------------------------------------------------------


def code_for(device: TOTPDevice, moment: dt.datetime) -> str:
    with time_machine.travel(moment, tick=False):
        return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def set_up_factor(client, user, moment=START) -> TOTPDevice:
    client.force_login(user)
    with time_machine.travel(moment, tick=False):
        page = client.get(reverse("two_factor"))
        assert page.status_code == 200 and page.context["qr"].startswith("data:image/svg+xml")
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        wrong = "000000" if code_for(device, moment) != "000000" else "111111"
        assert client.post(reverse("two_factor"), {"code": wrong}).status_code == 200
    # A wrong code makes the device wait a second before it accepts another.
    moment += dt.timedelta(seconds=2)
    with time_machine.travel(moment, tick=False):
        assert client.post(reverse("two_factor"), {"code": code_for(device, moment)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def sign_in(client, username, password, moment):
    client.logout()
    with time_machine.travel(moment, tick=False):
        return client.post(reverse("login"), {"username": username, "password": password})


def test_with_the_factor_on_the_password_alone_reaches_nothing(client, users):
    device = set_up_factor(client, users["owner"])
    later = START + dt.timedelta(minutes=5)
    assert sign_in(client, "accountant", "pw-owner-1", later).status_code == 302
    with time_machine.travel(later, tick=False):
        for path in ("/", "/jobs/", "/api/v1/clients/", "/accounts/tokens/"):
            response = client.get(path)
            assert response.status_code in (302, 403), path
            if response.status_code == 302:
                assert response["Location"].startswith(reverse("two_factor_verify"))
        wrong = client.post(reverse("two_factor_verify"), {"code": "12345x"})
        assert wrong.status_code == 200 and "不正确" in wrong.text
    later += dt.timedelta(seconds=2)
    with time_machine.travel(later, tick=False):
        right = client.post(reverse("two_factor_verify"), {"code": code_for(device, later), "next": "/jobs/"})
        assert right.status_code == 302 and right["Location"] == "/jobs/"
        assert client.get("/jobs/").status_code == 200
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"account.second_factor_enabled", "account.second_factor_failed", "account.second_factor_passed"} <= actions


def get(client, path, moment=START):
    with time_machine.travel(moment, tick=False):
        return client.get(path)


def test_the_firm_can_require_the_factor_for_admins(client, users):
    assert sign_in(client, "admin", "pw-admin-1", START).status_code == 302
    assert get(client, "/").status_code == 200  # not required yet
    FirmSettings.objects.create(require_admin_second_factor=True)
    sign_in(client, "admin", "pw-admin-1", START)
    with time_machine.travel(START, tick=False):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor"))
    # An accountant is not concerned.
    sign_in(client, "accountant", "pw-owner-1", START)
    assert get(client, "/").status_code == 200
    # The admin sets one up and is let through; cannot turn it off while the firm requires it.
    sign_in(client, "admin", "pw-admin-1", START)
    device = set_up_factor(client, users["admin"], START + dt.timedelta(minutes=1))
    later = START + dt.timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        assert client.get("/").status_code == 200
        refused = client.post(reverse("two_factor"), {"code": code_for(device, later)})
    assert "不能关闭" in refused.text and TOTPDevice.objects.filter(user=users["admin"], confirmed=True).exists()


def a_period_to_clear(users) -> None:
    """October's period of a 会计's client, summarised and its return filed: ready for a bulk 清卡."""
    agent, _ = make_agent()
    agent.online = True
    agent.save()
    company = make_client(staff=users["owner"])
    make_device(client=company, agent=agent, present=True)
    make_period(client=company, summary_uploaded_at=START - dt.timedelta(days=7), return_filed_on=dt.date(2026, 11, 5))


def test_confirming_a_bulk_clear_asks_for_the_code_again(client, users):
    a_period_to_clear(users)
    device = set_up_factor(client, users["admin"], START)
    query = {"month": "2026-10", "kind": "clear", "when": "now", "per_agent_per_minute": 10}
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        preview = client.get(reverse("scheduling:new"), query)
        assert preview.context["ask_code"] and 'name="code"' in preview.text
        token = str(preview.context["token"])
        refused = client.post(reverse("scheduling:confirm"), {**query, "token": token, "code": "000000"})
        assert refused.status_code == 302 and refused["Location"] == reverse("scheduling:new")
        assert not Batch.objects.exists()
        code = code_for(device, START + dt.timedelta(minutes=1))
    with time_machine.travel(START + dt.timedelta(minutes=1, seconds=3), tick=False):
        done = client.post(reverse("scheduling:confirm"), {**query, "token": token, "code": code})
    assert done.status_code == 302 and Batch.objects.count() == 1
