from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Release


class ReleaseForm(forms.Form):
    release = forms.ChoiceField(
        label=_("解除方式"),
        choices=Release.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择解除方式")},
    )
    certificate_password = forms.CharField(
        label=_("更正后的证书口令"), required=False, widget=forms.PasswordInput, strip=False
    )
    device_password = forms.CharField(
        label=_("更正后的设备口令"), required=False, widget=forms.PasswordInput, strip=False
    )
    note = forms.CharField(
        label=_("处理说明"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
