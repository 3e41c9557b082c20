from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.fresh_code import FreshCodeFormMixin

from .models import Release


class ReleaseForm(FreshCodeFormMixin, forms.Form):
    """Setting a device's password asks the second factor again (issue 27): a wrong 证书口令
    costs the device one of its few tries, and at none only the tax bureau unlocks it."""

    code_help = _("填写更正后的口令时须填写")

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

    def needs_fresh_code(self) -> bool:
        return bool(self.cleaned_data["certificate_password"] or self.cleaned_data["device_password"])
