from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ..models import Source, deadlines_for_year
from ..views import CALENDAR_YEARS


@extend_schema(
    responses=inline_serializer(
        "YearCalendar",
        {
            "year": serializers.IntegerField(),
            "months": inline_serializer(
                "MonthDeadline",
                many=True,
                fields={
                    "month": serializers.CharField(help_text="YYYY-MM"),
                    "deadline": serializers.DateField(),
                    "source": serializers.ChoiceField(choices=Source.values),
                    "source_label": serializers.CharField(),
                },
            ),
        },
    )
)
@api_view(["GET"])
def year_calendar(request, year: int):
    """征期日历: the twelve filing deadlines of a year, each official (官方公布), entered by an
    admin (管理员录入), or by the extension rule: from the published holidays (估算) or from holidays
    laid out provisionally (预估, a year whose arrangement is not yet published)."""
    if year not in CALENDAR_YEARS:
        raise ValidationError({"year": [_("年份应在1990到2100之间")]})
    months = [
        {
            "month": f"{d.month:%Y-%m}",
            "deadline": d.date.isoformat(),
            "source": d.source,
            "source_label": str(Source(d.source).label),
        }
        for d in deadlines_for_year(year)
    ]
    return Response({"year": year, "months": months})
