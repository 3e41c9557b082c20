"""When each job of a batch (or of the autopilot's pass) runs: spread per agent, out of the tax
bureau's busy hours. Plain functions, tested on their own; whether a device may take a job at
all is jobs/rules.py's."""

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from apps.devices.models import Device

# The tax bureau's busy hours (local time): a job planned inside one moves to its end.
BUSY_HOURS = ((dt.time(9, 0), dt.time(11, 0)), (dt.time(14, 0), dt.time(16, 0)))
DEFAULT_PER_AGENT_PER_MINUTE = 10


def outside_busy_hours(moment: dt.datetime) -> dt.datetime:
    """`moment`, or the end of the busy window it falls in (local time, end excluded)."""
    local = timezone.localtime(moment)
    for start, end in BUSY_HOURS:
        if start <= local.time() < end:
            return local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return moment


def plan(
    devices,
    start: dt.datetime,
    *,
    per_agent_per_minute: int | None = DEFAULT_PER_AGENT_PER_MINUTE,
    avoid_busy_hours: bool = False,
    agent_starts: dict[int, dt.datetime] | None = None,
) -> list[tuple[Device, dt.datetime]]:
    """(device, run_after) for each device, in the order given.

    Each agent works through its own devices from `start` (or, when later, from its moment in
    `agent_starts`: after the jobs it already has), one job every 60/N seconds, so no
    agent gets more than N jobs in any minute; agents run in parallel. With `avoid_busy_hours`
    a time inside 9:00–11:00 or 14:00–16:00 moves to the end of that window and the agent's
    following jobs go on from there, still spaced. None: no cap, every job at `start` (the agents
    then work as fast as their devices allow)."""
    if per_agent_per_minute is not None and per_agent_per_minute < 1:
        raise ValueError("per_agent_per_minute must be at least 1")
    step = dt.timedelta(seconds=60 / per_agent_per_minute) if per_agent_per_minute else dt.timedelta(0)
    cursor: dict[int | None, dt.datetime] = defaultdict(lambda: start)
    cursor.update({agent: max(start, moment) for agent, moment in (agent_starts or {}).items()})
    planned = []
    for device in devices:
        moment = cursor[device.agent_id]
        if avoid_busy_hours:
            moment = outside_busy_hours(moment)
        planned.append((device, moment))
        cursor[device.agent_id] = moment + step
    return planned
