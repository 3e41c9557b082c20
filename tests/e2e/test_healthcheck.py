"""`manage.py healthcheck`, the compose healthcheck of the rq worker and the sweeper, against the
real processes. The sweeper is alive while its sweeps are recent: once stopped, it is not after
three intervals."""

import datetime as dt
import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.core import clock
from apps.jobs.models import SweepRecord

from .processes import wait_until

pytestmark = pytest.mark.integration


def healthy(process: str) -> bool:
    try:
        call_command("healthcheck", process=process, stdout=io.StringIO())
    except CommandError:
        return False
    return True


def test_healthcheck_follows_the_rq_worker_and_the_sweeper(stack):
    wait_until(lambda: healthy("rqworker") and healthy("sweeper"), timeout=30, what="worker and sweeper healthy")
    stack.stop()
    assert not healthy("rqworker")
    SweepRecord.objects.update(finished_at=clock.now() - dt.timedelta(seconds=3 * settings.QINGKA_SWEEP_SECONDS + 1))
    assert not healthy("sweeper")
