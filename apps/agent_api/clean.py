"""What an agent sends is cleaned, field by field, before anything reads or stores it (issue 27):
a NUL (a C string passed through from a vendor tool) is dropped, an unpaired surrogate (`\\ud800`,
which no database or encoder takes) becomes U+FFFD, in every string, key or value, at any depth.
One bad byte in one reading never makes a whole heartbeat or result fail; what was cleaned is
counted and logged with where it was."""

from __future__ import annotations

import logging
import re

from apps.core.api_errors import BoundedJSONParser

logger = logging.getLogger(__name__)
SURROGATE = re.compile(r"[\ud800-\udfff]")  # json.loads pairs valid pairs itself: these are lone


def clean_text(value: str) -> str:
    if "\x00" in value:
        value = value.replace("\x00", "")
    return SURROGATE.sub("\ufffd", value)


def needs_cleaning(value: str) -> bool:
    return "\x00" in value or SURROGATE.search(value) is not None


def clean(data, where: list[str], path: str = ""):
    """`data` with every string cleaned; the paths of the cleaned ones appended to `where`."""
    if isinstance(data, str):
        if needs_cleaning(data):
            where.append(path or "/")
            return clean_text(data)
        return data
    if isinstance(data, list):
        return [clean(item, where, f"{path}/{i}") for i, item in enumerate(data)]
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(key, str) and needs_cleaning(key):
                where.append(f"{path}/{key!r}")
                key = clean_text(key)
            out[key] = clean(value, where, f"{path}/{key}")
        return out
    return data


class AgentJSONParser(BoundedJSONParser):
    """The agent API's parser: bounded JSON (apps/core/api_errors.py), then cleaned."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where: list[str] = []
        data = clean(data, where)
        if where:
            request = (parser_context or {}).get("request")
            if request is not None:
                request.cleaned_fields = where
            logger.warning("agent call: %d field(s) held NUL or lone surrogates, cleaned: %s", len(where), where[:20])
        return data
