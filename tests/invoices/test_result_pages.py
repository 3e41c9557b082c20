"""A 发票查询 answer bigger than one result takes (issue 27): the agent sends it in numbered pages,
the site keeps each page's invoices once and finishes the job only when every page is in. A result
too big for the site fails its job with RESULT_TOO_LARGE at once, never by its lease running out."""

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.invoices.models import Invoice
from apps.invoices.services import MAX_INVOICES_PER_RESULT
from apps.jobs import messaging, requesting
from apps.jobs.models import JobKind, JobState
from tests.factories import make_agent, make_client, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.faults, pytest.mark.usefixtures("nov10")]  # 2026-11-10


def invoice(n: int) -> dict:
    return {
        "type": "004",
        "code": "3126123456",
        "number": f"{n:08d}",
        "issued_at": "2026-10-03T10:30:00+08:00",
        "amount": "1000.00",
        "tax": "130.00",
        "buyer": "上海明远贸易有限公司",
        "uploaded": True,
    }


@pytest.fixture
def agent_api(monkeypatch):
    monkeypatch.setattr(messaging, "_publish", lambda producer, queue, args: None)  # the broker: see tests/e2e
    agent, token = make_agent()
    agent.online = True
    agent.save()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    return agent, api


def claimed_job(agent, api, kind=JobKind.QUERY_INVOICES):
    device = make_device(make_client(), agent=agent, present=True, simulated=True)
    query = {"month": "2026-10"} if kind == JobKind.QUERY_INVOICES else None
    [job], skipped = requesting.request_jobs(kind, [device], query=query)
    assert not skipped
    assert api.post("/api/v1/agent/jobs/claim/", {"jobs": [{"id": job.pk, "attempt": 1}]}, format="json").json()["jobs"]
    return job


def page(job, number: int, pages: int, invoices: list[dict], **fields) -> dict:
    return {
        "job": job.pk,
        "attempt": 1,
        "outcome": "succeeded",
        "monitoring": {"offline_pending": 0},
        "finished_at": "2026-11-10T09:00:00+08:00",
        "invoices": invoices,
        "page": number,
        "pages": pages,
        **fields,
    }


def report(api, *results) -> dict:
    answer = api.post("/api/v1/agent/jobs/results/", {"results": list(results)}, format="json")
    assert answer.status_code == 200, answer.content
    return {item["job"]: item for item in answer.json()["results"]}


def test_the_site_says_how_many_invoices_a_page_takes(agent_api):
    agent, api = agent_api
    assert api.get("/api/v1/agent/me/").json()["result_pages"] == {"invoices": MAX_INVOICES_PER_RESULT, "pages": 200}


def test_pages_in_any_order_a_replay_and_a_missing_page(agent_api):
    agent, api = agent_api
    job = claimed_job(agent, api)
    chunks = [[invoice(n) for n in range(start, start + 4)] for start in (1, 5, 9)]
    chunks[1].append({"number": "not one"})  # an unreadable invoice is skipped and counted, as in one result

    assert report(api, page(job, 3, 3, chunks[2]))[job.pk]["status"] == 200
    assert report(api, page(job, 1, 3, chunks[0]))[job.pk]["status"] == 200
    assert report(api, page(job, 1, 3, chunks[0]))[job.pk]["state"] == JobState.RUNNING  # a replay: a no-op
    job.refresh_from_db()
    # Page 2 is missing: the job runs on, and the invoices of the pages in are kept already.
    assert job.state == JobState.RUNNING and job.result_pages["received"] == {"3": [4, 0], "1": [4, 0]}
    assert Invoice.objects.filter(reported_by=job).count() == 8
    assert not AuditEvent.objects.filter(action="job.succeeded").exists()

    assert report(api, page(job, 2, 3, chunks[1]))[job.pk]["state"] == JobState.SUCCEEDED
    job.refresh_from_db()
    assert (job.result["invoices"], job.result["invoices_rejected"], job.result["pages"]) == (12, 1, 3)
    assert Invoice.objects.filter(reported_by=job).count() == 12

    # Every page again after the job finished: 200, and nothing changes.
    for number, chunk in enumerate(chunks, 1):
        assert report(api, page(job, number, 3, chunk))[job.pk]["state"] == JobState.SUCCEEDED
    assert AuditEvent.objects.filter(action="job.succeeded", object_id=str(job.pk)).count() == 1
    assert Invoice.objects.filter(reported_by=job).count() == 12


def test_a_page_too_big_is_refused_clearly_and_fails_its_job_at_once(agent_api):
    agent, api = agent_api
    job, other = claimed_job(agent, api), claimed_job(agent, api)
    too_many = [invoice(n) for n in range(1, MAX_INVOICES_PER_RESULT + 2)]
    answers = report(api, page(job, 1, 3, too_many), page(other, 1, 1, [invoice(1)]))
    assert answers[job.pk]["status"] == 400
    assert "最多 5000 张发票" in answers[job.pk]["detail"]["invoices"][0]
    assert answers[other.pk]["state"] == JobState.SUCCEEDED  # the other result in the call is taken
    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "RESULT_TOO_LARGE")
    assert "5001 张发票" in job.error_message
    assert not Invoice.objects.filter(reported_by=job).exists()
    event = AuditEvent.objects.get(action="job.failed", object_id=str(job.pk))
    assert event.after["error_code"] == "RESULT_TOO_LARGE"


def test_a_whole_result_too_big_from_an_agent_before_pages_fails_its_job(agent_api):
    agent, api = agent_api
    job = claimed_job(agent, api)
    whole = {"job": job.pk, "attempt": 1, "outcome": "succeeded", "invoices": [invoice(n) for n in range(1, 12_001)]}
    answer = report(api, whole)[job.pk]
    assert answer["status"] == 400 and "最多 5000 张发票" in answer["detail"]["invoices"][0]
    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "RESULT_TOO_LARGE")


def test_pages_that_do_not_fit_their_job_are_refused(agent_api):
    agent, api = agent_api
    query, status = claimed_job(agent, api), claimed_job(agent, api, kind=JobKind.READ_STATUS)
    assert report(api, page(query, 1, 2, [invoice(1)]))[query.pk]["status"] == 200
    answers = report(
        api,
        page(query, 2, 3, [invoice(2)]),  # the attempt came in 2 pages
        page(status, 1, 2, []),  # only a 发票查询 comes in pages
    )
    assert [answers[job.pk]["status"] for job in (query, status)] == [400, 400]
    for unreadable in (page(query, 3, 2, []), {**page(query, 2, 2, []), "outcome": "failed"}, page(query, 2, None, [])):
        assert report(api, unreadable)[query.pk]["status"] == 400
    query.refresh_from_db()
    assert query.state == JobState.RUNNING and query.result_pages["received"] == {"1": [1, 0]}
