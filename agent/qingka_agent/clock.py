"""The agent's clock: real time, unless QINGKA_CLOCK sets it for a demo or a test.

"<ISO moment>@<epoch>" means: at real Unix time <epoch> the clock read <moment>, and it moves on
from there. The site reads the same variable (apps/core/clock.py), so the site, the agent and
the simulated cabinet agree on the moment; tests/core/test_clock.py keeps the two in step.
"""

import os
from datetime import UTC, datetime, timedelta
from functools import lru_cache


@lru_cache(maxsize=8)
def offset_of(setting: str) -> timedelta:
    if not setting:
        return timedelta(0)
    moment, sep, epoch = setting.rpartition("@")
    try:
        start = datetime.fromisoformat(moment)
        anchor = datetime.fromtimestamp(float(epoch), UTC)
    except ValueError:
        start = None
    if not sep or start is None or start.tzinfo is None:
        raise ValueError(f"QINGKA_CLOCK must be '<ISO moment with offset>@<unix time>', not {setting!r}")
    return start - anchor


def now() -> datetime:
    return datetime.now(UTC) + offset_of(os.environ.get("QINGKA_CLOCK", ""))
