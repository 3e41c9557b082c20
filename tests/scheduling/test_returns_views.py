"""Upload of filed returns: roles, the preview writes nothing, the confirmation writes all rows
or none, and the kept rows come from the session, never from the form."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from apps.audit.models import AuditEvent
from apps.periods.models import Period
from apps.scheduling.views import UPLOAD_SESSION_KEY
from tests.factories import make_client, make_period

HEADER = "纳税人识别号,所属月份,申报日期,申报销售额,申报税额"
URL, CONFIRM = "/bulk/returns/", "/bulk/returns/confirm/"


@pytest.fixture
def clients(users, nov10):
    return {
        "mine": make_client(name="甲公司", staff=users["owner"]),
        "theirs": make_client(name="乙公司", staff=users["colleague"]),
    }


def upload(client, *lines, name="申报.csv", encoding="utf-8-sig"):
    data = "\r\n".join([HEADER, *lines]).encode(encoding)
    return client.post(URL, {"file": SimpleUploadedFile(name, data)})


def good_lines(clients):
    return [
        f"{clients['mine'].taxpayer_id},2026-10,2026-11-05,1000,130",
        f"{clients['mine'].taxpayer_id},2026-09,2026-10-10,,",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, url", [("get", URL), ("post", URL), ("post", CONFIRM), ("get", URL + "template.xlsx")]
)
def test_anonymous_is_sent_to_login(client, users, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, url",
    [("get", URL), ("post", URL), ("post", CONFIRM), ("get", URL + "template.xlsx"), ("get", URL + "template.csv")],
)
def test_readonly_is_forbidden(as_role, users, method, url):
    assert getattr(as_role("readonly"), method)(url).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "owner", "colleague"])
def test_admins_and_accountants_may_open_the_page(as_role, role):
    response = as_role(role).get(URL)
    assert response.status_code == 200 and "纳税人识别号" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_download(as_role, users, fmt):
    response = as_role("owner").get(f"{URL}template.{fmt}")
    assert response.status_code == 200 and f".{fmt}" in response["Content-Disposition"]
    if fmt == "csv":
        assert response.content.decode("utf-8-sig").strip() == HEADER
    else:
        import io

        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert [cell.value for cell in next(sheet.iter_rows(min_row=2))] == HEADER.split(",")  # under the title
    assert as_role("owner").get(f"{URL}template.pdf").status_code == 404


@pytest.mark.django_db
def test_preview_then_confirm(as_role, users, clients):
    owner = as_role("owner")
    response = upload(owner, *good_lines(clients))
    assert response.status_code == 200 and response.context["bad"] == 0
    page = response.content.decode()
    assert "确认记录 2 条申报" in page and "¥1,000.00" in page and "甲公司" in page
    assert Period.objects.count() == 0 and not AuditEvent.objects.filter(action="period.return_filed").exists()
    token = response.context["token"]
    assert owner.session[UPLOAD_SESSION_KEY]["token"] == token

    response = owner.post(CONFIRM, {"token": token}, follow=True)
    assert "已从文件“申报.csv”记录 2 条申报" in response.content.decode()
    october = Period.objects.get(client=clients["mine"], month=dt.date(2026, 10, 1))
    assert (october.return_filed_on, str(october.declared_tax)) == (dt.date(2026, 11, 5), "130.00")
    events = AuditEvent.objects.filter(action="period.return_filed")
    assert events.count() == 2 and {e.actor_user for e in events} == {users["owner"]}
    assert UPLOAD_SESSION_KEY not in owner.session

    again = owner.post(CONFIRM, {"token": token}, follow=True)  # the same confirmation once more
    assert "预览已失效或已提交过" in again.content.decode()
    assert AuditEvent.objects.filter(action="period.return_filed").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_encodings_through_the_page(as_role, clients, encoding):
    response = upload(as_role("admin"), *good_lines(clients), encoding=encoding)
    assert response.context["bad"] == 0 and len(response.context["rows"]) == 2


@pytest.mark.django_db
def test_one_bad_row_and_nothing_can_be_written(as_role, clients):
    owner = as_role("owner")
    response = upload(owner, *good_lines(clients), f"{clients['theirs'].taxpayer_id},2026-10,2026-11-05,,")
    assert response.context["bad"] == 1 and "token" not in response.context
    page = response.content.decode()
    assert "不是您负责的客户" in page and "未记录任何申报" in page and "确认记录" not in page
    assert UPLOAD_SESSION_KEY not in owner.session
    assert owner.post(CONFIRM, {"token": "anything"}).status_code == 302
    assert Period.objects.count() == 0


@pytest.mark.django_db
def test_a_new_bad_upload_drops_the_previous_preview(as_role, clients):
    owner = as_role("owner")
    token = upload(owner, *good_lines(clients)).context["token"]
    upload(owner, "x,y,z,,")
    owner.post(CONFIRM, {"token": token})
    assert Period.objects.count() == 0


@pytest.mark.django_db
def test_file_level_errors_are_shown_on_the_field(as_role, clients):
    response = as_role("owner").post(URL, {"file": SimpleUploadedFile("a.pdf", b"%PDF")})
    assert "仅支持 .xlsx 或 .csv 文件" in " ".join(response.context["form"].errors["file"])
    response = as_role("owner").post(URL, {})
    assert "请选择要上传的文件" in " ".join(response.context["form"].errors["file"])


@pytest.mark.django_db
def test_the_confirmation_writes_all_or_nothing(as_role, users, clients):
    owner = as_role("owner")
    make_period(clients["mine"], month=dt.date(2026, 9, 1))
    token = upload(owner, *good_lines(clients)).context["token"]
    clients["mine"].staff = users["colleague"]  # reassigned between the preview and the confirmation
    clients["mine"].save()
    response = owner.post(CONFIRM, {"token": token}, follow=True)
    assert "未记录任何申报" in response.content.decode()
    assert not Period.objects.filter(return_filed_on__isnull=False).exists()
    assert Period.objects.count() == 1


@pytest.mark.django_db
def test_the_rows_come_from_the_session_not_the_form(as_role, users, clients):
    owner = as_role("owner")
    token = upload(owner, good_lines(clients)[0]).context["token"]
    owner.post(CONFIRM, {"token": token, "client": clients["theirs"].pk, "filed_on": "2026-11-01", "rows": "[]"})
    assert list(Period.objects.values_list("client", "return_filed_on")) == [(clients["mine"].pk, dt.date(2026, 11, 5))]


@pytest.mark.django_db
def test_another_users_preview_cannot_be_confirmed(client, users, clients):
    client.force_login(users["owner"])
    token = upload(client, *good_lines(clients)).context["token"]
    client.force_login(users["colleague"])  # a new session
    client.post(CONFIRM, {"token": token})
    assert Period.objects.count() == 0
