from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
"""
ALLOW = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def forbid(apps, schema_editor):
    schema_editor.execute(FORBID)


def allow(apps, schema_editor):
    schema_editor.execute(ALLOW)


class Migration(migrations.Migration):
    """The database itself refuses to change or delete an audit event."""

    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forbid, allow)]
