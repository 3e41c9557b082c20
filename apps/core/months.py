"""Calendar months, the unit of the filing cycle. A month is the date of its first day."""

import datetime as dt


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_index(day: dt.date) -> int:
    """Months since year 0: compares calendar months, whatever the day."""
    return day.year * 12 + day.month


def parse_month(text: str) -> dt.date:
    """ "2026-10" → date(2026, 10, 1); ValueError with a plain message otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        raise ValueError(f"not a month of the form YYYY-MM: {text!r}") from None


def format_month(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"
