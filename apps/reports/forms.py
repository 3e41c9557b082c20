from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.forms import MonthField


class ReportForm(forms.Form):
    month = MonthField(label=_("所属月份"), required=False)
    accountant = forms.ModelChoiceField(
        label=_("负责会计"),
        queryset=User.objects.filter(role=User.Role.ACCOUNTANT, is_active=True).order_by("username"),
        required=False,
        empty_label=_("全部"),
        error_messages={"invalid_choice": _("没有这个会计")},
    )
