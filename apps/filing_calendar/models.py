import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock

from .rules import estimate_deadline, period_deadline_month


class Source(models.TextChoices):
    OFFICIAL = "official", _("官方公布")
    ESTIMATED = "estimated", _("估算")  # by the rule, from the State Council's published holidays
    PROVISIONAL = "provisional", _("预估")  # by the rule, from holidays laid out provisionally
    ADMIN = "admin", _("管理员录入")

    @classmethod
    def estimated(cls) -> tuple[str, str]:
        """The sources of a month nobody published or entered."""
        return cls.ESTIMATED.value, cls.PROVISIONAL.value


def estimated_deadline(month: dt.date) -> tuple[dt.date, str]:
    """(the rule's deadline for `month`, ESTIMATED or PROVISIONAL by the holidays it rests on)."""
    estimate = estimate_deadline(month)
    return estimate.date, Source.PROVISIONAL if estimate.provisional else Source.ESTIMATED


class FilingDeadline(models.Model):
    """A month's deadline that somebody published or entered. Months without a row are estimated."""

    month = models.DateField(_("月份"), unique=True, help_text=_("该月第一天"))
    deadline = models.DateField(_("申报截止日"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.ADMIN)
    reference = models.CharField(_("依据"), max_length=200, blank=True, help_text=_("如：税总办征科函〔2025〕64号"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("征期")
        verbose_name_plural = _("征期日历")
        ordering = ["month"]

    def __str__(self):
        return f"{self.month:%Y-%m} → {self.deadline:%Y-%m-%d}"

    def clean(self):
        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("月份须为该月第一天。")})
        if (
            self.month
            and self.deadline
            and (self.deadline.year, self.deadline.month) != (self.month.year, self.month.month)
        ):
            raise ValidationError({"deadline": _("申报截止日须在该月之内。")})


@dataclass(frozen=True)
class Deadline:
    month: dt.date
    date: dt.date
    source: str

    @property
    def source_label(self):
        return Source(self.source).label

    @property
    def is_estimate(self) -> bool:
        return self.source in Source.estimated()


def deadlines_for_year(year: int) -> list[Deadline]:
    """The twelve deadlines of `year`, each from its row or estimated."""
    rows = {row.month: row for row in FilingDeadline.objects.filter(month__year=year)}
    return [_deadline(month, rows.get(month)) for month in (dt.date(year, m, 1) for m in range(1, 13))]


def period_deadline(period_month: dt.date) -> Deadline:
    """The deadline of period M, which falls in month M+1."""
    return deadline_for(period_deadline_month(period_month))


def period_deadlines(period_months) -> dict[dt.date, Deadline]:
    """period_deadline of each of `period_months`, in one query."""
    falls_in = {month: period_deadline_month(month) for month in period_months}
    rows = {row.month: row for row in FilingDeadline.objects.filter(month__in=set(falls_in.values()))}
    return {month: _deadline(due, rows.get(due)) for month, due in falls_in.items()}


def is_provisional(period_month: dt.date, deadline: dt.date) -> bool:
    """Whether a period's deadline is the calendar's and rests on holidays laid out provisionally (预估)."""
    found = period_deadline(period_month)
    return found.source == Source.PROVISIONAL and found.date == deadline


def deadline_for(month: dt.date) -> Deadline:
    """The deadline falling in `month` (its first day)."""
    return _deadline(month, FilingDeadline.objects.filter(month=month).first())


def _deadline(month: dt.date, row: FilingDeadline | None) -> Deadline:
    """The deadline falling in `month`: its row's, or estimated when there is none."""
    return Deadline(month, row.deadline, row.source) if row else Deadline(month, *estimated_deadline(month))


class CalendarFeed(models.Model):
    """A user's secret ICS feed (/calendar.ics?key=…). The key is signed and carries this nonce:
    a new nonce, or no row, makes every earlier key fail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="calendar_feed"
    )
    nonce = models.CharField(_("随机串"), max_length=32, editable=False)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("日历订阅")
        verbose_name_plural = _("日历订阅")

    def __str__(self):
        return str(self.user)
