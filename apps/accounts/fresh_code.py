"""The second factor asked again, at the moment of an action a stolen session or API token must
not do alone (issue 27): confirming a bulk clear, creating an API token, switching the
autopilot on or widening it, adding a notification channel, setting a device password.

A person with a TOTP device gives a current code with the action; one without a factor is not
asked, as at login. A code is used up once accepted (the device keeps the last time step it
took), so one code confirms one action. Forms take FreshCodeFormMixin, the API's serializers
FreshCodeSerializerMixin (field `otp`); both ask fresh_code_error."""

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.core.text import Text

from . import second_factor
from .models import User

MISSING = _("请输入验证器应用显示的6位动态验证码")
WRONG = _("动态验证码不正确或已过期，请重新输入")


def fresh_code_error(user, code: str) -> str | None:
    """Why `code` does not confirm `user`'s action, or None (always None without a factor)."""
    if not second_factor.has_factor(user):
        return None
    if not (code or "").strip():
        return str(MISSING)
    if second_factor.check_code(user, code) is None:  # wrong, expired, or used already
        return str(WRONG)
    return None


class CodeField(forms.CharField):
    def has_changed(self, initial, data) -> bool:
        return False  # the code confirms a change, it is none: not in changed_data nor audited


class FreshCodeFormMixin(forms.Form):
    """Adds 动态验证码 for a user with a factor, checked once the rest of the form is valid (a
    code is used up when accepted: it must not be spent on a submission refused for another
    field). Takes `user=`, or an `acting_user` class attribute (the admin's forms)."""

    code = CodeField(
        label=_("动态验证码"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        help_text=_("此操作须再次输入验证器应用显示的动态验证码"),
    )
    acting_user: User  # given as user=, or set on the class
    code_help: Text | None = None  # a form whose submissions ask the code only sometimes says when

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.acting_user = user
        if not second_factor.has_factor(self.acting_user):
            del self.fields["code"]
        elif self.code_help:
            self.fields["code"].help_text = str(self.code_help)

    def needs_fresh_code(self) -> bool:
        """Whether this submission's action asks the code; every one unless a form says otherwise."""
        return True

    def clean(self):
        data = super().clean()
        if "code" in self.fields and not self.errors and self.needs_fresh_code():
            error = fresh_code_error(self.acting_user, self.cleaned_data.get("code", ""))
            if error:
                self.add_error("code", error)
        return data


class FreshCodeSerializerMixin(serializers.Serializer):
    """The API's way: an `otp` field, checked after every other field is valid, never stored."""

    otp = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=8,
        help_text="动态验证码: required when the token's user has set up the second factor",
    )

    def needs_fresh_code(self, attrs) -> bool:
        return True

    def validate(self, attrs):
        attrs = super().validate(attrs)
        code = attrs.pop("otp", "")
        if self.needs_fresh_code(attrs):
            error = fresh_code_error(self.context["request"].user, code)
            if error:
                raise serializers.ValidationError({"otp": [error]})
        return attrs
