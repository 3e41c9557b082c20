"""Django's login, logout, password change and reset, in Chinese; the session ends after inactivity."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User

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
    assert client.login(username="accountant", password="Qk-reset-pass-88")
    assert "无效" in client.get(link, follow=True).text  # the link works once


@pytest.mark.django_db
def test_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done") and mail.outbox == []


def expiry(client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


@pytest.mark.django_db
def test_each_request_pushes_the_expiry_forward_and_inactivity_logs_out(client, users):
    age = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert settings.SESSION_SAVE_EVERY_REQUEST and age <= dt.timedelta(hours=1)
    start = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=start):
        assert client.post(reverse("login"), {"username": "viewer", "password": "pw-viewer-1"}).status_code == 302
        assert client.get(PAGE).status_code == 200
    first = expiry(client)
    assert abs(first - (start + age)) < dt.timedelta(seconds=5)
    # Active every 80% of the idle time: still signed in long after the first expiry.
    for step in range(1, 4):
        now = start + step * age * 0.8
        with mock.patch("django.utils.timezone.now", return_value=now):
            assert client.get(PAGE).status_code == 200, step
        assert abs(expiry(client) - (now + age)) < dt.timedelta(seconds=5)
    assert expiry(client) > first + age
    # Then idle for longer than the timeout: signed out.
    with mock.patch("django.utils.timezone.now", return_value=now + age + dt.timedelta(seconds=1)):
        response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
