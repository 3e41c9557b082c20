"""The agent has no Django, so it keeps its own copies of two site rules: when monitoring data
shows a period summarised or cleared (qingka_agent.worker against apps.devices.rules), and what
each vendor code means (the command driver's map against the site's error catalogue, both read
against the table of docs/domain.md). These tests fail as soon as the copies drift apart."""

import datetime as dt
import re
from pathlib import Path

import pytest
from qingka_agent import worker
from qingka_agent.drivers.command import ALREADY_DONE, stable_code

from apps.core.months import add_months, format_month
from apps.devices.errors import ERRORS, NEVER, RETRY
from apps.devices.rules import shows_cleared, shows_summarised

DOMAIN = Path(__file__).resolve().parents[2] / "docs" / "domain.md"
PERIODS = [dt.date(2026, 11, 1), dt.date(2026, 12, 1)]  # across a year's end


def around(period: dt.date) -> list[dt.date | None]:
    """No date, and the first and last day of each month from two before the period to three after."""
    firsts = [add_months(period, offset) for offset in range(-2, 4)]
    return [None, *firsts, *(add_months(first, 1) - dt.timedelta(days=1) for first in firsts)]


@pytest.mark.parametrize("period", PERIODS)
def test_the_agent_reads_monitoring_data_as_the_site_does(period):
    for zxbsrq in around(period):
        for kpjzsj in around(period):
            monitoring = {"zxbsrq": zxbsrq and zxbsrq.isoformat(), "kpjzsj": kpjzsj and kpjzsj.isoformat()}
            cleared = shows_cleared(period, kpjzsj)
            summarised = cleared or shows_summarised(period, zxbsrq)
            assert worker._cleared(monitoring, format_month(period)) == cleared, monitoring
            assert worker._summarised(monitoring, format_month(period)) == summarised, monitoring


def vendor_rows() -> list[tuple[str, str]]:
    """(code, retry?) of the device / bureau replies table of docs/domain.md, ranges and
    alternatives spelled out: 0x0963c0–c7 → eight codes, ERROR@98 / @97 / @103 → three."""
    table = DOMAIN.read_text().split("Device / bureau replies:")[1].strip().split("\n\n")[0]
    rows = []
    for line in table.splitlines()[2:]:  # below the header and its rule
        code, _meaning, retry = (cell.strip() for cell in line.strip("|").split("|"))
        code = re.sub(r"\s*\(.*\)", "", code)
        if match := re.fullmatch(r"(0x\w+)([0-9a-f])–\w(\d)", code):
            codes = [f"{match[1]}{n}" for n in range(int(match[2]), int(match[3]) + 1)]
        elif code.startswith("ERROR@"):
            codes = [f"ERROR@{n}" for n in re.findall(r"@(\d+)", code)]
        else:
            codes = [code]
        rows += [(each, retry) for each in codes]
    return rows


def test_the_domain_table_is_read_whole():
    assert len(vendor_rows()) == 10 + 8 + 2


def test_every_vendor_code_means_on_the_agent_what_the_domain_table_says_on_the_site():
    for raw, retry in vendor_rows():
        code = stable_code(raw)
        if retry == "success":
            assert code == ALREADY_DONE, raw
            continue
        assert code in ERRORS, f"{raw} → {code}: the site does not know it"
        expected = RETRY if retry.startswith("yes") else NEVER
        assert ERRORS[code].retry == expected, (
            f"{raw} → {code}: the site retries {ERRORS[code].retry}, docs say {retry}"
        )
