"""What a job's answer brings besides its outcome is kept by the app it is for, which registers its
keeper here from its AppConfig.ready(): the invoices of a 发票查询 (apps/invoices). So jobs imports
none of those apps (docs/architecture.md, "Registered, not imported")."""

import datetime as dt
from collections.abc import Callable

# job kind → keeper(job, entries, now) → (kept, unreadable)
KEEPERS: dict[str, Callable[..., tuple[int, int]]] = {}


def register(kind: str, keeper: Callable[..., tuple[int, int]]) -> None:
    KEEPERS[kind] = keeper


def keep(job, entries: list, now: dt.datetime) -> tuple[int, int]:
    """What `job`'s answer carried (`entries`), kept by its kind's keeper: (kept, unreadable)."""
    return KEEPERS[job.kind](job, entries, now)
