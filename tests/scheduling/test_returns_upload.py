"""Reading and checking an upload of filed returns: CSV in UTF-8 (with and without BOM) and GBK,
XLSX, and every kind of row error."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from apps.periods.models import Period
from apps.scheduling import returns_upload
from apps.scheduling.returns_upload import (
    UploadError,
    parse_amount,
    parse_day,
    parse_upload,
    parse_upload_month,
    read_table,
)
from tests.factories import make_client, make_period

TODAY = dt.date(2026, 11, 10)
HEADER = "纳税人识别号,所属月份,申报日期,申报销售额,申报税额"
HEADER_CELLS = tuple(HEADER.split(","))
HEADER_CELLS = tuple(HEADER.split(","))


def csv_bytes(*lines, encoding="utf-8", header=HEADER):
    return "\r\n".join([header, *lines]).encode(encoding)


def xlsx_bytes(*rows, header=HEADER_CELLS):
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the file --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gbk", b""), ("gb18030", b"")]
)
def test_csv_encodings(encoding, prefix):
    data = prefix + csv_bytes('91350100M000100Y43,2026-10,2026-11-05,"1,234.50",￥12.30', "", ",,,,", encoding=encoding)
    assert read_table("申报.csv", data) == [
        (
            2,
            {
                "纳税人识别号": "91350100M000100Y43",
                "所属月份": "2026-10",
                "申报日期": "2026-11-05",
                "申报销售额": "1,234.50",
                "申报税额": "￥12.30",
            },
        )
    ]


def test_csv_columns_in_any_order_optional_ones_may_be_missing_and_extra_ones_are_ignored():
    data = csv_bytes(
        "备注甲,2026-11-05,2026-10,91350100M000100Y43", header="备注,申报日期,所属月份（元）,纳税人识别号*"
    )
    assert read_table("a.CSV", data) == [
        (2, {"纳税人识别号": "91350100M000100Y43", "所属月份": "2026-10", "申报日期": "2026-11-05"})
    ]


def test_short_rows_are_padded():
    assert read_table("a.csv", csv_bytes("91350100M000100Y43,2026-10"))[0][1]["申报日期"] is None


def test_xlsx_with_typed_cells():
    data = xlsx_bytes(
        ["91350100M000100Y43", dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 5), 1234.5, 12],
        [None, None, None, None, None],
    )
    assert read_table("申报.xlsx", data) == [
        (
            2,
            {
                "纳税人识别号": "91350100M000100Y43",
                "所属月份": dt.datetime(2026, 10, 1),
                "申报日期": dt.datetime(2026, 11, 5),
                "申报销售额": 1234.5,
                "申报税额": 12,
            },
        )
    ]


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("a.txt", b"x", "仅支持 .xlsx 或 .csv"),
        ("a", b"x", "仅支持 .xlsx 或 .csv"),
        ("a.xls", b"x", "旧版 .xls"),
        ("a.xlsx", b"not a zip", "无法读取该Excel文件"),
        ("a.csv", b"", "文件是空的"),
        ("a.csv", "纳税人识别号,申报日期\r\n1,2".encode(), "缺少必填列：所属月份"),
        ("a.csv", "名称,月份\r\n1,2".encode(), "缺少必填列：纳税人识别号、所属月份、申报日期"),
        ("a.csv", "纳税人识别号,所属月份,申报日期,申报日期\r\n1,2,3,4".encode(), "列重复：申报日期"),
        ("a.csv", HEADER.encode(), "没有数据行"),
        ("a.csv", HEADER.encode() + b"\r\n\xff\xfe\xfa,2026-10,2026-11-05", "无法识别CSV文件的编码"),
        ("a.csv", b"x" * (returns_upload.LIMITS.max_bytes + 1), "文件过大"),
    ],
)
def test_file_errors(name, data, words):
    with pytest.raises(UploadError) as error:
        read_table(name, data)
    assert words in str(error.value)


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(returns_upload, "MAX_ROWS", 2)
    with pytest.raises(UploadError, match="数据行过多"):
        read_table("a.csv", csv_bytes("a,b,c", "a,b,c", "a,b,c"))


# --- the values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-05", dt.date(2026, 11, 5)),
        ("2026/11/5", dt.date(2026, 11, 5)),
        ("2026年11月5日", dt.date(2026, 11, 5)),
        ("2026.11.05", dt.date(2026, 11, 5)),
        ("20261105", dt.date(2026, 11, 5)),
        ("2026-11-05 00:00:00", dt.date(2026, 11, 5)),
        (dt.datetime(2026, 11, 5, 8), dt.date(2026, 11, 5)),
        (dt.date(2026, 11, 5), dt.date(2026, 11, 5)),
    ],
)
def test_days(value, expected):
    assert parse_day(value) == expected


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "11/05/2026", "昨天", "46000", 46000])
def test_bad_days(value):
    with pytest.raises(ValueError):
        parse_day(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-10", dt.date(2026, 10, 1)),
        ("2026/9", dt.date(2026, 9, 1)),
        ("2026年10月", dt.date(2026, 10, 1)),
        ("2026-10-31", dt.date(2026, 10, 1)),
        (dt.datetime(2026, 10, 1), dt.date(2026, 10, 1)),
        (dt.date(2026, 10, 9), dt.date(2026, 10, 1)),
    ],
)
def test_months(value, expected):
    assert parse_upload_month(value) == expected


@pytest.mark.parametrize("value", ["2026-13", "10月", "2026", "abc"])
def test_bad_months(value):
    with pytest.raises(ValueError):
        parse_upload_month(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", None),
        (None, None),
        ("1,234.5", Decimal("1234.50")),
        ("¥12", Decimal("12.00")),
        ("￥0.10元", Decimal("0.10")),
        (1234.5, Decimal("1234.50")),
        (12, Decimal("12.00")),
        ("-5", Decimal("-5.00")),
    ],
)
def test_amounts(value, expected):
    assert parse_amount(value) == expected


@pytest.mark.parametrize("value", ["十元", "1.234", "1e20", "NaN", "Infinity", True, "12-3"])
def test_bad_amounts(value):
    with pytest.raises(ValueError):
        parse_amount(value)


# --- the rows --------------------------------------------------------------------------------


@pytest.fixture
def clients(users):
    mine = make_client(name="甲公司", staff=users["owner"])
    theirs = make_client(name="乙公司", staff=users["colleague"])
    small = make_client(name="丙公司", staff=users["owner"], taxpayer_kind="small_scale")
    return {"mine": mine, "theirs": theirs, "small": small}


def check(user, *lines):
    return parse_upload("a.csv", csv_bytes(*lines), user, TODAY)


@pytest.mark.django_db
def test_good_rows(users, clients):
    mine, small = clients["mine"], clients["small"]
    make_period(mine, return_filed_on=dt.date(2026, 11, 3))
    rows = check(
        users["owner"],
        f"{mine.taxpayer_id.lower()},2026-10,2026-11-05,1000,130",
        f"{small.taxpayer_id},2026年9月,2026/10/20,,",
    )
    assert [row.errors for row in rows] == [[], []]
    assert (rows[0].client, rows[0].month, rows[0].filed_on, rows[0].declared_sales, rows[0].declared_tax) == (
        mine,
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 5),
        Decimal("1000.00"),
        Decimal("130.00"),
    )
    assert "已记录过申报（2026-11-03）" in rows[0].notes[0]
    assert (rows[1].client, rows[1].declared_sales, rows[1].notes) == (small, None, [])
    assert Period.objects.count() == 1  # checking writes nothing


@pytest.mark.django_db
def test_every_row_error(users, clients):
    mine, theirs, small = clients["mine"], clients["theirs"], clients["small"]
    rows = check(
        users["owner"],
        ",2026-10,2026-11-05,,",  # 2 no identifier
        "91350100M000100Y44,2026-10,2026-11-05,,",  # 3 bad check character
        "91350100M000100Y43,2026-10,2026-11-05,,",  # 4 valid but unknown
        f"{theirs.taxpayer_id},2026-10,2026-11-05,,",  # 5 another accountant's client
        f"{mine.taxpayer_id},,2026-11-05,,",  # 6 no month
        f"{mine.taxpayer_id},2026-13,2026-11-05,,",  # 7 bad month
        f"{mine.taxpayer_id},2026-09,,,",  # 8 no date
        f"{mine.taxpayer_id},2026-08,2026-02-30,,",  # 9 bad date
        f"{mine.taxpayer_id},2026-07,2026-11-11,,",  # 10 date in the future
        f"{mine.taxpayer_id},2026-06,2026-06-30,,",  # 11 date before the month ended
        f"{mine.taxpayer_id},2026-05,2026-06-10,-1,",  # 12 negative sales
        f"{mine.taxpayer_id},2026-04,2026-05-10,,十元",  # 13 non-numeric tax
        f"{mine.taxpayer_id},2026-03,2026-04-10,1.234,",  # 14 three decimals
        f"{small.taxpayer_id},2026-10,2026-11-05,,",  # 15 quarterly filer, no return in October
        f"{mine.taxpayer_id},2026-10,2026-11-05,,",  # 16 good
        f"{mine.taxpayer_id},2026年10月,2026-11-06,,",  # 17 duplicate of 16
    )
    errors = {row.line: " ".join(row.errors) for row in rows}
    expected = {
        2: "缺少纳税人识别号",
        3: "纳税人识别号不正确",
        4: "找不到纳税人识别号为 91350100M000100Y43 的客户",
        5: "不是您负责的客户",
        6: "缺少所属月份",
        7: "所属月份“2026-13”无法识别",
        8: "请填写申报日期",
        9: "申报日期“2026-02-30”无法识别",
        10: "申报日期不能晚于今天",
        11: "申报日期不能早于所属月份结束之后",
        12: "申报销售额不能为负数",
        13: "申报税额“十元”不是有效金额",
        14: "申报销售额“1.234”不是有效金额",
        15: "无需申报增值税",
        16: "",
        17: "与第 16 行重复",
    }
    for line, words in expected.items():
        assert (words in errors[line]) if words else errors[line] == "", (line, errors[line])
    assert "乙公司" not in " ".join(errors.values())  # another staff member's client is not named


@pytest.mark.django_db
def test_admin_may_record_any_client(users, clients):
    rows = check(users["admin"], f"{clients['theirs'].taxpayer_id},2026-10,2026-11-05,,")
    assert rows[0].ok and rows[0].client == clients["theirs"]


@pytest.mark.django_db
def test_xlsx_rows_are_checked_alike(users, clients):
    data = xlsx_bytes([clients["mine"].taxpayer_id, "2026-10", dt.datetime(2026, 11, 5), 88.8, None])
    rows = parse_upload("a.xlsx", data, users["owner"], TODAY)
    assert rows[0].ok and rows[0].declared_sales == Decimal("88.80") and rows[0].declared_tax is None


@pytest.mark.django_db
def test_record_all_or_nothing(users, clients):
    mine = clients["mine"]
    rows = check(
        users["owner"], f"{mine.taxpayer_id},2026-10,2026-11-05,1000,130", f"{mine.taxpayer_id},2026-09,2026-10-10,,"
    )
    entries = returns_upload.to_session(rows)
    assert returns_upload.record_all(entries, users["owner"]) == 2
    october = Period.objects.get(client=mine, month=dt.date(2026, 10, 1))
    assert (october.return_filed_on, october.declared_sales) == (dt.date(2026, 11, 5), Decimal("1000.00"))
    assert october.deadline == dt.date(2026, 11, 16)  # a new period gets its deadline from the calendar

    Period.objects.all().delete()
    mine.staff = users["colleague"]  # reassigned between the preview and the confirmation
    mine.save()
    entries[1]["client"] = clients["small"].pk  # and a row that record_return_filed refuses
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="第 2 行"):
        returns_upload.record_all(entries, users["owner"])
    assert Period.objects.count() == 0
