from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.fresh_code import FreshCodeFormMixin
from apps.accounts.models import User
from apps.clients.models import TaxpayerKind
from apps.core import clock
from apps.core.forms import MonthField
from apps.core.months import add_months, format_month
from apps.devices.models import Agent, DeviceKind
from apps.jobs.models import JobKind
from apps.jobs.planning import DEFAULT_PER_AGENT_PER_MINUTE
from apps.periods.models import working_month
from apps.periods.rules import PeriodStatus

from .models import BATCH_KINDS

NOW, AT = "now", "at"
FILTERS = ("staff", "agent", "taxpayer_kind", "device_kind", "status")


class BatchForm(forms.Form):
    """What to schedule (period, kind, filters) and when (now or at a time, spread per agent)."""

    month = MonthField(label=_("所属月份"), error_messages={"required": _("请选择所属月份")})
    kind = forms.ChoiceField(label=_("任务类型"), choices=BATCH_KINDS, initial=JobKind.CLEAR)
    staff = forms.ModelChoiceField(
        queryset=User.objects.filter(role=User.Role.ACCOUNTANT).order_by("username"),
        label=_("负责会计"),
        required=False,
        empty_label=_("全部"),
    )
    agent = forms.ModelChoiceField(
        queryset=Agent.objects.all(), label=_("前置机"), required=False, empty_label=_("全部")
    )
    taxpayer_kind = forms.ChoiceField(
        label=_("纳税人类型"), required=False, choices=[("", _("全部")), *TaxpayerKind.choices]
    )
    device_kind = forms.ChoiceField(label=_("设备类型"), required=False, choices=[("", _("全部")), *DeviceKind.choices])
    status = forms.ChoiceField(label=_("申报状态"), required=False, choices=[("", _("全部")), *PeriodStatus.choices])
    when = forms.ChoiceField(
        label=_("执行时间"),
        choices=[(NOW, _("立即开始")), (AT, _("指定时间开始"))],
        initial=NOW,
        widget=forms.RadioSelect,
    )
    start_at = forms.DateTimeField(
        label=_("开始时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("请输入有效的日期和时间")},
    )
    avoid_busy_hours = forms.BooleanField(
        label=_("避开税局高峰时段（9:00–11:00、14:00–16:00）"),
        required=False,
        help_text=_("落在高峰时段内的任务顺延到该时段结束"),
    )
    per_agent_per_minute = forms.IntegerField(
        label=_("每台前置机每分钟最多任务数"),
        min_value=1,
        max_value=60,
        required=False,
        initial=DEFAULT_PER_AGENT_PER_MINUTE,
        help_text=_("留空为不限：每台前置机按其设备能力尽快执行"),
        error_messages={
            "invalid": _("请输入整数"),
            "min_value": _("至少为1"),
            "max_value": _("不能超过60"),
        },
    )

    def clean_month(self):
        month = self.cleaned_data["month"]
        latest = add_months(working_month(), 1)
        if month and month > latest:
            raise forms.ValidationError(
                _("所属月份不能晚于 %(month)s：某月的抄报清卡在下个月进行") % {"month": format_month(latest)}
            )
        return month

    def clean(self):
        data = super().clean() or {}
        if data.get("when") == AT:
            start = data.get("start_at")
            if start is None and "start_at" not in self.errors:
                self.add_error("start_at", _("请选择开始时间"))
            elif start is not None and start < clock.now():
                self.add_error("start_at", _("开始时间不能早于现在"))
        return data

    def start(self):
        """When the first job of each agent runs: the time chosen, or now."""
        data = self.cleaned_data
        return data["start_at"] if data["when"] == AT else clock.now()

    def chosen_filters(self) -> dict:
        """The filters set, as {name: {"value": …, "label": …}} for the batch record."""
        chosen = {}
        for name in FILTERS:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            field = self.fields[name]
            label = str(value) if hasattr(value, "pk") else str(dict(getattr(field, "choices", ()))[value])
            chosen[name] = {"value": value.pk if hasattr(value, "pk") else value, "label": label}
        return chosen


class ConfirmBatchForm(FreshCodeFormMixin, BatchForm):
    """The preview's choice, confirmed; with the second factor on, a fresh code too."""

    token = forms.UUIDField(widget=forms.HiddenInput)


class ReturnsUploadForm(forms.Form):
    file = forms.FileField(
        label=_("申报记录文件（.xlsx 或 .csv）"),
        error_messages={"required": _("请选择要上传的文件"), "empty": _("上传的文件是空的")},
    )
