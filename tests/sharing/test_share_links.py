import datetime as dt

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from apps.sharing.models import SALT, ShareLink
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]


@pytest.fixture
def company(users):
    agent, _ = make_agent("内部机柜甲")
    client = make_client(name="乙的客户有限公司", staff=users["owner"], notes="内部备注：老板难沟通")
    device = make_device(
        client=client,
        agent=agent,
        slot="1-1.4.2",
        simulated=True,
        monitoring={"zxbsrq": "2026-11-02", "kpjzsj": "2026-11-16", "invoice_types": {"004": {"state": 2}}},
    )
    make_period(client=client, month=dt.date(2026, 10, 1), summary_uploaded_at=timezone.now())
    Job.objects.create(
        device=device,
        kind="clear",
        state="failed",
        error_code="CERT_PASSWORD_WRONG",
        error_message="证书口令错误，剩余3次",
    )
    make_client(name="别家公司有限公司", staff=users["colleague"])
    return client


def create(web, client, **data):
    return web.post(reverse("sharing:create", args=[client.pk]), data)


def test_owner_creates_a_link_that_is_audited_and_expires_in_30_days_by_default(as_role, company, users):
    response = create(as_role("owner"), company)
    assert response.status_code == 302
    link = ShareLink.objects.get()
    assert link.client == company and link.created_by == users["owner"]
    assert link.expires_at == timezone.now() + dt.timedelta(days=30)
    event = AuditEvent.objects.get(action="share_link.created")
    assert event.client == company and event.actor_user == users["owner"]
    page = as_role("owner").get(reverse("clients:detail", args=[company.pk])).content.decode()
    assert reverse("sharing:public", args=[link.token]) in page


def test_expiry_is_choosable_and_checked(as_role, company):
    create(as_role("admin"), company, days="7")
    assert ShareLink.objects.get().expires_at == timezone.now() + dt.timedelta(days=7)
    response = create(as_role("admin"), company, days="3650")
    assert response.status_code == 302 and ShareLink.objects.count() == 1


@pytest.mark.parametrize(("role", "status"), [("readonly", 403), ("colleague", 404)])
def test_others_may_not_create_or_revoke(as_role, company, role, status):
    assert create(as_role(role), company).status_code == status
    link = ShareLink.objects.create(client=company, expires_at=timezone.now() + dt.timedelta(days=30))
    assert as_role(role).post(reverse("sharing:revoke", args=[link.pk])).status_code == status
    link.refresh_from_db()
    assert link.revoked_at is None and ShareLink.objects.count() == 1 and not AuditEvent.objects.exists()


def test_anonymous_may_not_create_or_revoke(client, company):
    assert create(client, company).url.startswith(reverse("login"))
    assert not ShareLink.objects.exists()


def test_the_public_page_shows_the_company_and_nothing_internal(client, as_role, company):
    create(as_role("owner"), company)
    client.logout()
    link = ShareLink.objects.get()
    response = client.get(reverse("sharing:public", args=[link.token]))
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex, nofollow"
    html = response.content.decode()
    for shown in [
        "乙的客户有限公司",
        company.taxpayer_id,
        "待申报",
        "2026年10月",
        "2026年11月16日",
        "抄税未清卡",
        'class="badge simulated"',
    ]:
        assert shown in html, shown
    for hidden in [
        "会计乙",
        "accountant",
        "别家公司有限公司",
        "内部机柜甲",
        "1-1.4.2",
        "证书口令",
        "CERT_PASSWORD_WRONG",
        "剩余3次",
        "老板难沟通",
        "12345678",
        "88888888",
        "退出",
    ]:
        assert hidden not in html, hidden
    assert len(response.context["timeline"]) == 24


def test_owner_and_colleague_see_the_same_public_page(as_role, company):
    create(as_role("owner"), company)
    url = reverse("sharing:public", args=[ShareLink.objects.get().token])
    assert as_role("owner").get(url).status_code == 200
    assert as_role("colleague").get(url).status_code == 200  # the link is for anyone who holds it


@pytest.mark.security
def test_revoked_link_says_it_expired_and_whom_to_ask_and_revoking_is_audited(client, as_role, company, users):
    create(as_role("owner"), company)
    link = ShareLink.objects.get()
    url = reverse("sharing:public", args=[link.token])
    assert as_role("owner").post(reverse("sharing:revoke", args=[link.pk])).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == users["owner"]
    assert AuditEvent.objects.filter(action="share_link.revoked", client=company).count() == 1
    client.logout()
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 410 and "此链接已失效" in text and "会计乙" in text  # the client's 负责会计
    assert company.name not in text and company.taxpayer_id not in text


@pytest.mark.security
def test_expired_link_says_so(client, company, nov10):
    link = ShareLink.objects.create(client=company, expires_at=timezone.now() + dt.timedelta(days=7))
    url = reverse("sharing:public", args=[link.token])
    assert client.get(url).status_code == 200
    nov10.tick(dt.timedelta(days=7, seconds=1))
    page = client.get(url)
    assert page.status_code == 410 and "已过期或已被撤销" in page.content.decode()


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        signing.dumps({"link": 1, "client": 1}, salt="another.salt"),
        signing.dumps({"link": 1, "client": 1}, salt=SALT, key="not-the-site-secret"),
        signing.dumps({"link": 1}, salt=SALT),
    ],
    ids=["nonsense", "another-salt", "another-key", "no-client"],  # the tokens carry the time
)
def test_outsider_with_a_bad_token_gets_404(client, company, token):
    ShareLink.objects.create(pk=1, client=company, expires_at=timezone.now() + dt.timedelta(days=30))
    assert client.get(reverse("sharing:public", args=[token])).status_code == 404


def test_a_token_for_another_client_or_altered_is_404(client, company):
    link = ShareLink.objects.create(client=company, expires_at=timezone.now() + dt.timedelta(days=30))
    other = make_client()
    forged = signing.dumps({"link": link.pk, "client": other.pk}, salt=SALT, compress=True)
    assert client.get(reverse("sharing:public", args=[forged])).status_code == 404
    tampered = link.token[:-1] + ("A" if link.token[-1] != "A" else "B")
    assert client.get(reverse("sharing:public", args=[tampered])).status_code == 404
    assert client.get(reverse("sharing:public", args=[link.token])).status_code == 200
