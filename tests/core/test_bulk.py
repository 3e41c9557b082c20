"""insert_rows: many new rows in one statement, each instance given its own primary key."""

import pytest

from apps.core import clock
from apps.core.bulk import insert_rows
from apps.jobs.models import Job, JobKind, JobState
from tests.factories import make_device

pytestmark = pytest.mark.django_db


def test_each_instance_gets_the_key_of_its_own_row_with_every_value_kept():
    devices = [make_device() for _ in range(5)]
    jobs = [
        Job(
            kind=JobKind.QUERY_INVOICES if n % 2 else JobKind.CLEAR,
            device=device,
            state=JobState.QUEUED,
            attempts=1,
            queued_at=clock.now(),
            query={"month": "2026-11", "n": n} if n % 2 else None,
        )
        for n, device in enumerate(devices)
    ]
    insert_rows(jobs)
    assert all(job.pk for job in jobs) and not any(job._state.adding for job in jobs)
    for n, job in enumerate(jobs):
        row = Job.objects.get(pk=job.pk)
        assert (row.device_id, row.kind, row.state, row.attempts) == (devices[n].pk, job.kind, "queued", 1)
        assert row.query == job.query and row.result is None and row.late_results == []
        assert row.created_at == job.created_at and row.max_attempts == 5
    insert_rows([])  # nothing to do
