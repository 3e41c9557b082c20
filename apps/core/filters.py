"""Pieces the list pages share: a client search, a date range with its check, a page of 50."""

import django_filters
from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 50


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class DateRangeForm(forms.Form):
    """A filter form whose `date_from` must not come after its `date_to`. Like every filter form
    here, a bad field is reported and left out; the good ones still filter."""

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期"))
            del data["date_from"]  # a contradictory range filters on neither end
        return data


def date_range(field_name: str) -> tuple[django_filters.DateFilter, django_filters.DateFilter]:
    """(date_from, date_to) on the local calendar date of a time field, both ends included."""
    return (
        django_filters.DateFilter(
            field_name=field_name, lookup_expr="date__gte", label=_("起始日期"), widget=DateInput()
        ),
        django_filters.DateFilter(
            field_name=field_name, lookup_expr="date__lte", label=_("结束日期"), widget=DateInput()
        ),
    )


class ClientSearchFilter(django_filters.CharFilter):
    """Name or taxpayer identifier of the client at `field_name` (a relation path to Client)."""

    def __init__(self, field_name="client", **kwargs):
        kwargs.setdefault("label", _("客户名称或纳税人识别号"))
        super().__init__(field_name=field_name, **kwargs)

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        prefix = self.field_name
        return qs.filter(
            Q(**{f"{prefix}__name__icontains": value}) | Q(**{f"{prefix}__taxpayer_id__icontains": value.upper()})
        )


def page_of(request, queryset, per_page=PAGE_SIZE, count=None):
    """The requested page; `count`, when the caller already knows how many rows there are, spares
    the COUNT query."""
    paginator = Paginator(queryset, per_page)
    if count is not None:
        paginator.count = count
    return paginator.get_page(request.GET.get("page"))
