"""从设备查询这张发票: the devices likely to hold the invoice are asked first (the client named, then
the devices that issued its code, the nearest number first), the rest only when the person asks;
one progress line, polled while the jobs run; a 会计 asks and sees only their own clients' devices."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from apps.core import clock
from apps.holds.models import Hold, HoldReason
from apps.invoices.models import Invoice
from apps.invoices.sync import likely_devices
from apps.jobs.models import Job, JobKind
from tests.factories import make_agent, make_client, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]  # 2026-11-10
CODE, NUMBER = "3126123456", "00000100"


def issued(device, number, *, code=CODE, day=3):
    return Invoice.objects.create(
        device=device,
        kind="004",
        code=code,
        number=number,
        issued_at=dt.datetime(2026, 11, day, 10, tzinfo=dt.UTC),
        amount=Decimal("100.00"),
        tax=Decimal("13.00"),
        uploaded=True,
        first_reported_at=clock.now(),
        reported_at=clock.now(),
    )


@pytest.fixture
def firm(users):
    agent, _token = make_agent()
    agent.online = True
    agent.save()

    def device(client, number, sub_number=0):
        return make_device(client, number=number, sub_number=sub_number, agent=agent, present=True, simulated=True)

    named = make_client(name="甲客户", staff=users["owner"])
    far = make_client(name="乙客户", staff=users["owner"])
    near = make_client(name="丙客户", staff=users["owner"])
    idle = make_client(name="丁客户", staff=users["owner"])
    theirs = make_client(name="戊客户", staff=users["colleague"])
    d = {
        "named_2": device(named, "539900000002"),
        "named_1": device(named, "539900000001", 1),
        "far": device(far, "539900000003"),
        "near": device(near, "539900000004"),
        "idle": device(idle, "539900000005"),
        "theirs": device(theirs, "539900000006"),
    }
    issued(d["far"], "00000010", day=9)  # 90 numbers away, though issued later
    issued(d["near"], "00000105")  # 5 numbers away
    issued(d["near"], "00000001", code="3126999999")  # another code: not why it is asked
    issued(d["idle"], "00000100", code="3126999999")
    issued(d["theirs"], "00000099")  # the nearest of all, but the colleague's client
    return {"named": named, "theirs": theirs, **d}


def numbers(devices):
    return [device.number[-1] for device in devices]


def test_the_client_named_then_the_devices_that_issued_the_code_nearest_number_first(firm, users):
    assert numbers(likely_devices(users["owner"], firm["named"], CODE, NUMBER)) == ["1", "2", "4", "3"]
    assert numbers(likely_devices(users["admin"], firm["named"], CODE, NUMBER)) == ["1", "2", "6", "4", "3"]
    assert numbers(likely_devices(users["admin"], None, CODE, NUMBER)) == ["6", "4", "3"]
    assert likely_devices(users["admin"], None, "", "0" * 20) == []  # 数电: no code, no client named
    assert likely_devices(users["colleague"], firm["named"], CODE, NUMBER) == [firm["theirs"]]  # never 甲's
    assert likely_devices(users["readonly"], firm["named"], CODE, NUMBER) == []  # runs no job


def ask(browser, **fields):
    back = f"{reverse('invoices:lookup')}?code={CODE}&number={NUMBER}&client={fields.get('client', '')}"
    return browser.post(reverse("invoices:sync"), {"code": CODE, "number": NUMBER, "back": back, **fields})


def first(pattern: str, html: str) -> str:
    match = re.search(pattern, html)
    assert match, pattern
    return match.group(1)


def progress_line(html: str) -> list[str]:
    return re.findall(r"已查询 \d+/\d+ 台设备，找到 \d+ 张", html)


def test_likely_first_one_progress_line_then_the_rest_when_asked(firm, users, as_role):
    owner = as_role("owner")
    response = ask(owner, client=firm["named"].pk)
    assert response.status_code == 302 and "asked=" in response["Location"]
    jobs = list(Job.objects.filter(kind=JobKind.QUERY_INVOICES).order_by("pk"))
    assert numbers(j.device for j in jobs) == ["1", "2", "4", "3"]  # asked in this order
    assert all(j.query == {"code": CODE, "number": NUMBER} and j.requested_by == users["owner"] for j in jobs)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["已向 4 台设备发起发票查询"]

    page = owner.get(response["Location"]).content.decode()
    assert progress_line(page) == ["已查询 0/4 台设备，找到 0 张"]
    assert page.count('id="invoice-progress"') == 1 and 'hx-trigger="every 2s"' in page
    assert "再查询其余 1 台设备" in page  # 丁's device; never the colleague's
    poll = first(r'hx-get="([^"]+)"', page).replace("&amp;", "&")

    # Two devices answer, one of them with the invoice.
    Job.objects.filter(pk__in=[jobs[0].pk, jobs[2].pk]).update(state="succeeded", finished_at=clock.now())
    issued(firm["near"], NUMBER)
    line = owner.get(poll)
    assert line.status_code == 200 and progress_line(line.content.decode()) == ["已查询 2/4 台设备，找到 1 张"]
    assert "查看结果" in line.content.decode() and "再查询其余" not in line.content.decode()

    # Nothing found after all four: the person asks the rest, and the line counts them all.
    Invoice.objects.filter(number=NUMBER, code=CODE).delete()
    Job.objects.filter(pk__in=[j.pk for j in jobs]).update(state="succeeded", finished_at=clock.now())
    line = owner.get(poll).content.decode()
    assert progress_line(line) == ["已查询 4/4 台设备，找到 0 张"] and "hx-get" not in line  # done: no more polling
    asked = first(r'name="asked" value="(\d+)"', line)
    rest = owner.post(reverse("invoices:sync"), {"code": CODE, "number": NUMBER, "devices": "rest", "asked": asked})
    new = Job.objects.filter(kind=JobKind.QUERY_INVOICES).exclude(pk__in=[j.pk for j in jobs])
    assert [j.device for j in new] == [firm["idle"]] and f"asked={asked}" in rest["Location"]
    assert progress_line(owner.get(poll).content.decode()) == ["已查询 4/5 台设备，找到 0 张"]
    owner.post(reverse("invoices:sync"), {"code": CODE, "number": NUMBER, "devices": "rest", "asked": asked})
    assert Job.objects.filter(kind=JobKind.QUERY_INVOICES).count() == 5  # nothing left to ask


def test_the_button_says_which_devices_it_asks(firm, as_role):
    page = as_role("owner").get(reverse("invoices:lookup"), {"code": CODE, "number": NUMBER}).content.decode()
    assert "先查询可能开具它的 2 台设备" in page and 'value="likely"' in page
    page = as_role("owner").get(reverse("invoices:lookup"), {"number": "1" * 20}).content.decode()
    assert "从全部 5 台设备查询这张发票" in page and 'value="rest"' in page


def test_devices_left_out_are_one_line_per_reason(firm, as_role):
    for name in ("named_1", "named_2"):
        Hold.objects.create(device=firm[name], reason=HoldReason.PASSWORD, error_code="CERT_PASSWORD_WRONG")
    response = ask(as_role("owner"), client=firm["named"].pk)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said[0] == "已向 2 台设备发起发票查询"
    assert len(said) == 2 and said[1].startswith("2 台设备未发起：") and "口令错误" in said[1]


def test_roles_a_viewer_cannot_ask_a_colleague_sees_nothing_of_anothers_look_up(firm, as_role, client):
    assert ask(as_role("readonly"), client=firm["named"].pk).status_code == 403
    ask(as_role("colleague"), client=firm["named"].pk)  # not their client: refused as bad input
    assert not Job.objects.exists()
    ask(as_role("owner"), client=firm["named"].pk)
    asked = int(clock.now().timestamp())
    params = {"code": CODE, "number": NUMBER, "asked": asked}
    as_role("colleague")
    assert progress_line(client.get(reverse("invoices:progress"), params).content.decode()) == [
        "已查询 0/0 台设备，找到 0 张"
    ]
    assert client.get(reverse("invoices:progress"), {**params, "client": firm["named"].pk}).status_code == 404
    assert client.get(reverse("invoices:progress"), {"code": CODE, "number": NUMBER}).status_code == 404
    client.logout()
    assert client.get(reverse("invoices:progress"), params).status_code == 302  # to the login page
