"""Faults that must not stop the month (issue 12), with real processes: the agent killed at random
moments, Redis flushed, the rq worker away, the whole site away for longer than a lease, and an
item on the agent's queue that is not a message. `pytest -m faults` runs them alone; each row of
docs/reliability.md names its test here."""

import datetime as dt
import random
import time

import pytest
import redis

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.devices.models import Device
from apps.jobs.models import Job, JobState, Origin
from apps.jobs.requesting import Wanted, create_jobs
from apps.periods.models import Period
from tests.conftest import TEST_REDIS_URL

from .conftest import database_url, device_spec, register_clients, wait_for_jobs
from .processes import BIN, wait_until

MONTH, CLOCK = dt.date(2026, 11, 1), "2026-12-03T09:00:00+08:00"
pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.clock(CLOCK)]


def cabinet_of(stack, specs, name="cabinet-faults", concurrency=4):
    register_clients([{**spec, "name": f"故障客户{spec['slot']}"} for spec in specs])
    cabinet = stack.cabinet(name, specs)
    cabinet.env["QINGKA_CONCURRENCY"] = str(concurrency)
    cabinet.start_agent(expect_devices=len(specs))
    return cabinet


def ask_all(kind, numbers, run_after=None):
    """One job per device, each for its client's period (return filed), as a batch makes them."""
    wanted = []
    for device in Device.objects.select_related("agent", "client").filter(number__in=numbers):
        period = Period.for_client(device.client, MONTH)
        if period.return_filed_on is None:
            period.return_filed_on = clock.today()
            period.save()
        wanted.append(Wanted(kind, device, period, run_after))
    return create_jobs(wanted, origin=Origin.BATCH)


def assert_each_device_did_it_once(cabinet, jobs):
    devices = cabinet.simulated_devices()
    for job in jobs:
        monitoring = devices[job.device.number]["monitoring"]
        assert (monitoring["summary_count"], monitoring["clear_count"]) == (1, 1), (job, monitoring)


def test_agent_killed_at_random_moments_during_200_jobs(stack):
    """Every job ends once, and no simulated device is cleared twice."""
    specs = [device_spec(n, latency_seconds=1) for n in range(1, 201)]
    cabinet = cabinet_of(stack, specs, concurrency=8)
    jobs = ask_all("upload_and_clear", [s["device_number"] for s in specs])
    rng = random.Random(12)
    kills = 0
    while Job.objects.filter(state__in=("queued", "running", "scheduled")).exists() and kills < 6:
        time.sleep(rng.uniform(2, 6))
        cabinet.kill_agent()
        kills += 1
        cabinet.start_agent(expect_devices=len(specs))
    finished = wait_for_jobs(jobs, timeout=600)
    assert kills >= 3
    assert {job.state for job in finished} == {JobState.SUCCEEDED}, stack.logs()
    for job in finished:
        assert AuditEvent.objects.filter(action="job.succeeded", object_id=str(job.pk)).count() == 1
    assert_each_device_did_it_once(cabinet, finished)


def test_redis_flushed_in_the_middle_of_a_run(stack, settings):
    """The messages and the broker's own bookkeeping vanish; the sweep, which lives in the
    database, sends again what was lost, and every job completes without a hand on a process."""
    specs = [device_spec(n, latency_seconds=1) for n in range(1, 21)]
    cabinet = cabinet_of(stack, specs, concurrency=2)
    jobs = ask_all("upload_and_clear", [s["device_number"] for s in specs])
    wait_until(lambda: Job.objects.filter(state="succeeded").count() >= 3, timeout=60, what="a few jobs done")
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    finished = wait_for_jobs(jobs, timeout=240)
    assert {job.state for job in finished} == {JobState.SUCCEEDED}, stack.logs()
    assert_each_device_did_it_once(cabinet, finished)


def test_rq_worker_down_for_60_seconds(stack):
    """Scheduled jobs come due while the rq worker is away: the sweep does not need it."""
    rqworker = next(p for p in stack.processes if p.name == "rqworker")
    stopped = time.monotonic()
    rqworker.stop()
    specs = [device_spec(n) for n in range(1, 6)]
    cabinet = cabinet_of(stack, specs)
    jobs = ask_all(
        "upload_and_clear", [s["device_number"] for s in specs], run_after=clock.now() + dt.timedelta(seconds=5)
    )
    finished = wait_for_jobs(jobs, timeout=60)
    assert {job.state for job in finished} == {JobState.SUCCEEDED}, stack.logs()
    time.sleep(max(0, 60 - (time.monotonic() - stopped)))
    assert rqworker.popen.poll() is not None  # it stayed away the whole minute
    assert_each_device_did_it_once(cabinet, finished)


def test_the_site_away_for_longer_than_a_lease(stack, settings):
    """The site (web and sweeper) goes away while the agent works; it finishes, keeps its results,
    and sends them when the site is back: every result arrives, none twice, none mislabelled."""
    site = stack.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "config.wsgi", "--workers", "2", "--bind", "127.0.0.1:18913"],
        {**stack.site_env, "DATABASE_URL": database_url(), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_HTTPS": "0"},
    )
    url = "http://127.0.0.1:18913"
    wait_until(lambda: _answers(url), timeout=30, what="gunicorn")
    specs = [device_spec(n, latency_seconds=4) for n in range(1, 7)]
    register_clients([{**spec, "name": f"外出客户{spec['slot']}"} for spec in specs])
    cabinet = stack.cabinet("cabinet-away", specs)
    cabinet.env["QINGKA_SITE_URL"] = url
    cabinet.env["QINGKA_CONCURRENCY"] = "8"
    cabinet.start_agent(expect_devices=len(specs))
    jobs = ask_all("upload_summary", [s["device_number"] for s in specs])
    wait_until(lambda: Job.objects.filter(state="running").count() == len(specs), timeout=60, what="all claimed")
    sweeper = next(p for p in stack.processes if p.name == "sweeper")
    site.stop()
    sweeper.stop()
    time.sleep(settings.QINGKA_JOB_LEASE_SECONDS + 6)  # longer than a lease: the work is done meanwhile
    stack.start("sweeper-again", [str(BIN / "python"), "manage.py", "run_sweeper"], stack.site_env)
    stack.start(
        "gunicorn-again",
        [str(BIN / "gunicorn"), "config.wsgi", "--workers", "2", "--bind", "127.0.0.1:18913"],
        {**stack.site_env, "DATABASE_URL": database_url(), "ALLOWED_HOSTS": "127.0.0.1", "SECURE_HTTPS": "0"},
    )
    finished = wait_for_jobs(jobs, timeout=120)
    assert [(j.state, j.attempts, j.already_done) for j in finished] == [(JobState.SUCCEEDED, 1, False)] * len(specs)
    assert not AuditEvent.objects.filter(action="job.lease_expired").exists()
    devices = cabinet.simulated_devices()
    assert {devices[s["device_number"]]["monitoring"]["summary_count"] for s in specs} == {1}


def test_an_item_on_the_queue_that_is_not_a_message(stack):
    """The agent drops it, says so, and does the next job."""
    specs = [device_spec(1)]
    cabinet = cabinet_of(stack, specs)
    queue = cabinet.agent.queue_name
    broker = redis.Redis.from_url(TEST_REDIS_URL)
    for junk in (b"\xff\xfe not json {", b'{"no": "envelope"}', b"42"):
        broker.lpush(queue, junk)
    wait_until(lambda: broker.llen(queue) == 0, timeout=30, what="the agent to take the items")
    (job,) = ask_all("upload_and_clear", [specs[0]["device_number"]])
    (done,) = wait_for_jobs([job], timeout=60)
    assert done.state == JobState.SUCCEEDED
    assert cabinet.process.popen.poll() is None, cabinet.process.log()[-3000:]
    assert "is not a message" in cabinet.process.log()


def _answers(url):
    import httpx

    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
