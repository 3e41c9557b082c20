"""A heartbeat and a result of the same device, at the same moment, on two connections: the result
locks its job and then writes its device (jobs/outcomes.py), so the heartbeat takes its jobs before
its devices. The other way round each waited on the other until PostgreSQL ended one, and the
agent got a 503 (the demo's soak test saw it)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.devices.models import Device
from apps.jobs.models import Job, JobKind, JobState
from tests.factories import make_agent, make_client, make_device

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def test_a_heartbeat_waits_for_a_result_of_its_device_instead_of_deadlocking():
    agent, token = make_agent()
    device = make_device(make_client(), agent=agent, present=True, simulated=True, slot="sim-1")
    job = Job.objects.create(
        kind=JobKind.READ_STATUS, device=device, state=JobState.RUNNING, attempts=1, started_at=timezone.now()
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Agent {token}")
    row = {"slot": "sim-1", "kind": device.kind, "driver": "simulated", "device_number": device.number}
    body = {"version": "0.3.0", "hostname": "cabinet-1", "jobs": [job.pk], "devices": [{**row, "busy": True}]}

    job_locked, answers, errors = threading.Event(), [], []

    def result():  # as outcomes.accept_results: the job locked first, then its device written
        try:
            with transaction.atomic():
                Job.objects.select_for_update().get(pk=job.pk)
                job_locked.set()
                time.sleep(0.5)  # the heartbeat is under way meanwhile
                Device.objects.filter(pk=device.pk).update(monitored_at=timezone.now())
        except Exception as error:  # a deadlock ends one of the two transactions
            errors.append(error)
        finally:
            connection.close()

    def heartbeat():
        job_locked.wait(5)
        try:
            answers.append(api.post("/api/v1/agent/heartbeat/", body, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=result), threading.Thread(target=heartbeat)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert (answers, errors) == ([200], [])
    assert Device.objects.get(pk=device.pk).busy
