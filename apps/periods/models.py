import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Case, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.clients.models import InvoicingMode, InvoicingModeChange
from apps.core import clock
from apps.core.months import add_months, format_month, month_start
from apps.devices.models import Device, in_service
from apps.filing_calendar.models import period_deadline

from .rules import (
    QUARTER_END_MONTHS,
    SHANGHAI,
    Lateness,
    PeriodStatus,
    Reconciliation,
    acting_month_for,
    devices_locked,
    last_open_month,
    lateness,
    lock_is_estimate,
    period_status,
    reconciliation,
    return_due,
    window_opens,
    working_month_for,
)


def devices_locked_expressions(client_pk: str, today: dt.date, month) -> tuple[Exists, Exists]:
    """devices_locked() in SQL: (some device of the client says it is locked, some device has
    told us anything). Devices retired for `month` (a date, or the outer query's month) do not count."""
    devices = Device.objects.filter(client=OuterRef(client_pk)).in_service(month)
    return Exists(devices.locked(today)), Exists(devices.lock_known())


def mode_expression(client_pk: str, month):
    """Client.invoicing_mode() in SQL: the mode of the client's latest change starting in or before
    `month` (an expression of the outer query, or a date), 税控 before any change."""
    latest = (
        InvoicingModeChange.objects.filter(client=OuterRef(client_pk), from_month__lte=month)
        .order_by("-from_month")
        .values("mode")[:1]
    )
    return Coalesce(Subquery(latest), Value(InvoicingMode.TAX_CONTROL), output_field=models.CharField())


def digital_q(client_pk: str, month) -> Q:
    """The client's mode in `month` is 数电 (Client.invoicing_mode), as a condition."""
    return Q(Exact(mode_expression(client_pk, month), Value(InvoicingMode.DIGITAL)))


def return_required_condition(period: str, client: str) -> Q:
    """return_due() in SQL."""
    return (
        Q(**{f"{client}filing_frequency_override": "monthly"})
        | Q(**{f"{client}filing_frequency_override": "", f"{client}taxpayer_kind": "general"})
        | Q(**{f"{period}month__month__in": QUARTER_END_MONTHS})
    )


def status_expression(
    now: dt.datetime,
    period: str = "",
    client: str = "client__",
    client_pk: str = "client_id",
    month: dt.date | None = None,
    deadline: dt.date | None = None,
):
    """period_status() in SQL, so lists can filter, count and sort by status in the database.

    `period` and `client` are the paths to the period's and the client's fields from the query's
    model, `client_pk` the client's id: ("", "client__", "client_id") on Period; ("this_period__",
    "", "pk") on Client joined to one period, where a client without that period row counts as a
    period of `month` with nothing done, due on `deadline`. tests/periods/test_status_sql.py keeps
    this and period_status() in step."""
    f = lambda name: period + name  # noqa: E731
    today = timezone.localdate(now)
    month_field = Coalesce(F(f("month")), Value(month)) if month else F(f("month"))
    deadline_field = Coalesce(F(f("deadline")), Value(deadline)) if deadline else F(f("deadline"))
    # The period's month: on a client joined to one period it is `month` whether the row exists or not.
    period_month = month or OuterRef(f("month"))
    locked, known = devices_locked_expressions(client_pk, today, period_month)
    past_deadline = Q(GreaterThan(Value(today), deadline_field))
    return_required = return_required_condition(period, client)
    digital = digital_q(client_pk, period_month)
    not_open = Q(GreaterThan(month_field, Value(last_open_month(now))))
    return_missing = return_required & Q(**{f("return_filed_on__isnull"): True})
    return Case(
        When(**{f("cleared_at__isnull"): False}, then=Value(PeriodStatus.DONE)),
        When(digital & not_open, then=Value(PeriodStatus.NOT_OPEN)),
        When(digital & return_missing & past_deadline, then=Value(PeriodStatus.RETURN_OVERDUE)),
        When(digital & return_missing, then=Value(PeriodStatus.RETURN_DUE)),
        When(digital, then=Value(PeriodStatus.NO_CLEAR_NEEDED)),
        When(Q(locked) | (~Q(known) & past_deadline), then=Value(PeriodStatus.LOCKED)),
        When(not_open, then=Value(PeriodStatus.NOT_OPEN)),
        When(**{f("summary_uploaded_at__isnull"): True}, then=Value(PeriodStatus.SUMMARY_DUE)),
        When(~return_required, then=Value(PeriodStatus.NO_RETURN_THIS_MONTH)),
        When(Q(**{f("return_filed_on__isnull"): True}) & past_deadline, then=Value(PeriodStatus.RETURN_OVERDUE)),
        When(**{f("return_filed_on__isnull"): True}, then=Value(PeriodStatus.RETURN_DUE)),
        default=Value(PeriodStatus.CLEAR_DUE),
        output_field=models.CharField(),
    )


def lock_estimate_expression(client_pk: str, today: dt.date, month):
    """True where no device of the client in service for `month` has told us anything: a 已锁死
    there is an estimate."""
    _locked, known = devices_locked_expressions(client_pk, today, month)
    return ExpressionWrapper(~Q(known), output_field=models.BooleanField())


class PeriodQuerySet(models.QuerySet):
    def with_status(self, now: dt.datetime | None = None):
        """Annotates `status_code` (see status_expression) and `lock_estimated`."""
        now = now or clock.now()
        return self.annotate(
            status_code=status_expression(now),
            lock_estimated=lock_estimate_expression("client_id", timezone.localdate(now), OuterRef("month")),
        )

    def create_blank(self, clients: models.QuerySet, month: dt.date, deadline: dt.date) -> None:
        """Inserts `month`'s blank row (Period.blank) for every client of the `clients` queryset
        that has none, in one INSERT … SELECT: the autopilot opens thousands of periods at 00:05
        on the 1st, and building them as objects cost it a quarter of its pass."""
        template = self.model(month=month, deadline=deadline)
        fields = [f for f in self.model._meta.concrete_fields if not f.primary_key and f.name != "client"]
        values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
        client_sql, client_params = clients.values("pk").query.sql_with_params()
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (client_id, {', '.join(quote(str(f.column)) for f in fields)}) "
                f"SELECT c.id, {', '.join(['%s'] * len(values))} FROM {quote(clients.model._meta.db_table)} c "
                f"WHERE c.id IN ({client_sql}) "
                f"AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.client_id = c.id AND p.month = %s) "
                "ON CONFLICT DO NOTHING",
                [*values, *client_params, month],
            )


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
    invoice_summary = models.JSONField(
        _("抄报汇总"),
        null=True,
        blank=True,
        help_text=_("各设备抄报上传的开票汇总：设备编号 → 发票类型 → 份数、金额、税额"),
    )
    reconciliation_confirmed_at = models.DateTimeField(_("票表比对确认时间"), null=True, blank=True)
    reconciliation_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("票表比对确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
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
    def invoicing_mode(self) -> str:
        """税控, 数电 or 双轨 for this month (prefetch client__invoicing_modes for lists)."""
        return self.client.invoicing_mode(self.month)

    @property
    def digital(self) -> bool:
        """A 数电 month: the return only, no device cycle."""
        return self.invoicing_mode == InvoicingMode.DIGITAL

    @property
    def return_required(self) -> bool:
        return return_due(self.client.filing_frequency, self.month)

    def devices_locked(self, today: dt.date) -> bool | None:
        """What the client's devices say (prefetch client.devices for lists); nothing for a
        client not saved yet."""
        if self.client.pk is None:
            return None
        return devices_locked([d.lock_state(today) for d in self.client.devices.all() if in_service(d, self.month)])

    def summary_day(self) -> dt.date | None:
        """The day of this period's 抄报: the latest its devices in service report for it (their 最新报税日期
        in the month after the period, the month its 抄报 is done in), else the day the site recorded it.
        A device's own date comes first: the site may learn of a 抄报 the client software did days later."""
        if self.client.pk is None:
            return None
        following = add_months(self.month, 1)
        days = [d.monitoring_date("zxbsrq") for d in self.client.devices.all() if in_service(d, self.month)]
        reported = [day for day in days if day and month_start(day) == following]
        if reported:
            return max(reported)
        return timezone.localdate(self.summary_uploaded_at) if self.summary_uploaded_at else None

    def status(self, now: dt.datetime | None = None) -> PeriodStatus:
        now = now or clock.now()
        # the site's zone, without asking for the active one (thousands of times per pass)
        return self._status(now, locked=self.devices_locked(now.astimezone(SHANGHAI).date()))

    def unlocked_status(self, now: dt.datetime | None = None) -> PeriodStatus:
        """The status the period would have were its devices not locked: what a locked device's
        one try online (逾期抄报, then 清卡) still has to do."""
        return self._status(now or clock.now(), locked=False)

    def _status(self, now: dt.datetime, locked: bool | None) -> PeriodStatus:
        return period_status(
            month=self.month,
            deadline=self.deadline,
            now=now,
            return_required=self.return_required,
            summary_uploaded=self.summary_uploaded_at is not None,
            return_filed=self.return_filed_on is not None,
            cleared=self.cleared_at is not None,
            locked=locked,
            digital=self.digital,
        )

    def lock_is_estimate(self, now: dt.datetime | None = None) -> bool:
        now = now or clock.now()
        return lock_is_estimate(self.status(now), self.devices_locked(timezone.localdate(now)))

    def reconciliation(self, tolerance: Decimal) -> Reconciliation | None:
        """票表比对 of this period; its holds_clear: the return and the invoices disagree beyond the
        firm's tolerance and no one has confirmed the difference since (a corrected return is
        compared afresh)."""
        confirmed = self.reconciliation_confirmed_at is not None
        return reconciliation(self.invoice_summary, self.declared_sales, self.declared_tax, tolerance, confirmed)

    def lateness(self, today: dt.date | None = None) -> Lateness:
        return lateness(
            deadline=self.deadline,
            today=today or clock.today(),
            return_required=self.return_required,
            summary_on=self.summary_uploaded_at and timezone.localdate(self.summary_uploaded_at),
            filed_on=self.return_filed_on,
            cleared_on=self.cleared_at and timezone.localdate(self.cleared_at),
        )

    @property
    def window_opens(self) -> dt.datetime:
        return window_opens(self.month)

    @classmethod
    def blank(cls, client, month: dt.date, deadline: dt.date | None = None) -> "Period":
        """The client's period of `month` as it stands before anything is recorded (not saved).
        `deadline`: the calendar's, when the caller looked it up already."""
        return cls(client=client, month=month, deadline=deadline or period_deadline(month).date)

    @classmethod
    def for_client(cls, client, month: dt.date) -> "Period":
        """The client's period for `month`, created with its deadline from the calendar if new."""
        period, _created = cls.objects.get_or_create(
            client=client,
            month=month,
            defaults={"deadline": period_deadline(month).date},
        )
        return period


def working_month(today: dt.date | None = None) -> dt.date:
    """The period the firm works on today (rules.working_month_for), from the filing calendar."""
    today = today or clock.today()
    return working_month_for(today, period_deadline(add_months(month_start(today), -1)).date)


def in_filing_season(today: dt.date, working: dt.date) -> bool:
    """征期: from the working period's window to its deadline."""
    return window_opens(working).date() <= today <= period_deadline(working).date


def acting_month(now: dt.datetime | None = None) -> dt.date:
    """rules.acting_month_for the working period of today."""
    now = now or clock.now()
    return acting_month_for(working_month(timezone.localdate(now)), now)
