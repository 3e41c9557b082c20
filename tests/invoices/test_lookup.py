"""发票查询: invoices kept from what query jobs reported; found with their client, device, period and
upload; a miss explained from the site's own data; a 会计 never sees another's; the export safe."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from apps.core import clock
from apps.invoices.lookup import Criteria, explain, found, search
from apps.invoices.models import Invoice
from apps.jobs import requesting
from apps.jobs.models import Job, JobKind
from tests import agent_calls
from tests.factories import make_agent, make_client, make_device, make_period

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]  # 2026-11-10
CODE, OTHER_CODE = "3126123456", "031261234567"


def reported(number, *, code=CODE, day=dt.date(2026, 11, 3), amount="1000.00", tax="130.00", **extra):
    entry = {
        "type": "004" if len(code) == 10 else "026",
        "code": code,
        "number": number,
        "issued_at": f"{day}T10:30:00+08:00",
        "amount": amount,
        "tax": tax,
        "buyer": "上海明远贸易有限公司",
        "uploaded": True,
    }
    return {**entry, **extra}


@pytest.fixture
def world(users, django_capture_on_commit_callbacks):
    agent, token = make_agent()
    agent.online = True
    agent.save()
    mine = make_client(name="乙的客户", staff=users["owner"])
    theirs = make_client(name="丙的客户", staff=users["colleague"])
    my_device = make_device(mine, agent=agent, present=True, simulated=True)
    their_device = make_device(theirs, agent=agent, present=True, simulated=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")

    def report(device, invoices, query=None):
        """A 发票查询 job on `device`, claimed and answered by the agent through its API."""
        with django_capture_on_commit_callbacks(execute=False):
            [job], skipped = requesting.request_jobs(
                JobKind.QUERY_INVOICES, [device], query=query or {"month": "2026-11"}
            )
        assert not skipped
        assert agent_calls.claim(api, job.pk)["status"] == 200
        body = {"attempt": 1, "outcome": "succeeded", "monitoring": {"offline_pending": 0}, "invoices": invoices}
        assert agent_calls.report(api, job.pk, body)["status"] == 200
        job.refresh_from_db()
        return job

    return {"mine": mine, "theirs": theirs, "my_device": my_device, "their_device": their_device, "report": report}


def test_a_query_result_keeps_the_readable_invoices_and_a_second_report_updates_them(world):
    offline = reported("00000001", uploaded=False)
    bad = [
        reported("123"),  # not 8 digits
        reported("00000002", code="12"),
        reported("00000003", issued_at="2026-11-03T10:30:00"),  # no time zone
        reported("00000004", amount="lots"),
        "not an object",
    ]
    job = world["report"](world["my_device"], [offline, reported("00000005"), *bad])
    assert (job.state, job.result["invoices"], job.result["invoices_rejected"]) == ("succeeded", 2, 5)
    invoice = Invoice.objects.get(number="00000001")
    assert (invoice.device, invoice.uploaded, invoice.reported_by, invoice.amount) == (
        world["my_device"],
        False,
        job,
        Decimal("1000.00"),
    )
    later = world["report"](world["my_device"], [{**offline, "uploaded": True}])
    invoice.refresh_from_db()
    assert invoice.uploaded and invoice.reported_by == later and invoice.first_reported_at <= invoice.reported_at
    assert Invoice.objects.count() == 2


def test_search_by_number_dates_or_amount_within_what_the_user_may_see(world, users):
    world["report"](world["my_device"], [reported("00000001"), reported("00000002", day=dt.date(2026, 11, 8))])
    world["report"](world["their_device"], [reported("00000003", code=OTHER_CODE, amount="88.50", tax="11.51")])
    admin, owner, colleague = users["admin"], users["owner"], users["colleague"]

    def numbers(user, **criteria):
        return sorted(search(user, Criteria(**criteria)).values_list("number", flat=True))

    assert numbers(owner, code=CODE, number="00000001") == ["00000001"]
    assert numbers(owner, number="00000001") == ["00000001"]  # the code is optional
    assert numbers(owner, date_from=dt.date(2026, 11, 5), date_to=dt.date(2026, 11, 30)) == ["00000002"]
    assert numbers(admin, amount=Decimal("1130.00")) == ["00000001", "00000002"]  # 价税合计 finds them too
    assert numbers(admin, amount=Decimal("88.50")) == ["00000003"]
    assert numbers(owner, amount=Decimal("88.50")) == [] and numbers(colleague, number="00000001") == []
    assert numbers(admin, number="00000003", client=world["mine"]) == []


def test_each_invoice_says_its_client_device_period_and_upload(world, users):
    world["report"](
        world["my_device"],
        [reported("00000001"), reported("00000002", uploaded=False), reported("00000003", day=dt.date(2026, 10, 9))],
    )
    make_period(world["mine"], month=dt.date(2026, 10, 1), summary_uploaded_at=clock.now())
    rows = {row.invoice.number: row for row in found(search(users["owner"], Criteria(date_from=dt.date(2026, 10, 1))))}
    october = rows["00000003"]
    assert (october.invoice.device.client, october.month, october.period.month) == (
        world["mine"],
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 1),
    )
    assert "已随 2026-10 抄报汇总" in october.upload
    assert rows["00000001"].period is None and "将随 2026-11 的抄报汇总（2026-12-01 起）" in rows["00000001"].upload
    assert "离线开具，尚未上传税局" in rows["00000002"].upload


def kinds(reasons):
    return [reason.kind for reason in reasons]


def test_a_miss_is_explained_by_what_the_site_knows(world, users):
    owner = users["owner"]
    asked = Criteria(code=CODE, number="00000009")
    # Nothing reported yet: the code was never seen and the device never read.
    reasons = explain(owner, asked, clock.now())
    assert kinds(reasons) == ["not_synced", "not_ours"]
    assert reasons[0].devices == [(world["my_device"], "从未查询")] and CODE in reasons[1].text

    world["report"](world["my_device"], [reported("00000001"), reported("00000090")])
    reasons = explain(owner, asked, clock.now())
    assert kinds(reasons) == ["near"]  # read just now: the number one digit off, or two digits swapped
    assert sorted(i.number for i in reasons[0].invoices) == ["00000001", "00000090"]

    # Read two days ago, and the device says it holds offline invoices not yet uploaded.
    Job.objects.filter(kind=JobKind.QUERY_INVOICES).update(finished_at=clock.now() - dt.timedelta(days=2))
    world["my_device"].monitoring = {"offline_pending": 2}
    world["my_device"].save()
    reasons = explain(owner, Criteria(code=CODE, number="77777777"), clock.now())
    assert kinds(reasons) == ["not_synced", "offline"]
    assert "最近查询 2026-11-08" in reasons[0].devices[0][1] and reasons[1].devices[0][1] == "2 张离线发票未上传"


def test_a_miss_in_one_client_names_the_other_client_that_has_it_and_never_a_colleagues(world, users):
    world["report"](world["my_device"], [reported("00000001")])
    admin_view = explain(users["admin"], Criteria(number="00000001", client=world["theirs"]), clock.now())
    assert "elsewhere" in kinds(admin_view)
    # The colleague searching their own client learns nothing about 乙's invoice.
    colleague_view = explain(users["colleague"], Criteria(number="00000001"), clock.now())
    assert kinds(colleague_view) == ["not_synced"]
    assert all(not reason.invoices for reason in colleague_view)


def test_all_read_and_nothing_near_says_another_device_issued_it(world, users):
    world["report"](world["my_device"], [reported("00000001")])
    reasons = explain(users["owner"], Criteria(date_from=dt.date(2026, 11, 1), amount=Decimal("5.00")), clock.now())
    assert kinds(reasons) == ["not_ours"]


def page(browser, **params):
    return browser.get(reverse("invoices:lookup"), params)


def test_the_page_finds_explains_and_refuses_bad_input_field_by_field(world, as_role):
    world["report"](world["my_device"], [reported("00000001")])
    html = page(as_role("owner"), code=CODE, number="00000001").content.decode()
    assert 'data-number="00000001"' in html and "乙的客户" in html
    html = page(as_role("owner"), code=CODE, number="00000009").content.decode()
    assert 'data-reason="not_ours"' not in html and "已上报的数据中没有这张发票" in html
    html = page(as_role("owner"), code="123", number="x", date_from="2026-11-09", date_to="2026-11-01").content.decode()
    for error in ("发票代码应为10位或12位数字", "发票号码应为8位数字（数电票为20位）", "结束日期不能早于开始日期"):
        assert error in html
    assert "请填写发票号码、开票日期或金额中的至少一项" in page(as_role("owner"), client="").content.decode()
    assert (
        "没有这个客户，或您无权查看"
        in page(as_role("owner"), number="00000001", client=world["theirs"].pk).content.decode()
    )


def test_the_export_is_what_was_found_with_formulas_kept_as_text(world, as_role):
    world["report"](world["my_device"], [reported("00000001", buyer='=HYPERLINK("http://x")')])
    response = page(as_role("owner"), number="00000001", export="xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(min_row=2)]  # under the title
    assert [c.value for c in rows[0][:4]] == ["发票代码", "发票号码", "发票种类", "开票时间"]
    assert [c.value for c in rows[1][:2]] == [CODE, "00000001"] and rows[1][8].value == "乙的客户"
    buyer = rows[1][7]
    assert buyer.value == '=HYPERLINK("http://x")' and buyer.data_type == "s" and buyer.quotePrefix
    assert rows[1][12].value.startswith("已上传税局")
    assert len(rows) == 2
    csv = page(as_role("owner"), number="00000001", export="csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv


def test_reading_from_the_devices_is_for_those_who_run_jobs_on_them(world, as_role, users):
    back = f"{reverse('invoices:lookup')}?number=00000009"
    response = as_role("owner").post(reverse("invoices:sync"), {"month": "2026-11", "back": back})
    assert response.status_code == 302 and response["Location"].startswith(f"{back}&asked=")  # its progress
    [job] = Job.objects.filter(kind=JobKind.QUERY_INVOICES)
    assert (job.device, job.query, job.requested_by) == (world["my_device"], {"month": "2026-11"}, users["owner"])
    as_role("owner").post(reverse("invoices:sync"), {"month": "2026-11"})  # the same query already under way
    assert Job.objects.filter(kind=JobKind.QUERY_INVOICES).count() == 1
    another = {"code": CODE, "number": "00000009", "devices": "rest"}  # no device known to hold it: all of them
    as_role("owner").post(reverse("invoices:sync"), another)  # another query: fine
    assert Job.objects.filter(kind=JobKind.QUERY_INVOICES).count() == 2
    assert as_role("readonly").post(reverse("invoices:sync"), {"month": "2026-11"}).status_code == 403
    as_role("owner").post(reverse("invoices:sync"), {"month": "11/2026"})  # bad input changes nothing
    assert Job.objects.filter(kind=JobKind.QUERY_INVOICES).count() == 2


def test_the_api_searches_explains_and_asks_the_devices(world, users, api):
    world["report"](world["my_device"], [reported("00000001")])
    answer = api.get("/api/v1/invoices/", {"number": "00000001"}).json()
    assert answer["count"] == 1 and answer["reasons"] == []
    hit = answer["results"][0]
    assert (hit["client"]["name"], hit["device"], hit["period"], hit["amount"]) == (
        "乙的客户",
        world["my_device"].number,
        "2026-11",
        "1000.00",
    )
    miss = api.get("/api/v1/invoices/", {"code": CODE, "number": "00000010"}).json()
    assert miss["count"] == 0 and [r["kind"] for r in miss["reasons"]][0] == "near"
    assert api.get("/api/v1/invoices/", {"number": "12"}).json() == {"number": ["发票号码应为8位数字（数电票为20位）"]}
    not_an_object = api.post("/api/v1/invoices/sync/", [1], format="json")
    assert not_an_object.status_code == 400 and not_an_object.json() == {"detail": "请求体应为 JSON 对象"}
    asked = api.post("/api/v1/invoices/sync/", {"month": "2026-11"}, format="json")
    assert asked.status_code == 202 and len(asked.json()["jobs"]) == 2
    assert APIClient().get("/api/v1/invoices/", {"number": "00000001"}).status_code in (401, 403)


def test_a_query_needs_no_period_and_stops_at_a_held_device_like_a_read(world):
    from apps.holds.models import Hold, HoldReason

    Hold.objects.create(device=world["my_device"], reason=HoldReason.PASSWORD, error_code="CERT_PASSWORD_WRONG")
    jobs, skipped = requesting.request_jobs(JobKind.QUERY_INVOICES, [world["my_device"]], query={"month": "2026-11"})
    assert jobs == [] and "口令错误" in skipped[0][1]


def test_a_query_after_a_failed_clear_hides_neither_the_last_job_nor_the_row_to_handle(world, users):
    from apps.attention.rows import Kind, rows_for
    from apps.jobs.queries import attach_last_jobs

    failed = Job.objects.create(
        kind=JobKind.CLEAR,
        device=world["my_device"],
        state="failed",
        error_code="RETURN_NOT_FILED",
        finished_at=clock.now(),
        created_at=clock.now(),
    )
    world["report"](world["my_device"], [reported("00000001")])  # the newest job of the device
    client = world["mine"]
    attach_last_jobs([client])
    assert client.last_job == failed
    rows = [row for row in rows_for(users["owner"], clock.now()) if row.kind == Kind.FAILED]
    assert [row.actions["retry"] for row in rows] == [failed]
