import datetime as dt

import pytest

from apps.clients.models import Client
from apps.dashboard import queries
from apps.periods.models import Period
from apps.periods.rules import PeriodStatus as S
from apps.periods.rules import working_month
from tests.factories import make_client, make_period

OCT = dt.date(2026, 10, 1)
TODAY = dt.date(2026, 11, 10)
NOW = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def test_working_month_is_the_month_before():
    assert working_month(dt.date(2026, 11, 10)) == OCT
    assert working_month(dt.date(2026, 1, 3)) == dt.date(2025, 12, 1)


def test_a_missing_period_is_summary_due_until_its_deadline():
    assert queries.missing_period_status(dt.date(2026, 11, 16), TODAY) == S.SUMMARY_DUE
    assert queries.missing_period_status(dt.date(2026, 11, 9), TODAY) == S.LOCKED


def test_risk_rank_puts_locked_first_and_done_last():
    ranked = sorted(S.values, key=queries.risk_rank)
    assert ranked[0] == S.LOCKED and ranked[-1] == S.DONE
    assert queries.risk_rank(S.SUMMARY_DUE) < queries.risk_rank(S.RETURN_DUE) < queries.risk_rank(S.CLEAR_DUE)
    assert queries.risk_rank(S.CLEAR_DUE) == queries.risk_rank(S.NO_RETURN_THIS_MONTH)


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
    client_with("locked", "E已锁死", locked=True)
    make_client(name="F无记录")  # no period row: 待抄报, same deadline from the calendar
    client_with(
        "early",
        "G待清卡截止更早",
        summary_uploaded_at=NOW,
        return_filed_on=dt.date(2026, 11, 3),
        deadline=dt.date(2026, 11, 12),
    )
    rows = queries.order_by_risk(queries.clients_for_month(admin, OCT, TODAY))
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
    make_period(month=OCT, locked=True)
    make_client()
    make_client()
    counts = queries.status_counts(queries.clients_for_month(users["admin"], OCT, TODAY))
    assert counts[S.LOCKED] == 1 and counts[S.SUMMARY_DUE] == 2 and counts[S.DONE] == 0
    assert sum(counts.values()) == Client.objects.count()
