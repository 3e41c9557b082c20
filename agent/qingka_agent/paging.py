"""A 发票查询 answer bigger than the site takes in one result goes as numbered pages (issue 27,
docs/agent-protocol.md): page i of n, each a result of its own in the outbox with the same fields
and its share of the invoices, sent and re-sent until the site has it. Only to a site whose `me/`
says it takes pages (`result_pages`); an answer the site cannot take is reported as the failure it
is, RESULT_TOO_LARGE, never left to be refused until the job's lease runs out."""

from __future__ import annotations

import json
from typing import Any

from .drivers.base import RESULT_TOO_LARGE

WHOLE_RESULT_INVOICES = 5000  # what a site takes in one result, before pages and since
PAGE_BYTES = 2_000_000  # a page's JSON at most: below the 2.5 MB of a request the site reads


def paged(result: dict[str, Any], site_takes: dict[str, int] | None) -> list[dict[str, Any]]:
    """What to store for `result`: itself when it fits one result, else its pages, or a failed result
    saying why when the site cannot take it (`site_takes`: the `result_pages` of `me/`, or None)."""
    invoices = result.get("invoices") or []
    header = {key: value for key, value in result.items() if key != "invoices"}
    per_page = site_takes["invoices"] if site_takes else WHOLE_RESULT_INVOICES
    room = PAGE_BYTES - _size(header)
    pages: list[list[dict[str, Any]]] = []
    size = 0
    for invoice in invoices:
        cost = _size(invoice) + 1
        if cost > room:
            return [_too_large(header, f"一张发票的数据有 {cost} 字节，超过每页上限 {room} 字节")]
        if not pages or len(pages[-1]) == per_page or size + cost > room:
            pages.append([])
            size = 0
        pages[-1].append(invoice)
        size += cost
    if len(pages) <= 1:
        return [result]
    if site_takes is None:
        return [
            _too_large(header, f"{len(invoices)} 张发票，网站每次最多接收 {per_page} 张，且不接收分页（请升级网站）")
        ]
    if len(pages) > site_takes["pages"]:
        return [
            _too_large(header, f"{len(invoices)} 张发票要分 {len(pages)} 页，网站最多接收 {site_takes['pages']} 页")
        ]
    return [{**header, "invoices": page, "page": i, "pages": len(pages)} for i, page in enumerate(pages, 1)]


def _size(value: Any) -> int:
    """Bytes of `value` as JSON, at most: escaped to ASCII, never fewer characters than UTF-8 has bytes."""
    return len(json.dumps(value, separators=(",", ":")))


def _too_large(header: dict[str, Any], why: str) -> dict[str, Any]:
    return {**header, "outcome": "failed", "error_code": RESULT_TOO_LARGE, "message": f"查询结果过大：{why}"}
