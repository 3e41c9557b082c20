"""The one clock of the site, its workers and the sweeper.

Production reads real time. A demo or a test may set QINGKA_CLOCK to "<ISO moment>@<epoch>":
at real Unix time <epoch> the clock read <moment>, and it moves on from there. Every process
given the same setting agrees, the agent and its simulated cabinet too
(agent/qingka_agent/clock.py reads the same variable). `check --deploy` refuses a set clock.
"""

import datetime as dt
import time
from functools import lru_cache

from django.conf import settings
from django.utils import timezone


@lru_cache(maxsize=8)
def offset_of(setting: str) -> dt.timedelta:
    """How far the set clock is from real time; ValueError for a setting that is not of the form."""
    if not setting:
        return dt.timedelta(0)
    moment, sep, epoch = setting.rpartition("@")
    try:
        start = dt.datetime.fromisoformat(moment)
        anchor = dt.datetime.fromtimestamp(float(epoch), dt.UTC)
    except ValueError:
        start = None
    if not sep or start is None or start.tzinfo is None:
        raise ValueError(f"QINGKA_CLOCK must be '<ISO moment with offset>@<unix time>', not {setting!r}")
    return start - anchor


def setting_for(moment: dt.datetime) -> str:
    """The QINGKA_CLOCK value that makes the clock read `moment` now and move on from there."""
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return f"{moment.isoformat()}@{time.time():.3f}"


def now() -> dt.datetime:
    return timezone.now() + offset_of(settings.QINGKA_CLOCK)


def today() -> dt.date:
    return timezone.localdate(now())


def is_set() -> bool:
    return bool(settings.QINGKA_CLOCK)
