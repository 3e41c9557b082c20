import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.devices.models import Device
from tests.factories import make_client

URL = "/api/v1/devices/"


@pytest.fixture
def client_company(db):
    return make_client()


def create(api, client_company, **fields):
    body = {"kind": "tax_disk", "number": "539912237528", "client": client_company.pk, **fields}
    return api.post(URL, body, format="json")


@pytest.mark.django_db
def test_passwords_are_write_only_encrypted_at_rest_and_never_audited(api, client_company):
    response = create(api, client_company, certificate_password="Secret-Cert-1", device_password="Secret-Dev-2")
    assert response.status_code == 201, response.json()
    text = response.content.decode()
    assert "Secret-Cert-1" not in text and "certificate_password" not in response.json()
    device = Device.objects.get()
    assert (device.certificate_password, device.device_password) == ("Secret-Cert-1", "Secret-Dev-2")
    with connection.cursor() as cursor:
        cursor.execute("SELECT certificate_password, device_password FROM devices_device")
        stored = cursor.fetchone()
    assert "Secret" not in "".join(stored)
    listed = api.get(URL).content.decode() + api.get(f"{URL}{device.pk}/").content.decode()
    assert "Secret" not in listed and "certificate_password" not in listed
    assert "Secret" not in str(list(AuditEvent.objects.values("before", "after")))


@pytest.mark.django_db
def test_default_passwords_by_kind_and_kept_when_left_out(api, client_company):
    device_id = create(api, client_company, kind="golden_tax_disk").json()["id"]
    device = Device.objects.get(pk=device_id)
    assert (device.certificate_password, device.device_password) == ("12345678", "23456789")
    api.patch(f"{URL}{device_id}/", {"slot": "1-1.4", "device_password": ""}, format="json")
    device.refresh_from_db()
    assert (device.slot, device.device_password) == ("1-1.4", "23456789")


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["53991223752", "5399122375280", "53991223752A"])
def test_a_bad_device_number_is_refused(api, client_company, number):
    response = create(api, client_company, number=number)
    assert response.status_code == 400 and "设备编号应为12位数字" in response.json()["number"]
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_device_numbers_are_unique(api, client_company):
    assert create(api, client_company).status_code == 201
    response = create(api, client_company, sub_number=1)
    assert response.status_code == 400 and list(response.json()) == ["number"]


@pytest.mark.django_db
def test_cycle_state_comes_from_the_monitoring_snapshot(api, client_company):
    device = Device.objects.create(
        client=client_company,
        kind="ukey",
        number="537100494968",
        monitoring={"zxbsrq": "2000-01-05", "kpjzsj": "2000-02-15"},
    )
    assert api.get(f"{URL}{device.pk}/").json()["cycle_state"] == "locked"
