"""The sweep says when it last ran; a stale one shows on /healthz and on the dashboard; after the
sweep itself was away, running leases get the time back and no agent is marked offline at once."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.jobs.models import Job, JobState, SweepRecord
from apps.operations.sweeper import sweep
from tests.factories import make_agent, make_client, make_device

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_sweep_and_its_staleness(client, settings):
    never = client.get("/healthz")
    assert never.status_code == 503 and never.json()["sweep"] == "stale"
    now = timezone.now()
    sweep(now)
    well = client.get("/healthz")
    assert well.status_code == 200 and well.json()["sweep"] == "ok"
    SweepRecord.objects.update(finished_at=now - dt.timedelta(seconds=3 * settings.QINGKA_SWEEP_SECONDS + 1))
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.json()["sweep"] == "stale"


def test_the_dashboard_says_when_the_sweep_has_stopped(as_role):
    cache.clear()
    block = reverse("attention:block")  # the dashboard's 需要处理
    assert 'data-kind="sweep_stale"' in as_role("admin").get(block).content.decode()
    sweep()
    cache.clear()
    assert 'data-kind="sweep_stale"' not in as_role("admin").get(block).content.decode()


def test_after_the_sweep_was_away_leases_get_the_time_back_and_agents_a_window(settings):
    agent, _ = make_agent()
    agent.online, agent.last_heartbeat_at = True, timezone.now() - dt.timedelta(minutes=30)
    agent.save()
    device = make_device(make_client(), agent=agent, present=True)
    start = timezone.now() - dt.timedelta(minutes=30)
    sweep(start)
    lease = start + dt.timedelta(seconds=settings.QINGKA_JOB_LEASE_SECONDS)
    job = Job.objects.create(
        kind="clear", device=device, state=JobState.RUNNING, attempts=1, started_at=start, lease_expires_at=lease
    )
    now = timezone.now()  # the sweep was away for 30 minutes, longer than the lease
    sweep(now)
    job.refresh_from_db()
    agent.refresh_from_db()
    assert job.state == JobState.RUNNING and job.lease_expires_at > now
    assert agent.online  # heard again within the window, or marked offline after it
    for later in range(0, settings.QINGKA_AGENT_OFFLINE_SECONDS + 2, settings.QINGKA_SWEEP_SECONDS):
        sweep(now + dt.timedelta(seconds=later + 1))  # the sweep runs on time again
    agent.refresh_from_db()
    assert not agent.online
