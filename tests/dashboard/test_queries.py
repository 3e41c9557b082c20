import datetime as dt

import pytest

from apps.clients.models import Client
from apps.dashboard import queries
from apps.periods.models import Period, working_month
from apps.periods.queries import clients_for_month, status_counts
from apps.periods.rules import SHANGHAI, working_month_for
from apps.periods.rules import PeriodStatus as S
from tests.factories import make_client, make_device, make_period

OCT = dt.date(2026, 10, 1)
TODAY = dt.datetime(2026, 11, 10, 10, tzinfo=SHANGHAI)
NOW = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "today, expected",
    [
        (dt.date(2026, 11, 1), OCT),
        (dt.date(2026, 11, 16), OCT),  # the deadline day still belongs to October's period
        (dt.date(2026, 11, 17), dt.date(2026, 11, 1)),  # from the day after, November's
        (dt.date(2026, 11, 30), dt.date(2026, 11, 1)),
        (dt.date(2027, 1, 3), dt.date(2026, 12, 1)),
    ],
)
def test_the_working_month_rolls_over_the_day_after_the_deadline(today, expected):
    assert working_month_for(today, dt.date(today.year, today.month, 16)) == expected


@pytest.mark.django_db
def test_the_working_month_follows_the_filing_calendar():
    # 2026-10's deadline is 2026-11-16 and 2026-12's is 2027-01-15 (estimated)
    assert working_month(dt.date(2026, 11, 16)) == OCT
    assert working_month(dt.date(2026, 11, 17)) == dt.date(2026, 11, 1)
    assert working_month(dt.date(2026, 2, 24)) == dt.date(2026, 1, 1)  # February's table date is the 24th
    assert working_month(dt.date(2026, 2, 25)) == dt.date(2026, 2, 1)


def test_risk_rank_puts_locked_first_and_done_last():
    ranked = sorted(S.values, key=queries.risk_rank)
    assert ranked[0] == S.LOCKED and set(ranked[-2:]) == {S.DONE, S.NO_CLEAR_NEEDED}  # nothing left to do
    assert queries.risk_rank(S.RETURN_OVERDUE) < queries.risk_rank(S.SUMMARY_DUE)
    assert queries.risk_rank(S.SUMMARY_DUE) < queries.risk_rank(S.RETURN_DUE) < queries.risk_rank(S.CLEAR_DUE)
    assert queries.risk_rank(S.CLEAR_DUE) == queries.risk_rank(S.NO_RETURN_THIS_MONTH)
    assert queries.risk_rank(S.NOT_OPEN) > queries.risk_rank(S.CLEAR_DUE)


@pytest.mark.django_db
def test_order_by_risk_in_sql(users):
    admin = users["admin"]
    names = {}

    def client_with(status, name, **period):
        client = make_client(name=name)
        if period is not None:
            make_period(client=client, month=OCT, **period)
        names[status] = name
        return client

    client_with("done", "A已完成", summary_uploaded_at=NOW, return_filed_on=dt.date(2026, 11, 3), cleared_at=NOW)
    client_with("clear", "B待清卡", summary_uploaded_at=NOW, return_filed_on=dt.date(2026, 11, 3))
    client_with("return", "C待申报", summary_uploaded_at=NOW)
    client_with("summary", "D待抄报")
    make_device(client_with("locked", "E已锁死"), lock_date=dt.date(2026, 11, 9))
    make_client(name="F无记录")  # no period row: 待抄报, same deadline from the calendar
    client_with(
        "early",
        "G待清卡截止更早",
        summary_uploaded_at=NOW,
        return_filed_on=dt.date(2026, 11, 3),
        deadline=dt.date(2026, 11, 12),
    )
    rows = queries.order_by_risk(clients_for_month(admin, OCT, TODAY))
    assert [c.name for c in rows] == [
        "G待清卡截止更早",
        "E已锁死",
        "D待抄报",
        "F无记录",
        "C待申报",
        "B待清卡",
        "A已完成",
    ]
    assert {c.name: c.status_code for c in rows}["F无记录"] == S.SUMMARY_DUE
    assert not Period.objects.filter(client__name="F无记录").exists()


@pytest.mark.django_db
def test_status_counts_include_clients_without_a_period(users):
    make_device(make_period(month=OCT).client, locked_reported=True)
    make_client()
    make_client()
    counts = status_counts(clients_for_month(users["admin"], OCT, TODAY))
    assert counts[S.LOCKED] == 1 and counts[S.SUMMARY_DUE] == 2 and counts[S.DONE] == 0
    assert counts["late"] == 0
    assert sum(n for code, n in counts.items() if code != "late") == Client.objects.count()
