import pytest
from django.db import connection

from apps.core import clock
from apps.devices.models import Agent
from apps.jobs.models import SweepRecord
from tests.factories import make_agent

FIELDS = {"database", "redis", "agents_online", "sweep"}


@pytest.fixture
def probe(client, settings):
    """An anonymous probe over plain HTTP, by an address the site does not serve, as a load
    balancer or the compose healthcheck comes."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["qingka.example.com"]
    return lambda: client.get("/healthz", HTTP_HOST="10.1.2.3:8000")


@pytest.mark.django_db
def test_all_well_says_200_and_counts_online_agents(probe):
    make_agent("柜一")
    online, _ = make_agent("柜二")
    Agent.objects.filter(pk=online.pk).update(online=True)
    SweepRecord.objects.create(pk=1, finished_at=clock.now())
    response = probe()
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "agents_online": 1, "sweep": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_redis_down_says_503_naming_redis_and_nothing_else(probe, settings):
    SweepRecord.objects.create(pk=1, finished_at=clock.now())
    settings.REDIS_URL = "redis://:s3cret@127.0.0.1:1/0"
    response = probe()
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "error", "agents_online": 0, "sweep": "ok"}
    assert b"s3cret" not in response.content and b"127.0.0.1" not in response.content


@pytest.mark.django_db(transaction=True)
def test_database_down_says_503_naming_the_database(probe):
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1
    try:
        response = probe()
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert response.json() == {"database": "error", "redis": "ok", "agents_online": None, "sweep": "error"}
    assert set(response.json()) == FIELDS


def test_other_paths_still_need_an_allowed_host(client, settings):
    settings.ALLOWED_HOSTS = ["qingka.example.com"]
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3").status_code == 400


def test_each_app_registers_its_checks_once_and_the_web_process_leaves_out_the_sweep():
    from apps.core import health

    names = [name for name, _check in health.CHECKS]
    assert sorted(names) == sorted(FIELDS) and len(names) == len(set(names))
    assert "sweep" not in dict(health.SITE_CHECKS)
    agents_online = health.check("agents_online")
    health.register("agents_online", agents_online)  # an app's ready() run again
    assert [name for name, _check in health.CHECKS] == [n for n in names if n != "agents_online"] + ["agents_online"]
