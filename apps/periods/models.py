import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock
from apps.core.months import add_months, format_month
from apps.filing_calendar.models import deadline_for

from .rules import QUARTER_END_MONTHS, PeriodStatus, period_status, return_due


def status_expression(today: dt.date, period: str = "", client: str = "client__", missing: str | None = None):
    """period_status() in SQL, so lists can filter, count and sort by status in the database.

    `period` and `client` are the paths to the period's and the client's fields from the query's
    model: ("", "client__") on Period; ("this_period__", "") on Client joined to one period, where
    a client without that period row gets `missing`. tests/periods/test_status_sql.py keeps this
    and period_status() in step."""
    f = lambda name: period + name  # noqa: E731
    return_required = (
        models.Q(**{f"{client}filing_frequency_override": "monthly"})
        | models.Q(**{f"{client}filing_frequency_override": "", f"{client}taxpayer_kind": "general"})
        | models.Q(**{f("month__month__in"): QUARTER_END_MONTHS})
    )
    whens = [models.When(**{f("id__isnull"): True}, then=models.Value(missing))] if missing is not None else []
    return models.Case(
        *whens,
        models.When(**{f("cleared_at__isnull"): False}, then=models.Value(PeriodStatus.DONE)),
        models.When(
            models.Q(**{f("locked"): True}) | models.Q(**{f("deadline__lt"): today}),
            then=models.Value(PeriodStatus.LOCKED),
        ),
        models.When(**{f("summary_uploaded_at__isnull"): True}, then=models.Value(PeriodStatus.SUMMARY_DUE)),
        models.When(~return_required, then=models.Value(PeriodStatus.NO_RETURN_THIS_MONTH)),
        models.When(**{f("return_filed_on__isnull"): True}, then=models.Value(PeriodStatus.RETURN_DUE)),
        default=models.Value(PeriodStatus.CLEAR_DUE),
        output_field=models.CharField(),
    )


class PeriodQuerySet(models.QuerySet):
    def with_status(self, today: dt.date | None = None):
        """Annotates `status_code` (see status_expression)."""
        return self.annotate(status_code=status_expression(today or clock.today()))


class Period(models.Model):
    """申报期: one client's month. Its status is derived, never stored."""

    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="periods"
    )
    month = models.DateField(_("所属月份"), help_text=_("该月第一天"))
    deadline = models.DateField(_("申报截止日"), help_text=_("来自征期日历：所属月份的下一个月"))
    summary_uploaded_at = models.DateTimeField(_("抄报时间"), null=True, blank=True)
    return_filed_on = models.DateField(_("申报日期"), null=True, blank=True)
    declared_sales = models.DecimalField(_("申报销售额"), max_digits=16, decimal_places=2, null=True, blank=True)
    declared_tax = models.DecimalField(_("申报税额"), max_digits=16, decimal_places=2, null=True, blank=True)
    cleared_at = models.DateTimeField(_("清卡时间"), null=True, blank=True)
    locked = models.BooleanField(_("已锁死"), default=False)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("申报期")
        verbose_name_plural = _("申报期")
        ordering = ["-month", "client__name"]
        constraints = [models.UniqueConstraint(fields=["client", "month"], name="period_unique_client_month")]
        indexes = [models.Index(fields=["month", "client"])]

    def __str__(self):
        return f"{self.client} {format_month(self.month)}"

    @property
    def audit_client(self):
        return self.client

    def clean(self):
        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("月份须为该月第一天。")})

    @property
    def return_required(self) -> bool:
        return return_due(self.client.filing_frequency, self.month)

    def status(self, today: dt.date | None = None) -> PeriodStatus:
        return period_status(
            return_required=self.return_required,
            summary_uploaded=self.summary_uploaded_at is not None,
            return_filed=self.return_filed_on is not None,
            cleared=self.cleared_at is not None,
            locked=self.locked,
            today=today or clock.today(),
            deadline=self.deadline,
        )

    def get_status_display(self):
        return self.status().label

    @classmethod
    def for_client(cls, client, month: dt.date) -> "Period":
        """The client's period for `month`, created with its deadline from the calendar if new."""
        period, _created = cls.objects.get_or_create(
            client=client,
            month=month,
            defaults={"deadline": deadline_for(add_months(month, 1)).date},
        )
        return period
