"""Changes people make to a period. The dashboard, the client page, the API and the upload of
filed returns all go through here, so the checks and the audit trail are the same everywhere."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.core.months import add_months

from .models import Period


def return_filed_errors(
    period: Period,
    filed_on: dt.date | None,
    declared_sales: Decimal | None = None,
    declared_tax: Decimal | None = None,
    today: dt.date | None = None,
) -> dict[str, list[str]]:
    """What is wrong with recording this return, field by field; empty when it may be recorded."""
    today = today or clock.today()
    errors: dict[str, list[str]] = {}
    if not period.return_required:
        errors["__all__"] = [
            _("%(month)s 为按季申报客户的非申报月份，本月无需申报增值税") % {"month": f"{period.month:%Y-%m}"}
        ]
    if filed_on is None:
        errors["filed_on"] = [_("请填写申报日期")]
    elif filed_on > today:
        errors["filed_on"] = [_("申报日期不能晚于今天")]
    elif filed_on < add_months(period.month, 1):
        errors["filed_on"] = [
            _("申报日期不能早于所属月份结束之后（%(day)s）") % {"day": f"{add_months(period.month, 1):%Y-%m-%d}"}
        ]
    for field, value, label in (
        ("declared_sales", declared_sales, _("申报销售额")),
        ("declared_tax", declared_tax, _("申报税额")),
    ):
        if value is not None and value < 0:
            errors[field] = [_("%(label)s不能为负数") % {"label": label}]
    return errors


def record_return_filed(
    period: Period,
    filed_on: dt.date,
    declared_sales: Decimal | None = None,
    declared_tax: Decimal | None = None,
    user=None,
    request=None,
) -> Period:
    """Records the VAT return of `period` as filed. Raises ValidationError (a dict by field, in
    Chinese) and writes nothing when the input is wrong; otherwise saves and audits the change."""
    errors = return_filed_errors(period, filed_on, declared_sales, declared_tax)
    if errors:
        raise ValidationError(errors)
    changes = {"return_filed_on": filed_on, "declared_sales": declared_sales, "declared_tax": declared_tax}
    if (declared_sales, declared_tax) != (period.declared_sales, period.declared_tax):
        changes.update(reconciliation_confirmed_at=None, reconciliation_confirmed_by_id=None)  # compared afresh
    before = {name: getattr(period, name) for name in changes}
    with transaction.atomic():
        for name, value in changes.items():
            setattr(period, name, value)
        period.save(update_fields=[*changes, "updated_at"])
        log.record(Action.PERIOD_RETURN_FILED, period, user=user, request=request, before=before, after=changes)
    return period


@dataclass
class FiledReturn:
    """One return to record: `client`'s period of `month`, filed on `filed_on`. `label` names it
    in a refusal (the client, or the line of an uploaded file)."""

    client: object
    month: dt.date
    filed_on: dt.date
    label: str
    declared_sales: Decimal | None = None
    declared_tax: Decimal | None = None


def record_returns(returns: list[FiledReturn], *, user, request=None) -> int:
    """Records every return, or none: the dashboard's 已申报 for many clients and the upload of
    filed returns. Raises ValidationError listing each refusal under its label. The callers have
    checked that `user` may record for each client."""
    refusals = []
    with transaction.atomic():
        for filed in returns:
            period = Period.for_client(filed.client, filed.month)
            try:
                record_return_filed(
                    period,
                    filed.filed_on,
                    declared_sales=filed.declared_sales,
                    declared_tax=filed.declared_tax,
                    user=user,
                    request=request,
                )
            except ValidationError as error:
                refusals += [f"{filed.label}：{message}" for message in error.messages]
        if refusals:
            raise ValidationError(refusals)  # and the transaction writes nothing
    return len(returns)


def confirm_reconciliation(period: Period, *, user, request=None) -> None:
    """A person has checked why the return and the invoices differ: the clear may go ahead."""
    before = {"reconciliation_confirmed_at": period.reconciliation_confirmed_at}
    period.reconciliation_confirmed_at, period.reconciliation_confirmed_by = clock.now(), user
    period.save(update_fields=["reconciliation_confirmed_at", "reconciliation_confirmed_by", "updated_at"])
    after = {"reconciliation_confirmed_at": period.reconciliation_confirmed_at}
    log.record(Action.PERIOD_RECONCILIATION_CONFIRMED, period, user=user, request=request, before=before, after=after)
