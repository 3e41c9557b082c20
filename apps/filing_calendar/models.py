import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .rules import estimate_deadline, period_deadline_month


class Source(models.TextChoices):
    OFFICIAL = "official", _("官方公布")
    ESTIMATED = "estimated", _("估算")
    ADMIN = "admin", _("管理员录入")


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


def deadlines_for_year(year: int) -> list[Deadline]:
    """The twelve deadlines of `year`, each from its row or estimated."""
    rows = {row.month: row for row in FilingDeadline.objects.filter(month__year=year)}
    result = []
    for m in range(1, 13):
        month = dt.date(year, m, 1)
        row = rows.get(month)
        result.append(
            Deadline(month, row.deadline, row.source)
            if row
            else Deadline(month, estimate_deadline(month), Source.ESTIMATED)
        )
    return result


def period_deadline(period_month: dt.date) -> Deadline:
    """The deadline of period M, which falls in month M+1."""
    return deadline_for(period_deadline_month(period_month))


def deadline_for(month: dt.date) -> Deadline:
    """The deadline falling in `month` (its first day)."""
    row = FilingDeadline.objects.filter(month=month).first()
    return (
        Deadline(month, row.deadline, row.source)
        if row
        else Deadline(month, estimate_deadline(month), Source.ESTIMATED)
    )
