from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Autopilot


class AutopilotForm(forms.ModelForm):
    class Meta:
        model = Autopilot
        fields = ["enabled", "avoid_busy_hours", "per_agent_per_minute", "work_in_last_hour", "reminder_days"]
        error_messages = {
            "per_agent_per_minute": {
                "required": _("请填写每分钟最多任务数"),
                "invalid": _("请输入整数"),
                "min_value": _("至少为1"),
                "max_value": _("不能超过600"),
            },
            "reminder_days": {
                "required": _("请填写提醒天数"),
                "invalid": _("请输入整数"),
                "min_value": _("不能为负数"),
                "max_value": _("不能超过15天"),
            },
        }


class ExclusionForm(forms.Form):
    reason = forms.CharField(
        label=_("原因"), max_length=200, error_messages={"required": _("请填写不参与自动清卡的原因")}
    )
