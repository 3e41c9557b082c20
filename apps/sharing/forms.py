from django import forms
from django.utils.translation import gettext_lazy

from .models import DAYS_CHOICES, DEFAULT_DAYS


class ShareLinkForm(forms.Form):
    days = forms.TypedChoiceField(
        label=gettext_lazy("有效期"),
        choices=DAYS_CHOICES,
        coerce=int,
        initial=DEFAULT_DAYS,
        required=False,
        empty_value=DEFAULT_DAYS,  # type: ignore[arg-type]  # an int: the form's days when none is chosen
    )
