"""Django's login, logout, password change and reset, in Chinese; the session ends after inactivity."""

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditEvent

PAGE = "/jobs/"  # any page that needs a signed-in user


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


@pytest.mark.django_db
def test_login_works_and_opens_the_dashboard(client, users):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and "登录清卡" in page.text
    response = client.post(reverse("login"), {"username": "accountant", "password": "pw-owner-1"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_login_goes_back_to_the_page_asked_for(client, users):
    assert client.get(PAGE)["Location"] == f"{reverse('login')}?next={PAGE}"
    response = client.post(reverse("login"), {"username": "viewer", "password": "pw-viewer-1", "next": PAGE})
    assert response["Location"] == PAGE


@pytest.mark.django_db
def test_a_wrong_password_is_refused_in_chinese(client, users):
    response = client.post(reverse("login"), {"username": "accountant", "password": "wrong"})
    assert response.status_code == 200 and not signed_in(client)
    assert "请输入一个正确的" in response.text  # Django's own message, in Chinese


@pytest.mark.django_db
def test_logout_is_a_post(client, users):
    client.force_login(users["owner"])
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not signed_in(client)
    assert client.get(PAGE).status_code == 302


@pytest.mark.django_db
def test_password_change(client, users):
    client.force_login(users["owner"])
    assert client.get(reverse("password_change")).status_code == 200
    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "Qk-new-pass-77", "new_password2": "Qk-new-pass-77"},
    )
    assert wrong.status_code == 200 and "old_password" in wrong.context["form"].errors
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-owner-1", "new_password1": "Qk-new-pass-77", "new_password2": "Qk-new-pass-77"},
    )
    assert response["Location"] == reverse("password_change_done")
    assert "你的密码已修改" in client.get(response["Location"]).text
    user = User.objects.get(pk=users["owner"].pk)
    assert user.check_password("Qk-new-pass-77") and not user.check_password("pw-owner-1")
    assert signed_in(client)  # changing the password keeps this session


@pytest.mark.django_db
def test_password_reset_by_email(client, users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    User.objects.filter(pk=users["owner"].pk).update(email="owner@example.com")
    response = client.post(reverse("password_reset"), {"email": "owner@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link)  # Django swaps the token for a session and redirects
    assert form.status_code == 302
    page = client.get(form["Location"])
    assert page.status_code == 200 and "设置新密码" in page.text
    done = client.post(form["Location"], {"new_password1": "Qk-reset-pass-88", "new_password2": "Qk-reset-pass-88"})
    assert done["Location"] == reverse("password_reset_complete")
    assert User.objects.get(pk=users["owner"].pk).check_password("Qk-reset-pass-88")
    signed = client.post(reverse("login"), {"username": "accountant", "password": "Qk-reset-pass-88"})
    assert signed.status_code == 302 and signed_in(client)
    assert "无效" in client.get(link, follow=True).text  # the link works once


@pytest.mark.django_db
def test_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done") and mail.outbox == []


def signed_in_after(client, moment, path=PAGE, **headers) -> bool:
    """Whether `path` at `moment` is served to the signed-in person (not sent to the login page)."""
    with time_machine.travel(moment, tick=False):
        response = client.get(path, **headers)
    return response.status_code == 200 and "HX-Redirect" not in response


@pytest.mark.security
@pytest.mark.django_db
def test_the_idle_timeout_counts_the_persons_requests(client, users):
    idle = dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS)
    start = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        assert client.post(reverse("login"), {"username": "viewer", "password": "pw-viewer-1"}).status_code == 302
    # Active every 80% of the idle time: still signed in long after the first timeout.
    for step in range(1, 4):
        assert signed_in_after(client, start + step * idle * 0.8), step
    last = start + 3 * idle * 0.8
    # Then idle for longer than the timeout: signed out, and the page asks for the login.
    response_moment = last + idle + dt.timedelta(seconds=1)
    assert not signed_in_after(client, response_moment)
    assert not signed_in(client)


@pytest.mark.security
@pytest.mark.django_db
def test_the_dashboards_polling_does_not_keep_the_session_alive(client, users):
    idle = dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS)
    start = dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        client.post(reverse("login"), {"username": "viewer", "password": "pw-viewer-1"})
        assert client.get(reverse("dashboard")).status_code == 200
    # The page polls every few seconds while the person is away: the polls are answered ...
    moment = start
    while moment < start + idle * 0.9:
        moment += idle / 10
        assert signed_in_after(client, moment, reverse("dashboard_live"), HTTP_HX_REQUEST="true")
    # ... but do not count as the person doing something: past the timeout the poll sends the
    # page to the login form, and the person is signed out.
    with time_machine.travel(start + idle + dt.timedelta(seconds=1), tick=False):
        poll = client.get(reverse("dashboard_live"), HTTP_HX_REQUEST="true")
    assert poll.status_code == 204 and poll["HX-Redirect"] == reverse("login")
    assert not signed_in(client)
    event = AuditEvent.objects.filter(action="account.logged_out").get()
    assert event.actor_user == users["readonly"]
