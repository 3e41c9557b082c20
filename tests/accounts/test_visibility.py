"""Which clients a user sees is one rule (core/permissions.restrict): a 会计 sees the same
clients on every page, in the API and in every export; 管理员 and 只读 see them all."""

import csv
import io

import pytest
from django.urls import reverse

from apps.audit import log
from apps.clients.models import Client
from apps.core.permissions import can_view_client, sees_all_clients
from apps.jobs.models import Job, JobKind
from tests.factories import make_client, make_device

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("nov10")]


@pytest.fixture
def firm(users):
    made = {}
    for n, staff in enumerate(["owner", "owner", "colleague", None]):
        client = make_client(name=f"可见性客户{n}", staff=users[staff] if staff else None)
        device = make_device(client)
        Job.objects.create(kind=JobKind.READ_STATUS, device=device)
        log.record("client.updated", client, user=users["admin"])
        made[client.name] = client
    return made


def csv_names(response, column="客户名称") -> set[str]:
    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    return {row[column] for row in rows}


@pytest.mark.parametrize("role", ["admin", "owner", "colleague", "readonly"])
def test_every_path_shows_the_same_clients(firm, users, as_role, role):
    user = users[role]
    expected = set(Client.objects.visible_to(user).values_list("name", flat=True))
    assert expected == {c.name for c in firm.values() if sees_all_clients(user) or c.staff_id == user.pk}
    assert expected == {c.name for c in firm.values() if can_view_client(user, c)}
    web = as_role(role)
    assert csv_names(web.get(reverse("clients:list"), {"export": "csv"})) == expected
    assert csv_names(web.get(reverse("dashboard"), {"export": "csv"})) == expected
    assert {r["name"] for r in web.get("/api/v1/clients/").json()["results"]} == expected
    jobs = Job.objects.visible_to(user).values_list("device__client__name", flat=True)
    assert set(jobs) == expected
    assert csv_names(web.get(reverse("jobs:list"), {"export": "csv"}), "客户") == expected
    counts = web.get("/api/v1/months/2026-10/").json()["counts"]
    assert sum(n for code, n in counts.items() if code != "late") == len(expected)
    audit = {
        row["客户"]
        for row in csv.DictReader(
            io.StringIO(web.get(reverse("audit:list"), {"export": "csv"}).content.decode("utf-8-sig"))
        )
    }
    assert audit == expected
