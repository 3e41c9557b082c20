from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.fresh_code import FreshCodeFormMixin

from .models import Autopilot


class AutopilotForm(FreshCodeFormMixin, forms.ModelForm):
    """The firm's setting. Switching the cycle on, or widening what it does on its own, asks the
    second factor again (issue 27). Widening: switching it on, a higher rate per agent, starting jobs in
    the last hour before devices lock, no longer waiting out the bureau's busy hours. Narrowing
    (off, a lower rate, …) and the reminder days do not ask; nor does putting one client back in
    the cycle (views.include): the client's own staff do that, and the cycle then does for that
    client only what they may do by hand."""

    WIDER = {
        "enabled": lambda before, after: after and not before,
        "per_agent_per_minute": lambda before, after: after > before,
        "work_in_last_hour": lambda before, after: after and not before,
        "avoid_busy_hours": lambda before, after: before and not after,
    }
    code_help = _("开启自动清卡或放宽其范围时须填写")

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

    def needs_fresh_code(self) -> bool:
        return any(wider(getattr(self.instance, name), self.cleaned_data[name]) for name, wider in self.WIDER.items())


class ExclusionForm(forms.Form):
    reason = forms.CharField(
        label=_("原因"), max_length=200, error_messages={"required": _("请填写不参与自动清卡的原因")}
    )
