"""What a device reports (监控管理信息, docs/agent-protocol.md) is untrusted: one schema checks it
on arrival, for heartbeats and results alike. A value that cannot be read is never an error: it is
left out of the readable fields and kept, as sent, under "unreadable", for the device card to show.
So whatever is stored can be read back by every page, export, API and share page."""

import datetime as dt
import hashlib
import json
from decimal import Decimal, InvalidOperation

MAX_TEXT = 64  # no field of the protocol is longer; a longer value is kept cut, as unreadable


def _date(value):
    return dt.date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else _bad()


def _moment(value):
    if not isinstance(value, str) or len(value) > 40:
        return _bad()
    moment = dt.datetime.fromisoformat(value)
    return moment.isoformat() if moment.tzinfo else _bad()


def _decimal(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return _bad()
    number = Decimal(str(value))
    if not number.is_finite() or abs(number) >= 10**14:
        return _bad()
    return f"{number:.2f}"


def _count(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not 0 <= int(value) < 10**9:
        return _bad()
    return int(value)


def _flag(value):
    return value if isinstance(value, bool) else _bad()


def _code(value):
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else _bad()
    return text.zfill(2) if text.isdigit() and len(text) <= 2 else _bad()


def _text(value):
    return value if isinstance(value, str) and len(value) <= MAX_TEXT else _bad()


def _invoice_types(value):
    if not isinstance(value, dict) or len(value) > 20:
        return _bad()
    types = {}
    for code, entry in value.items():
        if not (isinstance(code, str) and code.isdigit() and len(code) == 3 and isinstance(entry, dict)):
            return _bad()
        state = entry.get("state")
        if isinstance(state, bool) or state not in (1, 2, 3, 4):
            return _bad()
        types[code] = {"state": state, **{k: _date(entry[k]) for k in ("kpjzsj", "zxbsrq") if entry.get(k)}}
    return types


def _summary(value):
    """What a 抄报 uploaded: {invoice type: {"count", "amount", "tax"}}."""
    if not isinstance(value, dict) or len(value) > 20:
        return _bad()
    summary = {}
    for code, entry in value.items():
        if not (isinstance(code, str) and code.isdigit() and len(code) == 3 and isinstance(entry, dict)):
            return _bad()
        summary[code] = {"count": _count(entry.get("count")), **{k: _decimal(entry.get(k)) for k in ("amount", "tax")}}
    return summary


class _Unreadable(Exception):
    pass


def _bad():
    raise _Unreadable


FIELDS = {
    "device_number": _text,
    "kind": _text,
    "simulated": _flag,
    "sub_number": _count,
    "clock": _moment,
    "taxpayer_nature": _code,
    "kpjzsj": _date,
    "zxbsrq": _date,
    "bsqsrq": _date,
    "bszzrq": _date,
    "scjzrq": _date,
    "dzkpxe": _decimal,
    "lxzssyje": _decimal,
    "lxkpsc": _count,
    "lxkpzs": _count,
    "syrl": _count,
    "cert_tries_left": _count,
    "registered": _flag,
    "summary_count": _count,
    "clear_count": _count,
    "offline_pending": _count,  # invoices issued offline and not yet uploaded, still only on the device
    "invoice_types": _invoice_types,
    "summary": _summary,
}


def _raw(value):
    """The value as sent, bounded, for a person to read on the device card."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:200]


def normalise(reported) -> dict | None:
    """The readable fields of a reading, each in its one form, plus "unreadable": {field: raw}
    when some were not; None for no reading at all. Unknown fields are dropped."""
    if reported is None:
        return None
    if not isinstance(reported, dict):
        return {"unreadable": {"monitoring": _raw(reported)}}
    clean, unreadable = {}, {}
    for name, value in reported.items():
        read = FIELDS.get(name)
        if read is None or value is None:
            continue
        try:
            clean[name] = read(value)
        except (_Unreadable, ValueError, TypeError, InvalidOperation, OverflowError):
            unreadable[name] = _raw(value)
    if unreadable:
        clean["unreadable"] = unreadable
    return clean


def digest(reported) -> str:
    """Of a reading as reported: equal for two readings that differ only in the device's clock,
    so an unchanged one is recognised before it is checked again."""
    content = {k: v for k, v in reported.items() if k != "clock"} if isinstance(reported, dict) else reported
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
