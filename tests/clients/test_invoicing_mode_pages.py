"""设置开票方式 on the client page and through the clients API: the firm's admins and the client's
会计 may, others may not; each change is audited (docs/domain.md, "Invoicing mode per month")."""

import datetime as dt

import pytest

from apps.audit.models import AuditEvent
from apps.clients.models import InvoicingMode, InvoicingModeChange
from tests.factories import make_client

pytestmark = pytest.mark.django_db


def test_the_clients_accountant_sets_the_mode_on_the_page_and_a_colleague_cannot(as_role, users):
    client = make_client(staff=users["owner"])
    page = as_role("owner")
    response = page.post(f"/clients/{client.pk}/invoicing-mode/", {"mode": "digital", "from_month": "2026-11"})
    assert response.status_code == 302
    assert list(InvoicingModeChange.objects.values_list("mode", "from_month")) == [
        (InvoicingMode.DIGITAL, dt.date(2026, 11, 1))
    ]
    assert AuditEvent.objects.filter(action="client.invoicing_mode", actor_user=users["owner"]).count() == 1
    shown = page.get(f"/clients/{client.pk}/").content.decode()
    assert "2026-11 起数电" in shown
    other = as_role("colleague").post(
        f"/clients/{client.pk}/invoicing-mode/", {"mode": "dual", "from_month": "2026-12"}
    )
    assert other.status_code in (403, 404)
    assert InvoicingModeChange.objects.count() == 1


def test_the_api_sets_and_lists_the_modes(api, users):
    client = make_client()
    response = api.post(
        f"/api/v1/clients/{client.pk}/invoicing-mode/", {"mode": "dual", "from_month": "2026-10-15"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["invoicing_modes"] == [{"mode": "dual", "from_month": "2026-10-01"}]
    bad = api.post(f"/api/v1/clients/{client.pk}/invoicing-mode/", {"mode": "paper", "from_month": "2026-10-01"})
    assert bad.status_code == 400
    assert api.get(f"/api/v1/clients/{client.pk}/").json()["invoicing_modes"] == [
        {"mode": "dual", "from_month": "2026-10-01"}
    ]
