"""How an audit event reads to a person: its action's label (models.Action), and its
before/after as a short list of changes."""

import json
from dataclasses import dataclass

from apps.core.text import Text

from .models import Action

SHORT = 60


def action_label(code: str) -> Text:
    """The Chinese label, or the code itself for an action the site no longer writes."""
    return Action(code).label if code in Action.values else code


def short(value) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # None: the field is only in `after`
    after: str | None  # None: the field is only in `before`


def changes(before, after) -> list[Change]:
    """The fields that differ, in the order they appear; a value that is not an object is one
    change of the field "" (the whole value)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before is None and after is None:
            return []
        if isinstance(before, dict) and after is None:
            return [Change(key, short(value), None) for key, value in before.items()]
        if isinstance(after, dict) and before is None:
            return [Change(key, None, short(value)) for key, value in after.items()]
        return [Change("", None if before is None else short(before), None if after is None else short(after))]
    result = []
    for key in [*before, *(key for key in after if key not in before)]:
        if key in before and key in after:
            if before[key] != after[key]:
                result.append(Change(key, short(before[key]), short(after[key])))
        elif key in before:
            result.append(Change(key, short(before[key]), None))
        else:
            result.append(Change(key, None, short(after[key])))
    return result


def full(value) -> str:
    """The whole JSON, for exports."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
