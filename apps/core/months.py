"""Calendar months, the unit of the filing cycle. A month is the date of its first day."""

import datetime as dt

# The years the site works in; a month outside them is bad input, refused where it is read.
MIN_YEAR, MAX_YEAR = 2000, 2100


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_index(day: dt.date) -> int:
    """Months since year 0: compares calendar months, whatever the day."""
    return day.year * 12 + day.month


def parse_month(text: str) -> dt.date:
    """ "2026-10" → date(2026, 10, 1); ValueError with a plain message otherwise, and for a year
    outside MIN_YEAR..MAX_YEAR."""
    try:
        year, month = (int(part) for part in text.split("-"))
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(year)
        return dt.date(year, month, 1)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"not a month of the form YYYY-MM in {MIN_YEAR}..{MAX_YEAR}: {text!r}") from None


def format_month(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"
