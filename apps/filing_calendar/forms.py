"""The published table of a year, entered once by an admin: twelve dates typed, or the notice's
text (or a column of dates) pasted, each month checked on its own and reported in Chinese."""

import datetime as dt
import re
from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.filters import DateInput

from .services import table_errors

ISO = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
MONTH_DAY = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
# "1月、3月、7月、8月、11月申报纳税期限分别截至当月15日": the months named keep the 15th
FIFTEENTH = re.compile(r"((?:\d{1,2}\s*月\s*[、，,和及与]?\s*)+)[^。；;\n]*?截[至止]当月15日")
MONTH = re.compile(r"(\d{1,2})\s*月")


def parse_published(text: str, year: int) -> tuple[dict[int, dt.date], list[str]]:
    """({month number: deadline} read from `text`, problems), reading what the notices and the
    tables printed from them say: "2027-01-20" (or 2027/1/20, 2027年1月20日), "2月23日" (a
    month's last date named wins, so "2月10日至17日放假8天，申报纳税期限顺延至2月23日" gives the
    23rd), "1月、3月…申报纳税期限分别截至当月15日", or else twelve bare day numbers in order."""
    found: dict[int, dt.date] = {}
    problems: list[str] = []

    def put(month: int, day: int) -> None:
        try:
            found[month] = dt.date(year, month, day)
        except ValueError:
            problems.append(_("粘贴的内容中 %(month)d月%(day)d日 不是有效的日期") % {"month": month, "day": day})

    for match in FIFTEENTH.finditer(text):
        for month in MONTH.findall(match.group(1)):
            put(int(month), 15)
    rest = FIFTEENTH.sub(" ", text)
    for y, m, d in ISO.findall(rest):
        if int(y) != year:
            problems.append(_("粘贴的日期 %(date)s 不在%(year)d年") % {"date": f"{y}-{m}-{d}", "year": year})
        else:
            put(int(m), int(d))
    rest = ISO.sub(" ", rest)
    for m, d in MONTH_DAY.findall(rest):
        if 1 <= int(m) <= 12:
            put(int(m), int(d))
    if not found and not problems:
        days = re.findall(r"\d{1,2}", rest)
        if len(days) == 12:
            for month, day in enumerate(days, start=1):
                put(month, int(day))
        elif rest.strip():
            problems.append(_("没有从粘贴的内容中读出日期：请粘贴公告原文、12个日期或12个日子"))
    return found, problems


class PublishedTableForm(forms.Form):
    """m1 … m12 (each month's deadline), or `paste`, which fills them; `reference` required."""

    paste = forms.CharField(
        label=gettext_lazy("粘贴公告或征期表"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("可直接粘贴国家税务总局公告原文，或12个日期（每月一个）；填写后以粘贴内容为准"),
    )
    reference = forms.CharField(
        label=gettext_lazy("依据"),
        max_length=200,
        help_text=gettext_lazy("如：税总办征科函〔2025〕64号"),
        error_messages={"required": gettext_lazy("请填写依据（公布征期的文件）")},
    )

    def __init__(self, year: int, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.year = year
        for number in range(1, 13):
            self.fields[f"m{number}"] = forms.DateField(
                label=_("%(n)d月") % {"n": number},
                required=False,
                widget=DateInput(),
                error_messages={"invalid": gettext_lazy("请输入有效的日期")},
            )

    def month_fields(self):
        return [self[f"m{number}"] for number in range(1, 13)]

    def clean(self):
        data = super().clean() or {}
        deadlines: Mapping[int, dt.date | None] = {number: data.get(f"m{number}") for number in range(1, 13)}
        if (data.get("paste") or "").strip():
            deadlines, problems = parse_published(data["paste"], self.year)
            for problem in problems:
                self.add_error("paste", problem)
            if problems:
                return data
        for field, messages in table_errors(self.year, deadlines).items():
            if field not in self.errors:  # a date that did not parse says so, not also "请填写"
                for message in messages:
                    self.add_error(field, message)
        data["deadlines"] = deadlines
        return data
