"""Issue 30's small things: the favicon, a checkbox group's label above it, the API docs' way
back, the import preview's device named once, the last background run shown, empty lists that
say why."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def no_cached_sweep():
    cache.clear()


@pytest.mark.django_db
def test_the_favicon_is_served(client):
    from django.contrib.staticfiles import finders

    answer = client.get("/favicon.ico")
    assert answer.status_code in (301, 302) and answer["Location"].endswith("favicon.svg")
    assert finders.find("qingka/favicon.svg")


@pytest.mark.django_db
def test_the_events_label_sits_above_its_checkboxes(as_role):
    page = as_role("admin").get("/notifications/channels/").content.decode()
    label = page.index('<span class="group-label">接收的事件</span>')
    first_box = page.index('type="checkbox"', label - 2000)
    assert label < first_box


@pytest.mark.django_db
def test_the_api_docs_lead_back_to_the_site(as_role):
    page = as_role("admin").get("/api/v1/docs/").content.decode()
    assert 'class="qingka-back" href="/"' in page and "返回清卡网站" in page


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/attention/", "/autopilot/", "/jobs/"])
def test_pages_of_background_work_say_when_it_last_ran(as_role, url):
    page = as_role("admin").get(url).content.decode()
    assert "data-last-sweep" in page and "后台巡检还没有运行过" in page


def test_a_device_named_by_its_number_shows_it_once():
    from django.template.loader import render_to_string

    change = {"row": 2, "action": "created", "object": "device", "name": "税控盘 539912237528", "key": "539912237528"}
    html = render_to_string("clients/_import_change.html", {"change": change})
    assert html.count("539912237528") == 1
