"""图表: the burn-down and the agents' charts, their numbers, who they count, and a page that
draws them from static files with no inline script."""

import datetime as dt
import json
import re

import pytest
from django.contrib.staticfiles import finders

from apps.charts import data
from apps.jobs.models import Job, JobKind, JobState
from apps.periods.models import Period
from tests.factories import make_agent, make_client, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]
SH = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.date(2026, 11, 10)


def period(client, month, cleared_at=None):
    return Period.objects.create(client=client, month=month, deadline=dt.date(2026, 11, 16), cleared_at=cleared_at)


@pytest.fixture
def month_end(users):
    early = make_client(name="早", staff=users["owner"])
    late = make_client(name="晚", staff=users["owner"])
    never = make_client(name="未", staff=users["colleague"])
    make_client(name="停", staff=users["owner"], active=False)
    period(early, dt.date(2026, 10, 1), dt.datetime(2026, 11, 3, 9, 0, tzinfo=SH))
    period(late, dt.date(2026, 10, 1), dt.datetime(2026, 11, 9, 23, 30, tzinfo=SH))  # the 9th in Shanghai
    period(never, dt.date(2026, 10, 1))
    for client, day in ((early, 2), (late, 5), (never, 20)):
        period(client, dt.date(2026, 9, 1), dt.datetime(2026, 10, day, 10, 0, tzinfo=SH))
    return {"early": early, "late": late, "never": never}


def test_burn_down_counts_clients_not_cleared_by_day_beside_last_month(users, month_end):
    chart = data.burn_down(users["admin"], dt.date(2026, 10, 1), TODAY)
    this, last = chart.series
    assert this.label == "2026年10月所属期" and last.label == "2026年9月所属期"
    assert this.values[:11] == [3, 3, 2, 2, 2, 2, 2, 2, 1, 1, None]
    assert this.values[30] is None and len(this.values) == 31  # November has 30 days
    assert last.values[0] == 3 and last.values[1] == 2 and last.values[4] == 1 and last.values[19] == 0
    assert last.values[30] == 0  # October has 31
    assert chart.markers == [
        {"at": 15, "label": "2026年10月所属期截止（16日）"},
        {"at": 25, "label": "2026年9月所属期截止（26日）"},
    ]
    assert chart.rows()[2] == ("3日", 2, 2)


def test_an_accountant_counts_only_own_clients(users, month_end):
    this, last = data.burn_down(users["owner"], dt.date(2026, 10, 1), TODAY).series
    assert this.values[:10] == [2, 2, 1, 1, 1, 1, 1, 1, 0, 0] and last.values[19] == 0


@pytest.fixture
def jobs(users, month_end):
    one, _token = make_agent("一号前置机")
    two, _token = make_agent("二号前置机")
    mine = make_device(month_end["early"], agent=one)
    theirs = make_device(month_end["never"], agent=two)

    def job(device, state, finished, code=""):
        Job.objects.create(
            kind=JobKind.CLEAR, device=device, state=state, finished_at=finished, error_code=code, attempts=1
        )

    job(mine, JobState.SUCCEEDED, dt.datetime(2026, 11, 9, 10, 0, tzinfo=SH))
    job(mine, JobState.FAILED, dt.datetime(2026, 11, 10, 0, 30, tzinfo=SH), "CERT_PASSWORD_WRONG")
    job(theirs, JobState.FAILED, dt.datetime(2026, 11, 10, 1, 0, tzinfo=SH), "CERT_PASSWORD_WRONG")
    job(theirs, JobState.FAILED, dt.datetime(2026, 11, 8, 1, 0, tzinfo=SH), "DEVICE_BUSY")
    job(theirs, JobState.SUCCEEDED, dt.datetime(2026, 10, 1, 1, 0, tzinfo=SH))  # outside the window
    Job.objects.create(kind=JobKind.CLEAR, device=theirs, state=JobState.RUNNING)  # not finished


def test_agent_throughput_per_day(users, jobs):
    chart = data.agent_throughput(users["admin"], dt.date(2026, 11, 8), TODAY)
    assert chart.labels == ["11-08", "11-09", "11-10"]
    assert [(s.label, s.values) for s in chart.series] == [("一号前置机", [0, 1, 1]), ("二号前置机", [1, 0, 1])]
    mine = data.agent_throughput(users["owner"], dt.date(2026, 11, 8), TODAY)
    assert [(s.label, s.values) for s in mine.series] == [("一号前置机", [0, 1, 1])]


def test_failures_by_code_per_agent(users, jobs):
    chart, codes = data.failures_by_code(users["admin"], dt.date(2026, 11, 8), TODAY)
    assert chart.labels == ["证书口令错误", "税盘正在被使用"] and chart.horizontal and chart.stacked
    assert [(s.label, s.values) for s in chart.series] == [("一号前置机", [1, 0]), ("二号前置机", [1, 1])]
    assert [(c["code"], c["total"], str(c["info"].message)) for c in codes] == [
        ("CERT_PASSWORD_WRONG", 2, "证书口令错误"),
        ("DEVICE_BUSY", 1, "税盘正在被使用"),
    ]
    chart, codes = data.failures_by_code(users["colleague"], dt.date(2026, 11, 8), TODAY)
    assert [(s.label, s.values) for s in chart.series] == [("二号前置机", [1, 1])]


def test_the_page_draws_from_static_files_with_the_numbers_beside(as_role, jobs):
    response = as_role("admin").get("/charts/", {"days": 7})
    html = response.content.decode()
    assert response.status_code == 200 and response.context["days"] == 7
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [attrs for attrs, body in scripts if body.strip() and 'type="application/json"' not in attrs]
    assert inline == []  # CSP: page code only in static files, data through json_script
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, body in scripts if "src=" in attrs]
    assert "/static/vendor/chartjs/chart.umd.min.js" in sources and "/static/qingka/charts.js" in sources
    assert finders.find("vendor/chartjs/chart.umd.min.js") and finders.find("vendor/chartjs/LICENSE.md")
    burn = json.loads(re.search(r'id="burn-down-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert burn["kind"] == "line" and burn["series"][0]["values"][:3] == [3, 3, 2]
    assert 'data-chart="burn-down-data"' in html and "<td>3日</td><td>2</td><td>2</td>" in html
    assert "CERT_PASSWORD_WRONG" in html and "核对并更正证书口令" in html


def test_anonymous_is_sent_to_login(client):
    response = client.get("/charts/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
