"""Out-of-range and malformed input gets a 400 in Chinese, never a 500, on pages and API; the
site's own error pages speak the person's language; the database away gives the 503 page."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from apps.core.api_errors import MAX_JSON_DEPTH
from tests.factories import make_client

pytestmark = [pytest.mark.security, pytest.mark.django_db]
HUGE = "99999999999999999999"


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["admin"])
    client.raise_request_exception = False  # answer as the site would, 500s included
    make_client(staff=users["owner"])
    return client


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        ("/api/v1/months/99999999999-01/", {}, "月份格式应为"),
        ("/api/v1/months/1999-12/", {}, "月份格式应为"),
        ("/api/v1/months/2026-13/", {}, "月份格式应为"),
        ("/api/v1/calendar/0/", {}, "年份应在1990到2100之间"),
        ("/api/v1/calendar/99999/", {}, "年份应在1990到2100之间"),
        ("/api/v1/periods/", {"month": "10000-01"}, "月份格式应为"),
        ("/api/v1/clients/", {"staff": HUGE}, "选择一个有效的选项"),
        ("/api/v1/jobs/", {"device": HUGE}, "选择一个有效的选项"),
        ("/api/v1/periods/", {"client": "0"}, "选择一个有效的选项"),
    ],
)
def test_api_answers_out_of_range_values_with_a_400_in_chinese(admin_client, path, params, reason):
    response = admin_client.get(path, params)
    assert response.status_code == 400, response.content[:300]
    text = response.content.decode()
    assert reason in text and any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/", {"month": "99999-01"}),
        ("/", {"staff": HUGE}),
        ("/jobs/", {"client": HUGE}),
        ("/jobs/", {"month": "0000-00"}),
        ("/bulk/new/", {"month": "2026-10", "kind": "clear", "when": "now", "per_agent_per_minute": HUGE}),
        ("/audit/", {"date_from": "99999-01-01"}),
    ],
)
def test_pages_never_fail_on_out_of_range_values(admin_client, path, params):
    response = admin_client.get(path, params)
    assert response.status_code in (200, 400), (path, params, response.status_code)
    if response.status_code == 400:
        assert "请求有误" in response.content.decode()


def test_a_value_the_database_refuses_is_a_400_on_pages_and_api_not_a_500(rf):
    """The safety net under every form and serializer: whatever value reaches the database and
    is refused there (numeric overflow, a too-long text) is the request's fault."""
    from django.db import DataError
    from django.utils import translation

    from apps.core.api_errors import exception_handler
    from apps.core.middleware import DatabaseUnavailableMiddleware

    with translation.override("zh-hans"):
        page = DatabaseUnavailableMiddleware(lambda r: None).process_exception(rf.get("/"), DataError("out of range"))
        api = exception_handler(DataError("out of range"), {})
    assert page.status_code == 400 and "请求有误" in page.content.decode()
    assert api.status_code == 400 and api.data == {"detail": "参数超出允许范围"}


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ("[[[", 0), ([], 1), ({"a": [1, {"b": "x"}], "c": 2}, 3), ([[], [[[]]], {}], 4)],
)
def test_json_depth_counts_the_nesting_of_lists_and_objects_only(value, depth):
    from apps.core.api_errors import json_depth

    assert json_depth(value) == depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_a_400(admin_client, depth):
    body = "[" * depth + "]" * depth
    response = admin_client.post("/api/v1/jobs/", body, content_type="application/json")
    assert response.status_code == 400 and "嵌套层数过多" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/clients/0/", "/jobs/0/", "/bulk/0/", "/api/v1/clients/0/", "/api/v1/jobs/0/"])
def test_ids_of_zero_are_not_found(admin_client, path):
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("language", "texts"),
    [("zh-hans", ("页面不存在", "无权访问")), ("en", ("Page not found", "Access denied"))],
)
def test_error_pages_are_the_sites_own_in_the_persons_language(client, users, language, texts):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(users["readonly"])
    missing = client.get("/clients/0/")
    assert missing.status_code == 404 and texts[0] in missing.content.decode()
    refused = client.get("/bulk/new/")
    assert refused.status_code == 403 and texts[1] in refused.content.decode()
    assert 'class="card error-page"' in missing.content.decode() + refused.content.decode()


def test_a_server_error_is_the_sites_own_500_page(rf):
    from django.utils import translation

    from apps.core import errors

    with translation.override("zh-hans"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            response = errors.server_error(rf.get("/"))
    assert response.status_code == 500 and "服务器出错" in response.content.decode()


SITE_WITHOUT_DATABASE = """
import django
from django.conf import settings
plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "x" * 32  # a session to look up: the database is needed
client.cookies["django_language"] = "{language}"
for path in ("/", "/jobs/", "/accounts/login/", "/api/v1/clients/"):
    response = client.get(path)
    text = response.json()["detail"] if path.startswith("/api/") else response.content.decode()
    print(path, response.status_code, text[:2000].replace("\\n", " "))
"""


@pytest.mark.parametrize(
    ("language", "text"), [("zh-hans", "数据库暂时无法连接"), ("en", "database cannot be reached")]
)
def test_with_the_database_away_pages_answer_503_in_the_persons_language(tmp_path, language, text):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/qingka",  # nothing listens on port 1
        "DEBUG": "0",
        "SECURE_HTTPS": "0",
        "ALLOWED_HOSTS": "testserver",
        "QINGKA_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "-c", SITE_WITHOUT_DATABASE.replace("{language}", language)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("/")]
    assert len(lines) == 4, result.stdout + result.stderr
    for line in lines:
        path, status, body = line.split(" ", 2)
        assert status == "503", line
        assert text in body, line
