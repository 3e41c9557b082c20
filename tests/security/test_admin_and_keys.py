"""Every change in the Django admin is audited; deployment checks refuse unsafe mail and keys; the
field key can be rotated."""

import os

import pytest
from cryptography.fernet import Fernet
from django.contrib import admin
from django.core.management import call_command
from django.db import connection

from apps.audit.models import AuditEvent
from apps.audit.trail import AuditedAdmin
from apps.devices.models import Agent, Device
from tests.factories import make_agent, make_client, make_device
from tests.test_settings import manage

pytestmark = pytest.mark.security


def test_every_admin_in_the_site_is_audited():
    unaudited = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedAdmin)
    ]
    assert admin.site._registry and unaudited == []


@pytest.fixture
def boss(client, users):
    user = users["admin"]
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return user


@pytest.mark.django_db
def test_a_change_in_the_admin_is_audited_with_before_and_after(client, boss, users):
    company = make_client(name="旧名称有限公司")
    url = f"/admin/clients/client/{company.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(name="新名称有限公司", staff=users["owner"].pk, filing_frequency_override="", notes="")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    event = AuditEvent.objects.get(action="admin.changed")
    assert event.actor_user == boss and event.client == company
    assert event.before["name"] == "旧名称有限公司" and event.after["name"] == "新名称有限公司"
    assert event.after["staff_id"] == users["owner"].pk


@pytest.mark.django_db
def test_a_password_change_in_the_admin_is_audited_without_the_password(client, boss, users):
    url = f"/admin/accounts/user/{users['owner'].pk}/password/"
    response = client.post(
        url, {"password1": "Qk-admin-set-55", "password2": "Qk-admin-set-55", "usable_password": "true"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.changed", object_id=str(users["owner"].pk))
    assert event.after["password"] == "已修改" and event.before["password"] == "已设置"
    assert "Qk-admin-set-55" not in str(event.after) and "md5$" not in str(event.after) + str(event.before)


@pytest.mark.django_db
def test_a_deletion_in_the_admin_even_in_bulk_is_audited_and_secrets_stay_out(client, boss):
    agent, _ = make_agent("删除用前置机")
    devices = [make_device(agent=agent, certificate_password="cert-秘密-1") for _ in range(2)]
    response = client.post(
        "/admin/devices/device/",
        {"action": "delete_selected", "_selected_action": [d.pk for d in devices], "post": "yes"},
    )
    assert response.status_code == 302 and not Device.objects.filter(pk__in=[d.pk for d in devices]).exists()
    events = AuditEvent.objects.filter(action="admin.deleted", object_type="devices.device")
    assert events.count() == 2
    assert all(e.before["certificate_password"] == "已设置" for e in events)
    assert "cert-秘密-1" not in str(list(AuditEvent.objects.values("before", "after")))
    assert Agent.objects.filter(pk=agent.pk).exists()


# --- keys ----------------------------------------------------------------------------------------


def deploy_check(tmp_path, **env):
    base = dict(
        DEBUG="0",
        SECRET_KEY="x" * 20 + os.urandom(24).hex(),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="qingka.example.com",
        DATABASE_URL=os.environ["DATABASE_URL"],
        QINGKA_VAR_DIR=str(tmp_path),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    return manage("check", "--deploy", **{**base, **env})


def test_check_deploy_refuses_a_console_mail_backend(tmp_path):
    result = deploy_check(tmp_path, EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    assert result.returncode != 0 and "qingka.E005" in result.stderr


@pytest.mark.parametrize("key", ["not-a-fernet-key", "good,short"])
def test_check_deploy_refuses_an_invalid_fernet_key(tmp_path, key):
    """A key that is no Fernet key, and a rotation list whose second key is short."""
    key = key.replace("good", Fernet.generate_key().decode())
    result = deploy_check(tmp_path, FIELD_ENCRYPTION_KEY=key)
    assert result.returncode != 0 and "qingka.E006" in result.stderr


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_rotate_field_key_re_encrypts_every_secret_under_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    agent, _ = make_agent()
    device = make_device(agent=agent, certificate_password="证书口令-甲", device_password="设备口令-乙")
    stored = raw_column("devices_device", "certificate_password", device.pk)
    assert Fernet(old.encode()).decrypt(stored.encode()).decode() == "证书口令-甲"
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    call_command("rotate_field_key", stdout=open(os.devnull, "w"))
    settings.FIELD_ENCRYPTION_KEY = new  # the old key is gone: everything still reads
    device = Device.objects.get(pk=device.pk)
    assert (device.certificate_password, device.device_password) == ("证书口令-甲", "设备口令-乙")
    assert Agent.objects.get(pk=agent.pk).signing_key == agent.signing_key
    for table, column, pk in (
        ("devices_device", "certificate_password", device.pk),
        ("devices_device", "device_password", device.pk),
        ("devices_agent", "signing_key", agent.pk),
    ):
        Fernet(new.encode()).decrypt(raw_column(table, column, pk).encode())  # raises unless under the new key
