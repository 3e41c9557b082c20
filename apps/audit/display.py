"""How an audit event reads to a person: its action's label (models.Action), and its
before/after as a short list of changes: each field by its verbose name, times in local time,
codes by their labels (readable_changes). The export and the API keep the raw JSON."""

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from apps.core.labels import choice_label
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


# What a key of an event's before/after means, when the event's object has no field of that name
# (the keys the site writes beside model fields: see log.record's callers).
KEY_LABELS = {
    "online": _("在线"),
    "state": _("状态"),
    "attempt": _("第几次尝试"),
    "batch": _("批量任务"),
    "locked_reported": _("设备报告已锁死"),
    "raw_code": _("设备返回代码"),
    "outcome": _("结果"),
    "already_done": _("此前已完成"),
    "error_code": _("错误"),
    "message": _("设备返回信息"),
    "started_at": _("开始时间"),
    "finished_at": _("完成时间"),
    "remedy": _("处理建议"),
    "run_after": _("计划执行时间"),
    "health": _("设备状况"),
    "name": _("名称"),
    "events": _("接收的事件"),
    "owner": _("所有者"),
    "reason": _("原因"),
    "job": _("任务"),
    "release": _("解除方式"),
    "note": _("处理说明"),
    "passwords_changed": _("更正的口令"),
    "mode": _("开票方式"),
    "from_month": _("起始月份"),
    "expires_at": _("到期时间"),
    "revoked_at": _("撤销时间"),
    "tokens": _("令牌数"),
    "username": _("用户名"),
    "ip_address": _("IP 地址"),
    "until": _("锁定至"),
    "agent": _("前置机"),
    "slot": _("端口"),
    "present": _("在位"),
    "invoices": _("发票张数"),
    "invoices_rejected": _("未收下的发票"),
    "pages": _("分页回报的页数"),
    "kind": _("任务类型"),
    "month": _("所属月份"),
    "filters": _("筛选条件"),
    "start_at": _("开始时间"),
    "avoid_busy_hours": _("避开办税高峰"),
    "per_agent_per_minute": _("每台前置机每分钟上限"),
    "planned": _("计划数"),
    "created": _("创建数"),
    "left_out": _("未纳入数"),
    "origin": _("来源"),
}

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# Keys whose values are codes, each with how to read one (None: not one of its codes). Each app
# registers the keys of its own codes (register_codes, in its AppConfig.ready), so this app,
# below them all, imports none of them.
CODES: dict[str, Callable[[str], str | None]] = {
    "outcome": lambda code: {"succeeded": str(_("成功")), "failed": str(_("失败"))}.get(code),
}


def register_codes(key: str, read: Callable[[str], str | None]) -> None:
    CODES[key] = read


def register_choices(**choices_by_key) -> None:
    """register_codes for keys whose codes are a Django Choices class's."""
    for key, choices in choices_by_key.items():
        register_codes(key, partial(choice_label, choices))


def _model(object_type: str):
    from django.apps import apps

    try:
        return apps.get_model(object_type) if "." in object_type else None
    except (LookupError, ValueError):
        return None


def field_label(object_type: str, key: str) -> str:
    """The field's verbose name on the event's object, else the site's name for that key, else
    the key itself (an old event's key the site no longer writes)."""
    if not key:
        return ""
    model = _model(object_type)
    if model is not None:
        try:
            return str(model._meta.get_field(key).verbose_name)
        except Exception:  # FieldDoesNotExist, or a relation without a verbose name
            pass
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else key


def local_time(text: str) -> str | None:
    """An ISO time as the JSON encoder wrote it (UTC), in Asia/Shanghai as pages show times."""
    if not _ISO_TIME.match(text):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def related_name(object_type: str, key: str, pk: int) -> str | None:
    """A foreign key's value (`staff: 3`) as the object's name (会计乙); None when `key` is no
    foreign key of the event's object or the object is gone (the number then shows as it is)."""
    model = _model(object_type)
    if model is None or not key:
        return None
    try:
        field = model._meta.get_field(key.removesuffix("_id"))
    except Exception:  # FieldDoesNotExist
        return None
    if not (field.many_to_one or field.one_to_one) or field.related_model is None:
        return None
    found = field.related_model._default_manager.filter(pk=pk).first()
    return None if found is None else short(str(found))


def readable(object_type: str, key: str, value) -> str:
    """One value as a person reads it: 是/否, local times, codes by their labels, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list):
        return short("、".join(readable(object_type, key if key in CODES else "", v) for v in value))
    if isinstance(value, int) and (name := related_name(object_type, key, value)) is not None:
        return name
    if isinstance(value, str):
        model = _model(object_type)
        if model is not None and key:
            try:
                choices = dict(model._meta.get_field(key).flatchoices)
            except Exception:
                choices = {}
            if value in choices:
                return str(choices[value])
        if key in CODES and (label := CODES[key](value)) is not None:
            return label
        if (time := local_time(value)) is not None:
            return time
        if _ISO_DATE.match(value):
            try:
                return date_format(dt.date.fromisoformat(value), "DATE_FORMAT")
            except ValueError:
                return value
    return short(value)


@dataclass(frozen=True)
class ReadableChange:
    field: str  # the field's label
    before: str | None
    after: str | None


def readable_changes(object_type: str, before, after) -> list[ReadableChange]:
    """changes() for a person: each field by its label, each value as readable() reads it. The
    export and the API keep the raw JSON (full())."""
    raw_before = before if isinstance(before, dict) else {"": before}
    raw_after = after if isinstance(after, dict) else {"": after}
    result = []
    for change in changes(before, after):
        key = change.field
        result.append(
            ReadableChange(
                field_label(object_type, key),
                None if change.before is None else readable(object_type, key, raw_before.get(key)),
                None if change.after is None else readable(object_type, key, raw_after.get(key)),
            )
        )
    return result
