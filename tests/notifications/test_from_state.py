"""People are told from the state the apps wrote, by the sweep, never by the code that wrote it:
a hold, an agent gone silent, a batch done with failures, a device missing in the 征期. Each fact
is told once however many sweeps see it, and a fact that is gone before a sweep is told of never."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from apps.devices.services import mark_offline_agents
from apps.holds.models import Hold, HoldReason
from apps.holds.services import hold
from apps.jobs.models import Job, JobKind, JobState
from apps.notifications import events
from apps.notifications.models import Event, Notification
from apps.operations.sweeper import sweep
from apps.scheduling.models import Batch
from tests.factories import make_agent, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]


def told(event) -> list[str]:
    return list(Notification.objects.filter(event=event).values_list("key", flat=True))


def test_a_hold_is_told_once_while_it_lasts_and_a_released_one_never(users):
    device = make_device(number="539900000001")
    device.client.staff = users["owner"]
    device.client.save()
    made = hold(device, HoldReason.PASSWORD, error_code="CERT_PASSWORD_WRONG", message="证书口令错误，剩余 6 次")
    assert told(Event.DEVICE_HELD) == []

    assert (events.held_devices(), events.held_devices()) == (1, 0)
    notification = Notification.objects.get(key=f"held:{made.pk}")
    assert "证书口令错误" in notification.body and list(notification.recipients.all()) == [users["owner"]]

    released = hold(make_device(), HoldReason.PASSWORD)
    Hold.objects.filter(pk=released.pk).update(released_at=timezone.now())
    assert events.held_devices() == 0
    assert told(Event.DEVICE_HELD) == [f"held:{made.pk}"]


def test_an_agent_gone_silent_is_told_once_per_silence():
    agent, _token = make_agent("一号机柜")
    now = timezone.now()
    first_silence = now - dt.timedelta(minutes=5)
    agent.online, agent.last_heartbeat_at = True, first_silence
    agent.save()
    assert events.offline_agents() == 0  # online: nothing to tell

    assert mark_offline_agents(now) == 1
    assert (events.offline_agents(), events.offline_agents()) == (1, 0)

    # back for a while, then silent again: a second silence, a second message
    agent.refresh_from_db()
    agent.online, agent.last_heartbeat_at = True, now - dt.timedelta(minutes=2)
    agent.save()
    assert events.offline_agents() == 0
    assert mark_offline_agents(now) == 1
    assert events.offline_agents() == 1
    assert len(told(Event.AGENT_OFFLINE)) == 2


def make_batch(user, jobs: list[str]) -> Batch:
    batch = Batch.objects.create(
        kind=JobKind.CLEAR, month=dt.date(2026, 10, 1), start_at=timezone.now(), token=uuid.uuid4(), created_by=user
    )
    for state in jobs:
        finished = timezone.now() if state in (JobState.FAILED, JobState.SUCCEEDED) else None
        Job.objects.create(kind=JobKind.CLEAR, device=make_device(), batch=batch, state=state, finished_at=finished)
    return batch


def test_a_batch_is_told_once_when_nothing_is_left_to_run_and_something_failed(users):
    running = make_batch(users["admin"], [JobState.FAILED, JobState.QUEUED])
    all_well = make_batch(users["admin"], [JobState.SUCCEEDED, JobState.SUCCEEDED])
    assert events.failed_batches(timezone.now()) == 0

    Job.objects.filter(batch=running, state=JobState.QUEUED).update(state=JobState.SUCCEEDED)
    assert (events.failed_batches(timezone.now()), events.failed_batches(timezone.now())) == (1, 0)
    notification = Notification.objects.get(event=Event.BATCH_FAILED)
    assert notification.key == f"batch_failed:{running.pk}" and "共 2 个任务，1 个失败" in notification.body
    assert list(notification.recipients.all()) == [users["admin"]]
    assert f"batch_failed:{all_well.pk}" not in told(Event.BATCH_FAILED)

    # a failure long past, with the sweep away all that time, is no news
    old = make_batch(users["admin"], [JobState.FAILED])
    Job.objects.filter(batch=old).update(finished_at=timezone.now() - dt.timedelta(days=events.BATCH_NEWS_DAYS + 1))
    assert events.failed_batches(timezone.now()) == 0


def test_a_device_missing_in_the_filing_season_is_told_once_per_disappearance():
    device = make_device(present=False, last_seen_at=timezone.now() - dt.timedelta(hours=1))
    make_device(present=True, last_seen_at=timezone.now())
    assert (events.missing_devices(timezone.now()), events.missing_devices(timezone.now())) == (1, 0)
    assert told(Event.DEVICE_MISSING) == [events.missing_key(device)]

    outside_season = timezone.now() + dt.timedelta(days=20)  # 11-30: the 征期 ended on the 16th
    device.last_seen_at = timezone.now()
    device.save()
    assert events.missing_devices(outside_season) == 0


def test_the_sweep_tells_what_it_finds(users):
    made = hold(make_device(), HoldReason.LOCKED)
    counts = sweep()
    assert counts["notified"] >= 1
    assert Notification.objects.filter(key=f"held:{made.pk}").exists()
    assert sweep()["notified"] == 0
