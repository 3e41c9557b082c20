"""Pages whose work a background process does say when it last ran, and an empty list says why
(issue 30): the notifications pages name the rq worker that sends, the dashboard's empty table
tells a firm with no clients from a filter that matched none."""

import django_rq
import pytest
from django.urls import reverse
from rq import Worker

from tests.factories import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def rq_connection():
    connection = django_rq.get_connection("default")
    for worker in Worker.all(connection=connection):  # left by another test's worker
        worker.register_death()
    return connection


@pytest.mark.parametrize("page", ["notifications:sends", "notifications:channels"])
def test_the_notifications_pages_say_whether_the_sending_worker_runs(page, as_role, rq_connection):
    client = as_role("admin")
    assert "没有在运行" in client.get(reverse(page)).content.decode()
    worker = Worker(["default"], connection=rq_connection)
    worker.register_birth()
    try:
        shown = client.get(reverse(page)).content.decode()
        assert "最近一次报告在线于" in shown and "没有在运行" not in shown
    finally:
        worker.register_death()


def test_an_empty_dashboard_says_why(as_role):
    client = as_role("admin")
    assert "还没有服务中的客户" in client.get(reverse("dashboard")).content.decode()
    make_client(name="甲公司")
    shown = client.get(reverse("dashboard"), {"q": "没有这个名字"}).content.decode()
    assert "没有符合条件的客户" in shown and "还没有服务中的客户" not in shown


@pytest.mark.parametrize(
    "page, empty, narrowed",
    [
        ("jobs:list", "还没有任务", {"state": "failed"}),
        ("audit:list", "还没有操作记录", {"action": "job.requested"}),
        ("clients:list", "还没有客户", {"q": "没有这个名字"}),
    ],
)
def test_an_empty_list_says_whether_nothing_is_there_or_nothing_matched(page, empty, narrowed, as_role):
    client = as_role("admin")
    assert empty in client.get(reverse(page)).content.decode()
    shown = client.get(reverse(page), narrowed).content.decode()
    assert "没有符合条件的" in shown and empty not in shown
