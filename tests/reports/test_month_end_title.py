"""The month-end workbook's title names its month as the reader's language writes it."""

import io

import pytest
from openpyxl import load_workbook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]  # 2026-11-10


@pytest.mark.parametrize(
    ("language", "title"),
    [("zh-hans", "2026年10月所属期 月结报告"), ("en", "Month-end report for October 2026")],
)
def test_the_title_month_is_in_the_readers_language(as_role, language, title):
    response = as_role("admin").get(
        "/reports/month-end/", {"month": "2026-10", "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE=language
    )
    book = load_workbook(io.BytesIO(response.content))
    captions = [str(sheet.cell(1, 1).value) for sheet in book.worksheets]
    assert all(caption.startswith(title) for caption in captions), captions
    assert "2026年" not in "".join(captions) or language == "zh-hans"
