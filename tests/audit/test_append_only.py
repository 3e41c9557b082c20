import pytest
from django.contrib.admin.sites import site
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from apps.audit import log
from apps.audit.models import AppendOnlyError, AuditEvent
from tests.factories import make_client


@pytest.fixture
def event(users):
    client = make_client()
    return log.record(
        "client.updated", client, user=users["admin"], before={"name": "a"}, after={"name": "b"}, source="10.0.0.9"
    )


@pytest.mark.django_db
def test_an_event_tells_who_what_which_when_where(event, users):
    assert event.actor_user == users["admin"] and event.actor_label == "管理员甲"
    assert event.object_type == "clients.client" and event.client is not None
    assert (event.before, event.after, event.source) == ({"name": "a"}, {"name": "b"}, "10.0.0.9")
    assert event.created_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.save(),
        lambda e: e.delete(),
        lambda e: AuditEvent.objects.filter(pk=e.pk).update(action="x"),
        lambda e: AuditEvent.objects.filter(pk=e.pk).delete(),
        lambda e: AuditEvent.objects.bulk_update([e], ["action"]),
    ],
)
def test_orm_refuses_to_change_or_delete(event, change):
    with pytest.raises(AppendOnlyError):
        change(event)
    assert AuditEvent.objects.get(pk=event.pk).action == "client.updated"


@pytest.mark.django_db
@pytest.mark.parametrize("sql", ["UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"])
def test_postgresql_refuses_raw_sql_too(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.filter(pk=event.pk, action="client.updated").exists()


@pytest.mark.django_db
def test_admin_shows_events_read_only(event, users):
    users["admin"].is_staff = users["admin"].is_superuser = True
    request = RequestFactory().get("/")
    request.user = users["admin"]
    model_admin = site._registry[AuditEvent]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert model_admin.has_view_permission(request, event)
