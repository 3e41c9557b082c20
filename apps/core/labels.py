"""The Chinese label of every code a person can see: job kinds, states, origins, error codes,
notification events, attention kinds. Pages and spreadsheets show the label; the API keeps the
code. An unknown code still reads as words (未知…), never as the bare code alone."""

from django.utils.translation import gettext as _


def _choice(choices, code) -> str | None:
    return str(choices(code).label) if code in choices.values else None


def kind_label(code: str) -> str:
    from apps.jobs.models import JobKind

    return _choice(JobKind, code) or _("未知任务（%(code)s）") % {"code": code}


def state_label(code: str) -> str:
    from apps.jobs.models import JobState

    return _choice(JobState, code) or _("未知状态（%(code)s）") % {"code": code}


def origin_label(code: str) -> str:
    from apps.jobs.models import Origin

    return _choice(Origin, code) or _("未知来源（%(code)s）") % {"code": code}


def event_label(code: str) -> str:
    from apps.notifications.models import Event

    return _choice(Event, code) or _("未知事件（%(code)s）") % {"code": code}


def error_label(code: str) -> str:
    """The catalogue's message; an unknown code reads as 未知错误 (see jobs.errors.error_info)."""
    from apps.jobs.errors import error_info

    return str(error_info(code).message)


def attention_label(code: str) -> str:
    from apps.attention.rows import KIND_LABELS

    label = KIND_LABELS.get(code)
    return str(label) if label is not None else _("未知事项（%(code)s）") % {"code": code}


def kind_counts(counts: dict | None) -> list[tuple[str, int]]:
    """{"upload_summary": 75, …} as [("抄报", 75), …], the zeros left out, in JobKind's order."""
    from apps.jobs.models import JobKind

    counts = counts or {}
    order = [*JobKind.values, *(code for code in counts if code not in JobKind.values)]
    return [(kind_label(code), counts[code]) for code in order if counts.get(code)]
