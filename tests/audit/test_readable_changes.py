"""Issue 30: the audit log's 变更 reads as words: each field by its verbose name, times in
Asia/Shanghai, codes by their labels; the export and the API keep the raw JSON."""

import csv
import datetime as dt
import io

import pytest
from django.utils import translation

from apps.audit import log
from apps.audit.display import KEY_LABELS, ReadableChange, field_label, readable, readable_changes
from apps.audit.models import Action, AuditEvent
from apps.clients.models import Client
from apps.jobs.models import Job
from tests.factories import make_client

UTC_MIDNIGHT_PAST = "2026-11-30T16:07:00Z"  # 2026-12-01 00:07 in Shanghai


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_a_model_field_reads_as_its_verbose_name_and_a_known_key_as_its_label():
    assert field_label("clients.client", "notes") == str(Client._meta.get_field("notes").verbose_name)
    assert field_label("jobs.job", "state") == str(Job._meta.get_field("state").verbose_name)
    assert field_label("devices.agent", "online") == "在线"
    assert field_label("", "passwords_changed") == "更正的口令"
    assert field_label("", "") == ""


def test_every_key_label_is_chinese():
    assert all(not str(label).isascii() for label in KEY_LABELS.values())


def test_values_in_local_time_by_label_and_as_words():
    assert readable("jobs.job", "run_after", UTC_MIDNIGHT_PAST) == "2026年12月1日 00:07"
    assert readable("", "expires_at", "2026-11-30T16:07:00.123+00:00") == "2026年12月1日 00:07"
    assert readable("jobs.job", "state", "failed") == "失败"
    assert readable("jobs.job", "kind", "upload_summary") == "抄报"
    assert readable("jobs.job", "error_code", "UPLOAD_OVERDUE") == "已到上传截止日期，上月有已开未上传发票"
    assert readable("devices.device", "health", "bad") != "bad"
    assert readable("", "online", True) == "是"
    assert readable("", "events", ["device_held"]) != "device_held"
    assert readable("", "note", "") == "—"
    assert readable("", "note", "2026-11 备注") == "2026-11 备注"


@pytest.mark.django_db
def test_the_page_shows_labels_and_local_times_and_the_export_keeps_the_raw(client, users):
    mine = make_client(name="南京甲科技有限公司")
    log.record(
        Action.JOB_RETRY_SCHEDULED,
        mine,
        user=users["admin"],
        before={"state": "running"},
        after={
            "state": "scheduled",
            "error_code": "DEVICE_BUSY",
            "run_after": dt.datetime(2026, 11, 30, 16, 7, tzinfo=dt.UTC),
        },
    )
    event = AuditEvent.objects.get(action="job.retry_scheduled")
    assert event.after and event.after["run_after"].startswith("2026-11-30T16:07")  # stored as the encoder wrote it
    shown = readable_changes("jobs.job", event.before, event.after)
    assert ReadableChange("状态", "执行中", "已计划") in shown
    assert ReadableChange("错误代码", None, "税盘正在被使用") in shown
    assert ReadableChange("最早执行时间", None, "2026年12月1日 00:07") in shown

    client.force_login(users["admin"])
    page = client.get("/audit/").content.decode()
    assert "税盘正在被使用" in page and "2026年12月1日 00:07" in page
    assert "DEVICE_BUSY" not in page and "T16:07" not in page and "run_after" not in page

    exported = client.get("/audit/", {"export": "csv"}).content.decode("utf-8-sig")
    row = next(r for r in csv.reader(io.StringIO(exported)) if "job.retry_scheduled" in r)
    assert '"error_code": "DEVICE_BUSY"' in row[12] and "2026-11-30T16:07" in row[12]
