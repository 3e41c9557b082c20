"""Invoices in: what a 发票查询 job reported, checked and kept. Invoices asked for: the jobs."""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.db.models import Max

from apps.jobs.models import Job, JobKind, JobState

from .models import CODE, NUMBER, Invoice

MAX_INVOICES_PER_RESULT = 5000  # in one result or one page of it: the request stays under Django's upload limit
MAX_RESULT_PAGES = 200  # pages of one paged result: a million invoices from one device in one month
_TYPE = re.compile(r"\d{3}")


def read_invoice(entry) -> dict | None:
    """One invoice as a device reported it, in the model's fields, or None when it cannot be read:
    what an agent sends is untrusted."""
    try:
        code, number = str(entry.get("code") or ""), str(entry["number"])
        if not (NUMBER.fullmatch(number) and (CODE.fullmatch(code) or (not code and len(number) == 20))):
            return None
        issued_at = dt.datetime.fromisoformat(entry["issued_at"])
        amount, tax = Decimal(str(entry["amount"])), Decimal(str(entry["tax"]))
        if issued_at.tzinfo is None or not _TYPE.fullmatch(str(entry["type"])):
            return None
        if not all(n.is_finite() and abs(n) < 10**12 for n in (amount, tax)) or not isinstance(entry["uploaded"], bool):
            return None
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError):
        return None
    return {
        "kind": str(entry["type"]),
        "code": code,
        "number": number,
        "issued_at": issued_at,
        "amount": amount.quantize(Decimal("0.01")),
        "tax": tax.quantize(Decimal("0.01")),
        "buyer": str(entry.get("buyer") or "")[:100],
        "uploaded": entry["uploaded"],
    }


def record_invoices(job: Job, entries: list, now: dt.datetime) -> tuple[int, int]:
    """Keeps the invoices a query job reported, one row per code and number: a second report of the
    same invoice updates it (an offline one becomes uploaded). Returns (kept, unreadable)."""
    read = {}
    for entry in entries:
        invoice = read_invoice(entry)
        if invoice is not None:
            read[invoice["code"], invoice["number"]] = invoice
    rows = [
        Invoice(device=job.device, reported_by=job, first_reported_at=now, reported_at=now, **fields)
        for fields in read.values()
    ]
    Invoice.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["code", "number"],
        update_fields=[
            "device",
            "kind",
            "issued_at",
            "amount",
            "tax",
            "buyer",
            "uploaded",
            "reported_by",
            "reported_at",
        ],
    )
    return len(rows), len(entries) - len(rows)


def query_jobs(devices):
    """The succeeded 发票查询 jobs of these devices."""
    return Job.objects.filter(device__in=devices, kind=JobKind.QUERY_INVOICES, state=JobState.SUCCEEDED)


def last_synced(devices, months: list[str], code: str = "", number: str = "") -> dict[int, dt.datetime | None]:
    """When each device's invoices of every month of `months` ("YYYY-MM") were last read (the
    oldest of those months' latest queries; None when one was never read). With a number, a query
    of that very invoice counts too."""
    latest: dict[tuple[int, str], dt.datetime] = {
        (row["device_id"], row["query__month"]): row["last"]
        for row in query_jobs(devices)
        .filter(query__month__in=months)
        .values("device_id", "query__month")
        .annotate(last=Max("finished_at"))
    }
    exact: dict[int, dt.datetime] = {}
    if number:
        exact = dict(
            query_jobs(devices)
            .filter(query__code=code, query__number=number)
            .values("device_id")
            .annotate(last=Max("finished_at"))
            .values_list("device_id", "last")
        )
    synced = {}
    for device in devices:
        seen = [latest[device.pk, month] for month in months if (device.pk, month) in latest]
        by_month = min(seen) if len(seen) == len(months) else None
        candidates = [t for t in (by_month, exact.get(device.pk)) if t is not None]
        synced[device.pk] = max(candidates) if candidates else None
    return synced
