"""The MQTT protocol of the 蒙柏 (mb) tax-device cabinets, as read in their published firmware
(`330wanlu/1_mb_code`, mb_usbshare `_app.c`/`_opt.h`/`core/_ty_usb_m.c`; docs/cabinet.md says
what was read there and what was not). Shared by the cabinet driver and the cabinet emulator.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any
from urllib.parse import unquote, urlsplit

PROTOCOL = "mb_fpkjxt_20190520"  # DF_MQTT_SYNC_PROTOCOL_VER; anything else is dropped unanswered
MAX_SOURCE_TOPIC = 50  # analysis_json_head: source_topic 1-50 characters
MAX_RANDOM = 128  # random 1-128 characters
NO_DATE = "00010101"  # a date the device does not have

# usb_app, the device type (enDeviceType in the tax library's define.h) → the site's kinds
KIND_OF_USB_APP = {"1": "golden_tax_disk", "2": "tax_disk", "101": "ukey"}
USB_APP_OF_KIND = {kind: app for app, kind in KIND_OF_USB_APP.items()}

# err_no_infos in _app.h: err, msg (the firmware's own English text)
ERRORS = {
    "301": "Terminal system error.",
    "302": "This command word is not supported.",
    "303": "The terminal memory is insufficient.",
    "304": "The JSON data parsing failure.",
    "305": "Exceeding the billing deadline.",
    "312": "The terminal system time error.",
    "314": "The plate is in used.",
    "316": "The plate operation failed.",
    "317": "The plate cert passwd failed.",
    "319": "The plate is not on this terminal.",
    "320": "No invoice for this month's inquiry.",
    "327": "This USB port is not authorized.",
}


def topic_of(ter_id: str) -> str:
    """The topic a terminal subscribes to (`mb_fpkjxt_<ter_id>`, _app.c)."""
    return f"mb_fpkjxt_{ter_id}"


def request(cmd: str, source_topic: str, random: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "head": {
            "protocol": PROTOCOL,
            "code_type": "request",
            "cmd": cmd,
            "source_topic": source_topic,
            "random": random,
        },
        "data": data,
    }


def response(cmd: str, topic: str, random: str, ok: bool, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "head": {
            "protocol": PROTOCOL,
            "code_type": "response",
            "cmd": cmd,
            "source_topic": topic,
            "random": random,
            "result": "s" if ok else "f",
        },
        "data": data,
    }


def error(cmd: str, topic: str, random: str, err: str, errinfo: str = "") -> dict[str, Any]:
    """mqtt_response_errno: result "f", data [{"err", "msg", "errinfo"}]."""
    return response(
        cmd, topic, random, False, [{"err": err, "msg": ERRORS.get(err, "Unknown error."), "errinfo": errinfo}]
    )


def compress(value: Any) -> str:
    """asc_compress_base64: zlib, then base64 (cxzdqbxx's `zdqbxx`)."""
    return base64.b64encode(zlib.compress(json.dumps(value, ensure_ascii=False).encode())).decode()


def decompress(text: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(text)).decode())


def iso_date(compact: Any) -> str | None:
    """ "20261215" → "2026-12-15"; "00010101", "" or anything else unreadable → None."""
    text = str(compact or "").strip()
    if len(text) != 8 or not text.isdigit() or text == NO_DATE:
        return None
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def compact_date(iso: str | None) -> str:
    return iso.replace("-", "") if iso else NO_DATE


def broker_address(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """mqtt://user:pass@host:1883 or mqtts://host:8883 → (host, port, tls, username, password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"the cabinet's broker URL must start with mqtt:// or mqtts://, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    if not parts.hostname:
        raise ValueError(f"the cabinet's broker URL has no host: {url!r}")
    port = parts.port or (8883 if tls else 1883)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, tls, user, password
