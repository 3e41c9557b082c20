"""The published deadline tables, read from docs/domain.md (the copy the code cites), so the tests
hold the migration's frozen copy and the extension rule to the document, not to themselves."""

import re
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "docs" / "domain.md"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def published_days() -> dict[int, tuple[int, ...]]:
    """{year: (day of January's deadline, …, December's)} for every year domain.md publishes: the
    `| month | 2025 | 2026 |` table and the sentence listing 2024's twelve dates."""
    text = DOMAIN.read_text(encoding="utf-8")
    header = re.search(r"^\| month((?: \| \d{4})+) \|$", text, re.MULTILINE)
    assert header, "docs/domain.md has no deadline table"
    years = [int(y) for y in re.findall(r"\d{4}", header.group(1))]
    rows = dict(re.findall(r"^\| (\w{3}) ((?:\| \d+ )+)\|$", text, re.MULTILINE))
    days = {year: tuple(int(rows[m].split("|")[1 + i]) for m in MONTHS) for i, year in enumerate(years)}
    listed = re.search(r"2024 \(((?:\w{3} \d+,?\s*){12})\)", text)
    assert listed, "docs/domain.md no longer lists 2024's dates"
    days[2024] = tuple(int(day) for _, day in re.findall(r"(\w{3}) (\d+)", listed.group(1)))
    return dict(sorted(days.items()))


PUBLISHED_DAYS = published_days()
