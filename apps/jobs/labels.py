"""Job kinds and error codes as people read them (apps/core/labels.py)."""

from django.utils.translation import gettext as _

from apps.core.labels import choice_label
from apps.jobs.errors import error_info
from apps.jobs.models import JobKind


def kind_label(code: str) -> str:
    return choice_label(JobKind, code) or _("未知任务（%(code)s）") % {"code": code}


def error_label(code: str) -> str:
    """The catalogue's message; an unknown code reads as 未知错误 (see jobs.errors.error_info)."""
    return str(error_info(code).message)


def kind_counts(counts: dict | None) -> list[tuple[str, int]]:
    """{"upload_summary": 75, …} as [("抄报", 75), …], the zeros left out, in JobKind's order."""
    counts = counts or {}
    order = [*JobKind.values, *(code for code in counts if code not in JobKind.values)]
    return [(kind_label(code), counts[code]) for code in order if counts.get(code)]
