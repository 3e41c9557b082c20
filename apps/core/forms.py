"""Form pieces every page shares."""

from django import forms
from django.contrib import messages
from django.utils.translation import gettext_lazy as _

from .months import parse_month

MONTH_ERROR = _("月份格式应为 YYYY-MM（2000至2100年），如 2026-10")


class MonthField(forms.CharField):
    """A period month typed as YYYY-MM (the browser's month picker), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return parse_month(value)
        except ValueError:
            raise forms.ValidationError(MONTH_ERROR) from None


def report_errors(request, form) -> None:
    """A bound form's errors as messages for the page the view redirects to, each after its
    field's label (a field without one, and the form's own errors, as they are)."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else str(error))
