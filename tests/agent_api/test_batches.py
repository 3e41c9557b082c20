"""The agent's batch calls: many claims in one call, many results in one call, each job judged on
its own, in statements that do not grow with the batch beyond each job's own writes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.jobs import messaging, outcomes, requesting
from apps.jobs.models import Job, JobState
from tests.factories import make_agent, make_client, make_device

MONITORING = {"device_number": "539900000000", "zxbsrq": "2026-11-03", "kpjzsj": "2026-12-15"}


def online_agent():
    agent, token = make_agent()
    agent.online = True
    agent.save()
    return agent, token


@pytest.fixture
def agent_api(db, monkeypatch):
    monkeypatch.setattr(messaging, "_publish", lambda producer, queue, args: None)  # the broker: see tests/e2e
    agent, token = online_agent()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    return agent, api


def read_jobs(agent, count: int) -> list[Job]:
    devices = [make_device(make_client(), agent=agent, present=True, simulated=True) for _ in range(count)]
    jobs, skipped = requesting.request_jobs("read_status", devices)
    assert not skipped
    return jobs


def claim(api, attempts: dict[int, int]):
    body = {"jobs": [{"id": job_id, "attempt": attempt} for job_id, attempt in attempts.items()]}
    return api.post("/api/v1/agent/jobs/claim/", body, format="json")


def report(api, results: list[dict]):
    return api.post("/api/v1/agent/jobs/results/", {"results": results}, format="json")


def succeeded(job: Job, **fields) -> dict:
    return {"job": job.pk, "attempt": 1, "outcome": "succeeded", "monitoring": MONITORING, **fields}


def test_claims_in_one_call_each_judged_on_its_own(agent_api):
    agent, api = agent_api
    mine, running = read_jobs(agent, 2)
    other_agent, _ = online_agent()
    (theirs,) = read_jobs(other_agent, 1)
    assert claim(api, {running.pk: 1}).status_code == 200
    answer = claim(api, {mine.pk: 1, running.pk: 1, theirs.pk: 1, mine.pk + 10_000: 1}).json()
    assert [job["id"] for job in answer["jobs"]] == [mine.pk]
    assert answer["jobs"][0]["device"]["number"] == mine.device.number and answer["jobs"][0]["lease_expires_at"]
    assert {item["id"]: item["status"] for item in answer["refused"]} == {
        running.pk: 409,
        theirs.pk: 404,
        mine.pk + 10_000: 404,
    }
    assert Job.objects.get(pk=mine.pk).state == JobState.RUNNING
    assert Job.objects.get(pk=theirs.pk).state == JobState.QUEUED
    assert AuditEvent.objects.filter(action="job.started").count() == 2


def test_a_claim_call_costs_the_same_statements_for_one_job_or_thirty(agent_api):
    agent, api = agent_api
    jobs = read_jobs(agent, 31)
    with CaptureQueriesContext(connection) as one:
        assert len(claim(api, {jobs[0].pk: 1}).json()["jobs"]) == 1
    with CaptureQueriesContext(connection) as thirty:
        assert len(claim(api, {job.pk: 1 for job in jobs[1:]}).json()["jobs"]) == 30
    assert len(thirty) == len(one)


def test_results_in_one_call_each_with_its_answer_and_a_bad_one_changes_nothing(agent_api):
    agent, api = agent_api
    good, unreadable, stale = read_jobs(agent, 3)
    claim(api, {job.pk: 1 for job in (good, unreadable, stale)})
    answer = report(
        api,
        [
            succeeded(good),
            succeeded(unreadable, outcome="maybe"),
            succeeded(stale, attempt=2),
            {**succeeded(good), "job": good.pk + 10_000},
        ],
    ).json()["results"]
    by_job = {item["job"]: item for item in answer}
    assert by_job[good.pk] == {"job": good.pk, "status": 200, "state": "succeeded"}
    assert by_job[unreadable.pk]["status"] == 400 and "outcome" in by_job[unreadable.pk]["detail"]
    assert by_job[stale.pk]["status"] == 409 and by_job[good.pk + 10_000]["status"] == 404
    assert Job.objects.get(pk=good.pk).state == JobState.SUCCEEDED
    assert Job.objects.get(pk=unreadable.pk).state == Job.objects.get(pk=stale.pk).state == JobState.RUNNING
    assert list(AuditEvent.objects.filter(action="job.succeeded").values_list("object_id", flat=True)) == [str(good.pk)]
    again = report(api, [succeeded(good)]).json()["results"]  # the outbox sends it again: nothing changes
    assert again == [{"job": good.pk, "status": 200, "state": "succeeded"}]
    assert AuditEvent.objects.filter(action="job.succeeded").count() == 1


def test_a_result_the_site_fails_on_does_not_hold_up_the_others(agent_api, caplog, monkeypatch):
    agent, api = agent_api
    first, poison, last = read_jobs(agent, 3)
    claim(api, {job.pk: 1 for job in (first, poison, last)})
    # A reading the site fails on writing (a NUL no longer is one: the agent API cleans it away).
    record_reading = outcomes.record_reading

    def failing(device, reading, now):
        if reading.get("poison"):
            raise ValueError("the site fails on this reading")
        return record_reading(device, reading, now)

    monkeypatch.setattr(outcomes, "record_reading", failing)
    bad_reading = {**MONITORING, "poison": True}
    answer = report(api, [succeeded(first), succeeded(poison, monitoring=bad_reading), succeeded(last)]).json()
    assert {item["job"]: item["status"] for item in answer["results"]} == {first.pk: 200, poison.pk: 500, last.pk: 200}
    assert Job.objects.get(pk=poison.pk).state == JobState.RUNNING
    assert Job.objects.get(pk=first.pk).state == Job.objects.get(pk=last.pk).state == JobState.SUCCEEDED
    assert AuditEvent.objects.filter(action="job.succeeded").count() == 2
    assert "applying them one by one" in caplog.text


def test_statements_per_result_stay_few_and_the_call_costs_a_constant_more(agent_api):
    agent, api = agent_api
    jobs = read_jobs(agent, 21)
    claim(api, {job.pk: 1 for job in jobs})
    with CaptureQueriesContext(connection) as one:
        report(api, [succeeded(jobs[0])])
    with CaptureQueriesContext(connection) as twenty:
        report(api, [succeeded(job) for job in jobs[1:]])
    per_result = (len(twenty) - len(one)) / 19
    assert per_result <= 3, [q["sql"][:80] for q in twenty.captured_queries]


def test_a_batch_is_bounded_and_needs_an_agent_token(agent_api, api):
    agent, agent_client = agent_api
    (job,) = read_jobs(agent, 1)
    too_many = report(agent_client, [succeeded(job)] * 101)
    assert too_many.status_code == 400 and "results" in too_many.json()
    nameless = report(agent_client, [succeeded(job), {"attempt": 1, "outcome": "maybe"}])
    assert nameless.status_code == 400 and "任务编号" in str(nameless.json()["results"])
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED
    assert claim(agent_client, {}).status_code == 400
    assert api.post(
        "/api/v1/agent/jobs/claim/", {"jobs": [{"id": job.pk, "attempt": 1}]}, format="json"
    ).status_code in (
        401,
        403,
    )
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED


def test_the_one_job_calls_of_agents_before_0_2_are_gone(agent_api):
    agent, api = agent_api
    (job,) = read_jobs(agent, 1)
    assert api.post(f"/api/v1/agent/jobs/{job.pk}/claim/", {"attempt": 1}, format="json").status_code == 404
    result = {"attempt": 1, "outcome": "succeeded", "monitoring": MONITORING}
    assert api.post(f"/api/v1/agent/jobs/{job.pk}/result/", result, format="json").status_code == 404
    assert Job.objects.get(pk=job.pk).state == JobState.QUEUED
