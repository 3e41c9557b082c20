"""The SQL annotations used by lists must say exactly what period_status(), lock_is_estimate() and
lateness() say: on Period lists, and in the joined form behind the dashboard and the months API."""

import datetime as dt
import itertools

import pytest

from apps.clients.models import InvoicingMode, InvoicingModeChange
from apps.devices.models import Health
from apps.periods.models import Period
from apps.periods.queries import clients_for_month
from apps.periods.rules import SHANGHAI
from tests.factories import make_client, make_device, make_period

CLIENT_KINDS = [
    {"taxpayer_kind": "general"},
    {"taxpayer_kind": "small_scale"},
    {"taxpayer_kind": "small_scale", "filing_frequency_override": "monthly"},
]
# What the client's devices say: (lock_date, locked_reported, health) per device.
DEVICES: dict[str, list[tuple[dt.date | None, bool, str]]] = {
    "none": [],
    "unread": [(None, False, Health.GOOD)],
    "fine": [(dt.date(2026, 12, 15), False, Health.GOOD)],
    "lock_date_later": [(dt.date(2026, 11, 30), False, Health.GOOD)],
    "lock_date_passed": [(dt.date(2026, 11, 16), False, Health.GOOD)],
    "answered_locked": [(dt.date(2026, 12, 15), True, Health.GOOD)],
    "sub_locked": [(dt.date(2026, 12, 15), False, Health.GOOD), (dt.date(2026, 11, 10), False, Health.GOOD)],
    "retired_locked": [(dt.date(2026, 11, 10), True, Health.RETIRED)],
}
# The client's invoicing mode changes: (from month, mode).
MODES: dict[str, list[tuple[dt.date, str]]] = {
    "tax_control": [],
    "digital": [(dt.date(2026, 1, 1), InvoicingMode.DIGITAL)],
    "digital_from_october": [(dt.date(2026, 10, 1), InvoicingMode.DIGITAL)],
    "dual": [(dt.date(2026, 9, 1), InvoicingMode.DUAL)],
    "digital_then_back": [
        (dt.date(2026, 9, 1), InvoicingMode.DIGITAL),
        (dt.date(2026, 10, 1), InvoicingMode.TAX_CONTROL),
    ],
}
MOMENTS = [
    dt.datetime(2026, 11, 1, 0, 4, tzinfo=SHANGHAI),
    dt.datetime(2026, 11, 1, 0, 5, tzinfo=SHANGHAI),
    dt.datetime(2026, 11, 16, 23, 0, tzinfo=SHANGHAI),
    dt.datetime(2026, 11, 17, 0, 30, tzinfo=SHANGHAI),
    dt.datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI),
]
STEPS = {  # summary, filed, cleared (days after the 1st of November)
    "nothing": (None, None, None),
    "summarised": (2, None, None),
    "filed": (2, 10, None),
    "filed_late": (2, 18, None),
    "cleared": (2, 10, 12),
    "cleared_late": (2, 18, 20),
}


def stamp(days):
    return dt.datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI) + dt.timedelta(days=days)


def make_world(months):
    for kind, devices, steps, modes in itertools.product(CLIENT_KINDS, DEVICES, STEPS, MODES):
        client = make_client(**kind)
        for from_month, mode in MODES[modes]:
            InvoicingModeChange.objects.create(client=client, from_month=from_month, mode=mode)
        for sub_number, (lock_date, reported, health) in enumerate(DEVICES[devices]):
            make_device(client, sub_number=sub_number, lock_date=lock_date, locked_reported=reported, health=health)
        summary, filed, cleared = STEPS[steps]
        for month in months:
            make_period(
                client,
                month=month,
                summary_uploaded_at=stamp(summary) if summary is not None else None,
                return_filed_on=stamp(filed).date() if filed is not None else None,
                cleared_at=stamp(cleared) if cleared is not None else None,
            )
    return len(CLIENT_KINDS) * len(DEVICES) * len(STEPS) * len(MODES)


@pytest.mark.django_db
@pytest.mark.parametrize("now", MOMENTS)
def test_annotation_matches_the_rule_for_every_combination(now):
    clients = make_world([dt.date(2026, 9, 1), dt.date(2026, 10, 1)])  # a quarter's last month and one between
    periods = list(
        Period.objects.select_related("client")
        .prefetch_related("client__devices", "client__invoicing_modes")
        .with_status(now)
    )
    assert len(periods) == 2 * clients
    for period in periods:
        assert period.status_code == period.status(now).value, period
        assert period.lock_estimated == (period.devices_locked(now.date()) is None), period
    assert len({p.status_code for p in periods}) >= 4
    if now >= MOMENTS[1]:
        assert "no_clear" in {p.status_code for p in periods}


@pytest.mark.django_db
@pytest.mark.parametrize("now", MOMENTS)
def test_the_joined_form_used_by_the_dashboard_says_the_same(now, users):
    make_world([dt.date(2026, 10, 1)])
    without_period = [make_client(), make_client()]
    make_device(without_period[1], lock_date=dt.date(2026, 12, 15))
    rows = {c.pk: c for c in clients_for_month(users["admin"], dt.date(2026, 10, 1), now)}
    periods = (
        Period.objects.filter(month=dt.date(2026, 10, 1))
        .select_related("client")
        .prefetch_related("client__devices", "client__invoicing_modes")
    )
    for period in periods:
        row = rows[period.client_id]
        assert row.status_code == period.status(now).value, period
        assert row.is_late == period.lateness(now.date()).any, period
        assert row.lock_estimated == (period.devices_locked(now.date()) is None), period
    for client in without_period:
        blank = Period.blank(client, dt.date(2026, 10, 1))
        assert rows[client.pk].status_code == blank.status(now).value
        assert rows[client.pk].is_late == blank.lateness(now.date()).any
