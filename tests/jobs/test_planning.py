"""When each job of a batch runs: spread per agent, out of the tax bureau's busy hours (plan)."""

import datetime as dt
import zoneinfo

import pytest

from apps.jobs.planning import outside_busy_hours, plan
from tests.factories import unsaved_agent as agent
from tests.factories import unsaved_device as device

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


# --- plan ------------------------------------------------------------------------------------


def at(hour, minute=0, second=0, day=10):
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


def devices_on(agents_and_counts):
    found, pk = [], 100
    for the_agent, count in agents_and_counts:
        for _ in range(count):
            pk += 1
            found.append(device(pk, the_agent))
    return found


def times_by_agent(planned):
    by_agent = {}
    for the_device, moment in planned:
        by_agent.setdefault(the_device.agent_id, []).append(moment)
    return by_agent


def test_one_agent_is_spaced_evenly():
    a = agent(1)
    planned = plan(devices_on([(a, 4)]), at(20), per_agent_per_minute=2)
    assert [moment for _d, moment in planned] == [at(20), at(20, 0, 30), at(20, 1), at(20, 1, 30)]


@pytest.mark.parametrize("per_minute", [1, 3, 7, 10, 60])
def test_no_agent_gets_more_than_n_jobs_in_any_minute(per_minute):
    agents = [agent(1), agent(2), agent(3)]
    planned = plan(
        devices_on([(agents[0], 50), (agents[1], 7), (agents[2], 1)]), at(20), per_agent_per_minute=per_minute
    )
    assert len(planned) == 58
    for times in times_by_agent(planned).values():
        times.sort()
        assert all(
            later - earlier >= dt.timedelta(minutes=1)
            for earlier, later in zip(times, times[per_minute:], strict=False)
        )


def test_agents_work_in_parallel():
    a, b = agent(1), agent(2)
    mixed = devices_on([(a, 3)]) + devices_on([(b, 3)])
    mixed = [mixed[0], mixed[3], mixed[1], mixed[4], mixed[2], mixed[5]]  # interleaved
    planned = plan(mixed, at(20), per_agent_per_minute=6)
    by_agent = times_by_agent(planned)
    assert by_agent[1] == by_agent[2] == [at(20), at(20, 0, 10), at(20, 0, 20)]
    assert [d for d, _m in planned] == mixed  # the order given is kept


def test_without_avoiding_busy_hours_the_start_is_kept():
    assert plan(devices_on([(agent(1), 1)]), at(10, 30), per_agent_per_minute=10)[0][1] == at(10, 30)


@pytest.mark.parametrize(
    "moment, expected",
    [
        (at(8, 59, 59), at(8, 59, 59)),
        (at(9), at(11)),
        (at(10, 30), at(11)),
        (at(10, 59, 59), at(11)),
        (at(11), at(11)),
        (at(13, 59), at(13, 59)),
        (at(14), at(16)),
        (at(15, 45), at(16)),
        (at(16), at(16)),
        (at(23, 30), at(23, 30)),
    ],
)
def test_busy_hours_move_to_their_end(moment, expected):
    assert outside_busy_hours(moment) == expected


def test_busy_hours_are_local_time():
    utc_ten_thirty_shanghai = dt.datetime(2026, 11, 10, 2, 30, tzinfo=dt.UTC)
    assert outside_busy_hours(utc_ten_thirty_shanghai) == at(11)
    assert outside_busy_hours(dt.datetime(2026, 11, 10, 9, 30, tzinfo=dt.UTC)) == at(17, 30)


def test_jobs_reaching_busy_hours_wait_and_stay_spaced():
    a, b = agent(1), agent(2)
    planned = plan(devices_on([(a, 4), (b, 1)]), at(8, 59), per_agent_per_minute=2, avoid_busy_hours=True)
    by_agent = times_by_agent(planned)
    assert by_agent[1] == [at(8, 59), at(8, 59, 30), at(11), at(11, 0, 30)]
    assert by_agent[2] == [at(8, 59)]


def test_a_start_inside_busy_hours_begins_at_their_end():
    planned = plan(devices_on([(agent(1), 2)]), at(14, 10), per_agent_per_minute=1, avoid_busy_hours=True)
    assert [m for _d, m in planned] == [at(16), at(16, 1)]


def test_per_minute_must_be_positive():
    with pytest.raises(ValueError):
        plan([], at(20), per_agent_per_minute=0)
