"""Issue 27: the second factor is asked again, with the action, for every action a stolen session
or API token must not do alone: confirming a bulk clear, creating an API token, switching the
autopilot on or widening it, adding a notification channel and setting a device password. No
code, a wrong one or one used already is refused and changes nothing; a current one is taken."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts.fresh_code import MISSING, WRONG
from apps.accounts.models import ApiToken
from apps.audit.models import AuditEvent
from apps.autopilot.models import Autopilot
from apps.devices.models import Device
from apps.holds.models import Hold, HoldReason
from apps.holds.services import hold
from apps.notifications.models import Channel
from apps.scheduling.models import Batch
from tests.factories import make_api_key, make_client, make_device
from tests.security.test_tokens_and_factor import START, a_period_to_clear, code_for, set_up_factor

pytestmark = [pytest.mark.security, pytest.mark.django_db]
LATER = START + dt.timedelta(minutes=1)  # a time step after the one the set-up took


def wrong_code(device: TOTPDevice, moment: dt.datetime) -> str:
    near = {code_for(device, moment + dt.timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


def three_tries(device, send, done, refused):
    """No code, then a wrong one: refused, nothing done. A current code: done. The same again: refused."""
    with time_machine.travel(LATER, tick=False):
        for code, error in (("", MISSING), (wrong_code(device, LATER), WRONG)):
            assert refused(send(code), str(error)), code
            assert not done(), code
    right_at = LATER + dt.timedelta(seconds=2)  # a wrong code makes the device wait a second
    with time_machine.travel(right_at, tick=False):
        code = code_for(device, right_at)
        send(code)
        assert done()
    return code


def form_refused(response, error):
    return response.status_code == 200 and error in response.text


def api_refused(response, error):
    return response.status_code == 400 and response.json()["otp"] == [error]


def api_of(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_api_key(user)}")
    return api


# --- the five actions, on the pages -----------------------------------------------------------------


def test_creating_an_api_token(client, users):
    device = set_up_factor(client, users["owner"])
    with time_machine.travel(LATER, tick=False):
        assert 'name="code"' in client.get(reverse("api_tokens")).text

    def send(code):
        return client.post(reverse("api_tokens"), {"name": "对账脚本", "days": 30, "code": code})

    three_tries(device, send, lambda: ApiToken.objects.filter(user=users["owner"]).exists(), form_refused)
    assert AuditEvent.objects.filter(action="api_token.created").count() == 1


def autopilot_form(**changes):
    return {"avoid_busy_hours": "on", "per_agent_per_minute": 60, "reminder_days": 3, **changes}


def test_switching_the_autopilot_on(client, users):
    device = set_up_factor(client, users["admin"])
    with time_machine.travel(LATER, tick=False):
        assert "开启自动清卡或放宽其范围时须填写" in client.get(reverse("autopilot:settings")).text

    def send(code):
        return client.post(reverse("autopilot:settings"), autopilot_form(enabled="on", code=code))

    three_tries(device, send, lambda: Autopilot.current().enabled, form_refused)
    assert AuditEvent.objects.get(action="autopilot.changed").after == {"enabled": True}


@pytest.mark.parametrize(
    "wider",
    [{"per_agent_per_minute": 120}, {"work_in_last_hour": "on"}, {"avoid_busy_hours": ""}],
    ids=["higher rate", "last hour", "busy hours"],
)
def test_widening_the_autopilot(client, users, wider):
    Autopilot.objects.create(pk=1, enabled=True)
    device = set_up_factor(client, users["admin"])

    def send(code):
        return client.post(reverse("autopilot:settings"), autopilot_form(enabled="on", **wider, code=code))

    three_tries(device, send, lambda: AuditEvent.objects.filter(action="autopilot.changed").exists(), form_refused)
    after = Autopilot.current()
    assert (after.per_agent_per_minute, after.work_in_last_hour, after.avoid_busy_hours) != (60, False, True)


def test_narrowing_the_autopilot_asks_no_code(client, users):
    Autopilot.objects.create(pk=1, enabled=True, work_in_last_hour=True, per_agent_per_minute=120)
    set_up_factor(client, users["admin"])
    with time_machine.travel(LATER, tick=False):
        response = client.post(reverse("autopilot:settings"), autopilot_form(per_agent_per_minute=30, reminder_days=5))
    assert response.status_code == 302
    autopilot = Autopilot.current()
    assert (autopilot.enabled, autopilot.work_in_last_hour, autopilot.per_agent_per_minute) == (False, False, 30)


def test_adding_a_notification_channel(client, users):
    device = set_up_factor(client, users["admin"])

    def send(code):
        return client.post(reverse("notifications:channels"), {"name": "群", "url": "wecombot://key", "code": code})

    three_tries(device, send, Channel.objects.exists, form_refused)
    assert AuditEvent.objects.filter(action="channel.created").count() == 1


def held_device(users) -> Device:
    device = make_device(client=make_client(staff=users["owner"]))
    hold(device, HoldReason.PASSWORD, error_code="0x0963c7", message="证书口令错误")
    return device


def test_setting_a_device_password_when_releasing_a_hold(client, users):
    device = held_device(users)
    factor = set_up_factor(client, users["owner"])
    the_hold = Hold.objects.get(device=device)

    def send(code):
        return client.post(
            reverse("holds:release", args=[the_hold.pk]),
            {"release": "password_corrected", "certificate_password": "Qk-87654321", "code": code},
        )

    def done():
        return Device.objects.get(pk=device.pk).certificate_password == "Qk-87654321"

    three_tries(factor, send, done, form_refused)
    assert not Hold.objects.get(pk=the_hold.pk).active
    assert AuditEvent.objects.get(action="device.hold_released").after["passwords_changed"] == ["certificate_password"]


def test_releasing_a_hold_without_a_new_password_asks_no_code(client, users):
    device = held_device(users)
    set_up_factor(client, users["owner"])
    the_hold = Hold.objects.get(device=device)
    with time_machine.travel(LATER, tick=False):
        response = client.post(reverse("holds:release", args=[the_hold.pk]), {"release": "handled"})
    assert response.status_code == 302 and not Hold.objects.get(pk=the_hold.pk).active


def test_setting_a_device_password_in_the_admin(client, users):
    boss = users["admin"]
    boss.is_staff = boss.is_superuser = True
    boss.save()
    device = make_device()
    factor = set_up_factor(client, boss)
    url = reverse("admin:devices_device_change", args=[device.pk])
    fields = {"kind": device.kind, "number": device.number, "client": device.client_id, "sub_number": 0}
    fields.update({"slot": "", "health": device.health, "new_device_password": "Qk-99887766"})

    def send(code):
        return client.post(url, {**fields, "code": code})

    three_tries(factor, send, lambda: Device.objects.get(pk=device.pk).device_password == "Qk-99887766", form_refused)


def test_confirming_a_bulk_clear(client, users):
    a_period_to_clear(users)
    device = set_up_factor(client, users["admin"])
    query = {"month": "2026-10", "kind": "clear", "when": "now", "per_agent_per_minute": 10}
    with time_machine.travel(LATER, tick=False):
        token = str(client.get(reverse("scheduling:new"), query).context["token"])

    def send(code):
        return client.post(reverse("scheduling:confirm"), {**query, "token": token, "code": code}, follow=True)

    three_tries(device, send, Batch.objects.exists, form_refused)
    assert AuditEvent.objects.filter(action="batch.created").count() == 1


def test_a_code_confirms_one_action_only(client, users):
    device = set_up_factor(client, users["admin"])
    code = three_tries(
        device,
        lambda code: client.post(reverse("api_tokens"), {"name": "脚本", "days": 30, "code": code}),
        ApiToken.objects.exists,
        form_refused,
    )
    with time_machine.travel(LATER + dt.timedelta(seconds=3), tick=False):
        again = client.post(reverse("notifications:channels"), {"name": "群", "url": "wecombot://key", "code": code})
    assert form_refused(again, str(WRONG)) and not Channel.objects.exists()


# --- the same through the API ---------------------------------------------------------------------


def test_adding_a_notification_channel_through_the_api(client, users):
    device = set_up_factor(client, users["admin"])
    api = api_of(users["admin"])

    def send(code):
        return api.post("/api/v1/notification-channels/", {"name": "群", "url": "wecombot://key", "otp": code})

    three_tries(device, send, Channel.objects.exists, api_refused)
    assert AuditEvent.objects.filter(action="channel.created").count() == 1


def test_setting_a_device_password_through_the_api(client, users):
    device = make_device(client=make_client())
    factor = set_up_factor(client, users["admin"])
    api = api_of(users["admin"])

    def send(code):
        return api.patch(f"/api/v1/devices/{device.pk}/", {"device_password": "Qk-99887766", "otp": code})

    three_tries(factor, send, lambda: Device.objects.get(pk=device.pk).device_password == "Qk-99887766", api_refused)
    with time_machine.travel(LATER + dt.timedelta(minutes=1), tick=False):  # no password, no code
        assert api.patch(f"/api/v1/devices/{device.pk}/", {"slot": "A-1"}).status_code == 200
    assert AuditEvent.objects.filter(action="device.updated").count() == 2


def import_with_password(number: str) -> bytes:
    from tests.status_pages.test_import import ROWS, xlsx

    return xlsx([[*ROWS[0][:6], number, 0, "Zx81726354", ""]])


def test_an_import_that_sets_a_device_password_on_the_page(client, users):
    factor = set_up_factor(client, users["admin"])
    from tests.status_pages.test_import import _file

    with time_machine.travel(LATER, tick=False):
        preview = client.post("/clients/import/", {"file": _file(import_with_password("539900000011"), "客户.xlsx")})
    token = preview.context["token"]
    assert 'name="code"' in preview.text

    def send(code):
        return client.post("/clients/import/confirm/", {"token": token, "code": code})

    three_tries(factor, send, lambda: Device.objects.filter(number="539900000011").exists(), form_refused)


def test_an_import_that_sets_a_device_password_through_the_api(client, users):
    from tests.status_pages.test_import import upload

    factor = set_up_factor(client, users["admin"])
    api = api_of(users["admin"])

    def send(code):
        return upload(api, import_with_password("539900000012"), dry_run="false", otp=code)

    def refused(response, error):
        return response.status_code == 400 and response.json()["errors"][0] == {
            "row": None,
            "column": "otp",
            "message": error,
        }

    with time_machine.travel(LATER - dt.timedelta(seconds=30), tick=False):  # a dry run writes nothing: no code
        assert upload(api, import_with_password("539900000012")).status_code == 200
    three_tries(factor, send, lambda: Device.objects.filter(number="539900000012").exists(), refused)


def test_an_import_without_passwords_asks_no_code(client, users):
    from tests.status_pages.test_import import ROWS, _file, xlsx

    set_up_factor(client, users["admin"])
    rows = [[*row[:8], "", ""] for row in ROWS]
    with time_machine.travel(LATER, tick=False):
        preview = client.post("/clients/import/", {"file": _file(xlsx(rows), "客户.xlsx")})
        assert 'name="code"' not in preview.text
        client.post("/clients/import/confirm/", {"token": preview.context["token"]})
    assert Device.objects.count() == 3


# --- without a factor, nothing is asked -----------------------------------------------------------


def test_without_a_factor_no_code_is_asked(client, users):
    client.force_login(users["admin"])
    assert 'name="code"' not in client.get(reverse("api_tokens")).text
    assert client.post(reverse("autopilot:settings"), autopilot_form(enabled="on")).status_code == 302
    assert client.post(reverse("notifications:channels"), {"name": "群", "url": "wecombot://key"}).status_code == 302
    device = make_device()
    patched = api_of(users["admin"]).patch(f"/api/v1/devices/{device.pk}/", {"device_password": "Qk-99887766"})
    assert patched.status_code == 200 and Autopilot.current().enabled and Channel.objects.exists()
