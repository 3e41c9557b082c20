"""Content-Security-Policy without inline script, the API docs behind login, a 负责会计 who is a
会计 everywhere, and the API refusing what the pages refuse, for the same reason."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from apps.clients.models import Client
from apps.jobs.models import Job
from tests.factories import credit_code, make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.security, pytest.mark.django_db]
TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def test_no_template_has_inline_script_or_handlers():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        found += [f"{path.name}: {m.group(0)}" for m in (*INLINE_SCRIPT.finditer(text), *INLINE_HANDLER.finditer(text))]
    assert found == []


@pytest.mark.parametrize("path", ["/", "/jobs/", "/audit/", "/accounts/tokens/", "/api/v1/docs/", "/admin/"])
def test_every_page_forbids_inline_script(client, users, path):
    boss = users["admin"]
    boss.is_staff = boss.is_superuser = True
    boss.save()
    client.force_login(boss)
    response = client.get(path)
    assert response.status_code == 200, path
    policy = response["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]*)", policy).group(1).split()
    assert script == ["'self'"] and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert not INLINE_SCRIPT.search(response.content.decode()), path


def test_the_api_docs_and_schema_need_a_login(client, users):
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
    assert client.get("/api/v1/schema/").status_code in (401, 403)
    client.force_login(users["readonly"])
    assert client.get("/api/v1/schema/").status_code == 200


# --- 负责会计 -------------------------------------------------------------------------------------


def test_a_clients_staff_must_be_an_accountant_in_the_model(users):
    from django.core.exceptions import ValidationError

    client = Client(name="甲公司", taxpayer_id=credit_code(9001), taxpayer_kind="general", staff=users["readonly"])
    with pytest.raises(ValidationError) as refused:
        client.full_clean()
    assert "负责会计必须是角色为“会计”的用户" in str(refused.value.message_dict["staff"])
    client.staff = users["owner"]
    client.full_clean()


@pytest.mark.parametrize("role", ["admin", "readonly"])
def test_the_api_refuses_a_staff_who_is_not_an_accountant(api, users, role):
    body = {"name": "乙公司", "taxpayer_id": credit_code(9002), "taxpayer_kind": "general", "staff": users[role].pk}
    response = api.post("/api/v1/clients/", body, format="json")
    assert response.status_code == 400 and "负责会计必须是角色为“会计”的用户" in response.json()["staff"][0]
    assert api.post("/api/v1/clients/", {**body, "staff": users["owner"].pk}, format="json").status_code == 201


def test_the_admin_offers_and_accepts_accountants_only(client, users):
    boss = users["admin"]
    boss.is_staff = boss.is_superuser = True
    boss.save()
    client.force_login(boss)
    company = make_client()
    url = f"/admin/clients/client/{company.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert set(form.fields["staff"].queryset) == {users["owner"], users["colleague"]}
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(staff=users["readonly"].pk, filing_frequency_override="", notes="")
    assert client.post(url, data).status_code == 200  # refused, shown again with the error
    company.refresh_from_db()
    assert company.staff is None


# --- pages and API agree -------------------------------------------------------------------------


def test_a_clear_of_a_period_that_is_not_ready_is_refused_by_page_and_api_alike(client, api, users, nov10):
    agent, _ = make_agent()
    agent.online = True
    agent.save()
    company = make_client(staff=users["owner"])
    make_device(client=company, agent=agent, present=True)
    period = make_period(client=company)  # 2026-10, nothing done yet: 待抄报
    client.force_login(users["admin"])
    page = client.post(reverse("clients:clear", args=[company.pk]), follow=True)
    page_reason = [str(m) for m in page.context["messages"] if m.level_tag == "error"]
    response = api.post("/api/v1/jobs/", {"kind": "clear", "period": period.pk}, format="json")
    assert response.status_code == 400 and response.json()["period"] == page_reason
    assert page_reason[0].startswith("2026-10：") and not Job.objects.exists()


def test_recording_a_return_for_a_month_without_one_is_refused_by_page_and_api_alike(client, api, users, nov10):
    company = make_client(staff=users["owner"], taxpayer_kind="small_scale")  # quarterly: no return for 2026-10
    period = make_period(client=company, month=dt.date(2026, 10, 1))
    client.force_login(users["admin"])
    page = client.post(
        reverse("clients:record_return", args=[company.pk]), {"month": "2026-10", "filed_on": "2026-11-05"}
    )
    page_errors = page.context["form"].non_field_errors()
    response = api.post(f"/api/v1/periods/{period.pk}/file-return/", {"filed_on": "2026-11-05"}, format="json")
    assert response.status_code == 400 and response.json()["non_field_errors"] == list(page_errors)
