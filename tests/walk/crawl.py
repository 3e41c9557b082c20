"""A crawler for the year walk: every page of the menu and every page linked from them, as one
user, one sample of each kind of link (a client page, a device page, a calendar month…)."""

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

HREF = re.compile(r'href="([^"#][^"]*)"')
# Not pages of the product: leaving, the admin's own pages beyond its index, the rq dashboard,
# static files and the language switch.
SKIP = re.compile(r"^/(static/|accounts/logout|admin/.+|django-rq/|i18n/|api/v1/(schema|docs))")
# A list's next page is the same page again: one sample of it, whatever its filters.
SAME_PAGE_AGAIN = {"page"}


def shape(url: str) -> str:
    """A link's kind: its path with the numbers taken out, and the names of its query's filters."""
    parts = urlsplit(url)
    names = {name.split("=")[0] for name in parts.query.split("&") if name} - SAME_PAGE_AGAIN
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(sorted(names))


def crawl(client, start: list[str], *, filters: bool = True, limit: int = 400) -> dict[str, int | str]:
    """Opens the start pages and follows internal links breadth first, one link of each shape
    (`filters=False`: only links that name no filter but the month, so no filtered list, next
    page or export); returns every URL opened with its status code, or the error that would have
    been a 500."""
    seen: dict[str, int | str] = {}
    taken: set[str] = set()
    queue = deque(start)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        try:
            response = client.get(url)
        except Exception as error:  # the test client raises what would be a 500
            seen[url] = f"{type(error).__name__}: {error}"
            continue
        seen[url] = response.status_code
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(response.content.decode()):
            href = urldefrag(href.replace("&amp;", "&"))[0]
            if not href.startswith("/") or href.startswith("//") or SKIP.match(href) or href in seen:
                continue
            kind = shape(href)
            if kind in taken or (not filters and kind.split("?")[1] not in ("", "month")):
                continue
            taken.add(kind)
            queue.append(href)
    return seen
