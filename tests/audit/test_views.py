"""操作日志 page: who sees which events, labels, filters, paging, exports; nothing changes an event."""

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from openpyxl import load_workbook

from apps.audit import log
from apps.audit.display import Change, action_label, changes
from apps.audit.models import Action, AuditEvent
from tests.factories import make_agent, make_client, make_device

URL = "/audit/"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


@pytest.fixture
def world(users):
    agent, _token = make_agent("一号前置机")
    mine = make_client(name="南京甲科技有限公司", staff=users["owner"])
    theirs = make_client(name="苏州乙贸易有限公司", staff=users["colleague"])
    device = make_device(mine, simulated=True)
    with at(dt.datetime(2026, 11, 3, 9, 0, tzinfo=SHANGHAI)):
        edited = log.record(
            "client.updated",
            mine,
            user=users["admin"],
            before={"notes": "", "name": "甲"},
            after={"notes": "新备注", "name": "甲"},
        )
    with at(dt.datetime(2026, 11, 5, 0, 30, tzinfo=SHANGHAI)):  # still 4 November in UTC
        present = log.record(
            "device.present",
            device,
            agent=agent,
            source="host-1",
            simulated=True,
            after={"agent": agent.name, "slot": "1-1.4"},
        )
        other = log.record("client.created", theirs, user=users["colleague"], after={"name": theirs.name})
        online = log.record("agent.online", agent, before={"online": False}, after={"online": True}, source="host-1")
        odd = log.build(Action.CLIENT_UPDATED, theirs)
        odd.action = "share.opened"  # an action the site wrote once and writes no more
        odd.save()
    return {
        "mine": mine,
        "theirs": theirs,
        "edited": edited,
        "present": present,
        "other": other,
        "online": online,
        "odd": odd,
    }


def ids(response) -> set[int]:
    return {event.pk for event in response.context["page"]}


def pks(world, *names) -> set[int]:
    return {world[name].pk for name in names}


EVERYTHING = ("edited", "present", "other", "online", "odd")


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client, world):
    for url in (URL, f"{URL}?export=xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role, visible",
    [
        ("admin", EVERYTHING),
        ("readonly", EVERYTHING),
        ("owner", ("edited", "present")),  # their own client's events, none about agents
        ("colleague", ("other", "odd")),
    ],
)
def test_each_role_sees_what_it_may(client, users, world, role, visible):
    client.force_login(users[role])
    response = client.get(URL)
    assert response.status_code == 200 and ids(response) == pks(world, *visible)


@pytest.mark.django_db
def test_events_read_in_chinese_with_changes_and_markers(client, users, world):
    client.force_login(users["admin"])
    text = client.get(URL).text
    assert "修改客户" in text and "设备在位" in text and "前置机上线" in text and "新建客户" in text
    assert "share.opened" in text  # an unknown code is shown as it is
    assert "新备注" in text and 'class="badge simulated"' in text and "前置机 一号前置机" in text and "host-1" in text
    assert f'href="/clients/{world["mine"].pk}/"' in text and "2026年11月3日" in text


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_cannot_be_changed_through_the_page(client, users, world, method):
    client.force_login(users["admin"])
    assert getattr(client, method)(URL, {"id": world["edited"].pk}).status_code == 405
    assert AuditEvent.objects.count() == 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, expected",
    [
        ({"action": "client.updated"}, ("edited",)),
        ({"action": "share.opened"}, ("odd",)),
        ({"actor": "前置机"}, ("present",)),
        ({"actor": "会计丙"}, ("other",)),
        ({"client": "乙贸易"}, ("other", "odd")),
        ({"simulated": "1"}, ("present",)),
        ({"simulated": "0"}, ("edited", "other", "online", "odd")),
        ({"date_from": "2026-11-05"}, ("present", "other", "online", "odd")),
        ({"date_to": "2026-11-04"}, ("edited",)),
        ({"date_from": "2026-11-04", "date_to": "2026-11-04"}, ()),
    ],
)
def test_filters(client, users, world, query, expected):
    client.force_login(users["readonly"])
    assert ids(client.get(URL, query)) == pks(world, *expected)


@pytest.mark.django_db
def test_filter_by_identifier_and_unknown_action_choice(client, users, world):
    client.force_login(users["admin"])
    assert ids(client.get(URL, {"client": world["mine"].taxpayer_id.lower()})) == pks(world, "edited", "present")
    choices = dict(client.get(URL).context["filter"].form.fields["action"].choices)
    assert choices["job.cancelled"] == "取消任务" and choices["share.opened"] == "share.opened"


@pytest.mark.django_db
def test_bad_filters_are_explained_in_chinese(client, users, world):
    client.force_login(users["admin"])
    response = client.get(URL, {"date_from": "2026-11-09", "date_to": "2026-11-01", "simulated": "maybe"})
    errors = response.context["filter"].form.errors
    assert errors["date_to"] == ["结束日期不能早于开始日期"] and "simulated" in errors
    assert ids(response) == pks(world, *EVERYTHING)


@pytest.mark.django_db
def test_pages_of_fifty(client, users, world):
    for n in range(60):
        log.record("client.updated", world["theirs"], after={"n": n})
    client.force_login(users["admin"])
    first = client.get(URL, {"action": "client.updated"})
    assert len(first.context["page"]) == 50 and first.context["page"].paginator.count == 61
    assert len(client.get(URL, {"action": "client.updated", "page": 2}).context["page"]) == 11


@pytest.mark.django_db
def test_csv_export_is_filtered_whole_and_scoped(client, users, world):
    for n in range(60):
        log.record("client.updated", world["mine"], after={"n": n})
    client.force_login(users["owner"])
    response = client.get(URL, {"export": "csv", "page": 2})
    assert response["Content-Type"].startswith("text/csv") and response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "时间",
        "操作者",
        "操作",
        "操作代码",
        "对象类型",
        "对象编号",
        "对象",
        "客户",
        "纳税人识别号",
        "来源",
        "模拟设备",
        "变更前",
        "变更后",
    ]
    assert len(rows) == 1 + 62  # every page, only the owner's client
    assert {row[7] for row in rows[1:]} == {"南京甲科技有限公司"}
    edited = next(dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[3] == "client.updated" and row[11])
    assert edited["操作"] == "修改客户" and edited["变更后"] == '{"name": "甲", "notes": "新备注"}'
    assert edited["时间"] == "2026-11-03 09:00:00"  # Shanghai time


@pytest.mark.django_db
def test_excel_export(client, users, world):
    client.force_login(users["admin"])
    response = client.get(URL, {"export": "xlsx", "simulated": "1"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.values)[1:]  # under the title row
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["操作"] == "设备在位" and row["模拟设备"] == "是" and row["操作者"] == "前置机 一号前置机"
    assert row["时间"] == dt.datetime(2026, 11, 5, 0, 30)


def test_only_a_known_action_is_written_and_each_reads_as_its_label():
    with pytest.raises(ValueError):
        log.build("nobody.knows", None, label="x")
    assert log.build("job.failed", None, label="x").action == Action.JOB_FAILED  # the code, as stored
    assert action_label("job.failed") == "任务失败"
    assert action_label("nobody.knows") == "nobody.knows"  # an event of an action no longer written
    assert all(str(action.label) for action in Action)


def test_changes_are_compact():
    assert changes({"online": False}, {"online": True}) == [Change("online", "false", "true")]
    assert changes({"a": 1, "b": 2}, {"a": 1, "c": "x"}) == [Change("b", "2", None), Change("c", None, "x")]
    assert changes(None, {"slot": "1-1"}) == [Change("slot", None, "1-1")]
    assert changes(None, None) == []
    assert changes("old", "new") == [Change("", "old", "new")]
    long = changes(None, {"text": "字" * 100})[0].after
    assert len(long) == 60 and long.endswith("…")
