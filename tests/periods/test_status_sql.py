"""The SQL annotation used by lists must say exactly what period_status() says."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from apps.periods.models import Period
from tests.factories import make_client, make_period

CLIENT_KINDS = [
    {"taxpayer_kind": "general"},
    {"taxpayer_kind": "small_scale"},
    {"taxpayer_kind": "small_scale", "filing_frequency_override": "monthly"},
    {"taxpayer_kind": "general", "filing_frequency_override": "quarterly"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("today", [dt.date(2026, 11, 5), dt.date(2026, 11, 16), dt.date(2026, 11, 17)])
def test_annotation_matches_the_rule_for_every_combination(today):
    stamp = timezone.now()
    for kind, (summary, filed, cleared, locked) in itertools.product(
        CLIENT_KINDS, itertools.product((False, True), repeat=4)
    ):
        client = make_client(**kind)
        for month in (dt.date(2026, 9, 1), dt.date(2026, 10, 1)):  # a quarter's last month and one between
            make_period(
                client,
                month=month,
                summary_uploaded_at=stamp if summary else None,
                return_filed_on=today if filed else None,
                cleared_at=stamp if cleared else None,
                locked=locked,
            )
    periods = list(Period.objects.select_related("client").with_status(today))
    assert len(periods) == 128
    assert {p.status_code for p in periods} == {
        "summary_due",
        "return_due",
        "clear_due",
        "no_return",
        "done",
        "locked",
    } - (set() if today <= dt.date(2026, 11, 16) else {"summary_due", "return_due", "clear_due", "no_return"})
    for period in periods:
        assert period.status_code == period.status(today).value, period


@pytest.mark.django_db
@pytest.mark.parametrize("today", [dt.date(2026, 11, 5), dt.date(2026, 11, 17)])
def test_the_joined_form_used_by_the_dashboard_says_the_same(today, users):
    from apps.dashboard.queries import clients_for_month, missing_period_status

    stamp = timezone.now()
    for kind, (summary, filed, cleared, locked) in itertools.product(
        CLIENT_KINDS, itertools.product((False, True), repeat=4)
    ):
        make_period(
            make_client(**kind),
            month=dt.date(2026, 10, 1),
            summary_uploaded_at=stamp if summary else None,
            return_filed_on=today if filed else None,
            cleared_at=stamp if cleared else None,
            locked=locked,
        )
    without_period = make_client()
    rows = {c.pk: c.status_code for c in clients_for_month(users["admin"], dt.date(2026, 10, 1), today)}
    periods = Period.objects.filter(month=dt.date(2026, 10, 1)).select_related("client")
    assert len(rows) == 65
    for period in periods:
        assert rows[period.client_id] == period.status(today).value, period
    assert rows[without_period.pk] == missing_period_status(dt.date(2026, 11, 16), today).value
