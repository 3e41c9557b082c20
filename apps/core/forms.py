"""Form pieces every page shares."""

from django import forms
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
