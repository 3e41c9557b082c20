"""Invoices as the devices reported them through 发票查询 jobs: what a person searches when a buyer
says an invoice "is not in the system". A device's own answer is the only source; nothing here is
typed in by hand."""

import re

from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from apps.core.permissions import restrict

CODE = re.compile(r"\d{10}|\d{12}")  # 发票代码: paper 10 digits, electronic 12
NUMBER = re.compile(r"\d{8}|\d{20}")  # 发票号码: 8 digits; 20 for a 数电票, which has no code


class InvoiceQuerySet(models.QuerySet):
    def visible_to(self, user):
        return restrict(self, user, "device__client__")

    def with_total(self):
        return self.annotate(total=F("amount") + F("tax"))


class Invoice(models.Model):
    device = models.ForeignKey(
        "devices.Device", verbose_name=_("开票设备"), on_delete=models.PROTECT, related_name="invoices"
    )
    kind = models.CharField(_("发票种类"), max_length=3)  # 004, 007, 026 … (docs/domain.md)
    code = models.CharField(_("发票代码"), max_length=12, blank=True)  # blank: 数电票, a 20-digit number alone
    number = models.CharField(_("发票号码"), max_length=20)
    issued_at = models.DateTimeField(_("开票时间"))
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    tax = models.DecimalField(_("税额"), max_digits=14, decimal_places=2)
    buyer = models.CharField(_("购买方"), max_length=100, blank=True)
    uploaded = models.BooleanField(_("已上传税局"), help_text=_("否：离线开具，仍只在开票设备中"))
    reported_by = models.ForeignKey(
        "jobs.Job", verbose_name=_("上报任务"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_reported_at = models.DateTimeField(_("首次上报"))
    reported_at = models.DateTimeField(_("最近上报"))

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("发票")
        verbose_name_plural = _("发票")
        ordering = ["-issued_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["code", "number"], name="invoice_code_number")]
        indexes = [
            models.Index(fields=["number"]),
            models.Index(fields=["device", "-issued_at"]),
            models.Index(fields=["amount"]),
        ]

    def __str__(self):
        return f"{self.code} {self.number}".strip()
