import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.periods.models import Period
from apps.periods.services import record_return_filed, return_filed_errors
from tests.factories import make_client, make_period

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 10)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr("apps.periods.services.clock.today", lambda: TODAY)


def test_records_the_return_and_audits_it(users):
    period = make_period()
    record_return_filed(period, dt.date(2026, 11, 9), Decimal("120000.50"), Decimal("15600.07"), user=users["owner"])
    period.refresh_from_db()
    assert (period.return_filed_on, period.declared_sales, period.declared_tax) == (
        dt.date(2026, 11, 9),
        Decimal("120000.50"),
        Decimal("15600.07"),
    )
    event = AuditEvent.objects.get(action="period.return_filed")
    assert event.actor_user == users["owner"] and event.client == period.client
    assert event.before["return_filed_on"] is None and event.after["declared_tax"] == "15600.07"


@pytest.mark.parametrize(
    ("filed_on", "sales", "tax", "field"),
    [
        (dt.date(2026, 11, 11), None, None, "filed_on"),  # in the future
        (dt.date(2026, 10, 31), None, None, "filed_on"),  # before the month ended
        (None, None, None, "filed_on"),
        (dt.date(2026, 11, 9), Decimal("-1"), None, "declared_sales"),
        (dt.date(2026, 11, 9), None, Decimal("-0.01"), "declared_tax"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(filed_on, sales, tax, field):
    period = make_period()
    with pytest.raises(ValidationError) as refused:
        record_return_filed(period, filed_on, sales, tax)
    assert list(refused.value.message_dict) == [field]
    period.refresh_from_db()
    assert period.return_filed_on is None and not AuditEvent.objects.exists()


def test_a_quarterly_filer_has_no_return_outside_quarter_end_months():
    period = make_period(client=make_client(taxpayer_kind="small_scale"), month=dt.date(2026, 10, 1))
    assert "__all__" in return_filed_errors(period, dt.date(2026, 11, 9), today=TODAY)
    quarter_end = make_period(client=period.client, month=dt.date(2026, 9, 1), deadline=dt.date(2026, 10, 26))
    assert return_filed_errors(quarter_end, dt.date(2026, 10, 20), today=TODAY) == {}


@pytest.mark.django_db
def test_create_blank_makes_only_the_missing_rows_of_the_clients_asked_for():
    from apps.clients.models import Client

    filed, fresh, left_out = make_client(), make_client(), make_client()
    month = dt.date(2026, 11, 1)
    kept = make_period(filed, month=month, deadline=dt.date(2026, 12, 15), return_filed_on=dt.date(2026, 12, 3))
    chosen = Client.objects.filter(pk__in=[filed.pk, fresh.pk])
    for _ in range(2):  # the second time finds nothing to do
        Period.objects.create_blank(chosen, month, dt.date(2026, 12, 15))
    rows = {p.client_id: p for p in Period.objects.filter(month=month)}
    assert set(rows) == {filed.pk, fresh.pk}
    assert rows[filed.pk].return_filed_on == kept.return_filed_on
    blank = rows[fresh.pk]
    assert (blank.deadline, blank.summary_uploaded_at, blank.return_filed_on, blank.cleared_at) == (
        dt.date(2026, 12, 15),
        None,
        None,
        None,
    )
    assert left_out.pk not in rows


@pytest.mark.django_db
def test_record_returns_records_all_or_none_and_names_each_refusal(users):
    from apps.periods.services import FiledReturn, record_returns

    general, small = make_client(), make_client(taxpayer_kind="small_scale")
    october = dt.date(2026, 10, 1)  # no return for a quarterly filer in October
    returns = [
        FiledReturn(general, october, dt.date(2026, 11, 5), "甲"),
        FiledReturn(small, october, dt.date(2026, 11, 5), "乙"),
    ]
    with pytest.raises(ValidationError) as refused:
        record_returns(returns, user=users["admin"])
    assert [m.split("：")[0] for m in refused.value.messages] == ["乙"]
    assert not Period.objects.exists() and not AuditEvent.objects.exists()  # nothing written, not even 甲

    assert record_returns(returns[:1], user=users["admin"]) == 1
    period = Period.objects.get(client=general, month=october)
    assert period.return_filed_on == dt.date(2026, 11, 5)
    assert AuditEvent.objects.filter(action="period.return_filed", object_id=str(period.pk)).count() == 1
