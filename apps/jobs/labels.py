"""Job kinds as people read them (apps/core/labels.py); error codes: apps/devices/errors.error_label."""

from django.utils.translation import gettext as _

from apps.core.labels import choice_label
from apps.jobs.models import JobKind


def kind_label(code: str) -> str:
    return choice_label(JobKind, code) or _("未知任务（%(code)s）") % {"code": code}


def kind_counts(counts: dict | None) -> list[tuple[str, int]]:
    """{"upload_summary": 75, …} as [("抄报", 75), …], the zeros left out, in JobKind's order."""
    counts = counts or {}
    order = [*JobKind.values, *(code for code in counts if code not in JobKind.values)]
    return [(kind_label(code), counts[code]) for code in order if counts.get(code)]
