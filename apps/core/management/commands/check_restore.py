"""`manage.py check_restore`: is a database restored from a backup whole and usable by this site?

Run it against the restored database before pointing the site at it (README, "Backup and
restore"). Each check prints one line; the command exits 1 when one fails.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from apps.core.fields import EncryptedTextField

AUDIT_TRIGGER = "audit_event_append_only"


def stored_models():
    """The models with a table of their own in this database."""
    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


def migrations_applied(connection) -> tuple[bool, str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return False, f"{len(plan)} migration(s) not applied ({names}): restore a backup of this version, or migrate"
    return True, "every migration of this version is applied"


def tables_readable(connection) -> tuple[bool, str]:
    counts = {}
    for model in stored_models():
        try:
            counts[model._meta.label] = model._default_manager.using(connection.alias).count()
        except DatabaseError as exc:
            return False, f"{model._meta.db_table} cannot be read: {exc}".strip()
    wanted = ("clients.Client", "devices.Device", "jobs.Job", "audit.AuditEvent", "accounts.User")
    return True, "tables read: " + ", ".join(f"{label} {counts[label]}" for label in wanted)


def secrets_decrypt(connection) -> tuple[bool, str]:
    """The encrypted fields open with this FIELD_ENCRYPTION_KEY (one row each is enough to tell)."""
    checked = 0
    for model in stored_models():
        for field in model._meta.fields:
            if not isinstance(field, EncryptedTextField):
                continue
            rows = model._default_manager.using(connection.alias).exclude(**{field.name: ""})
            try:
                rows.values_list(field.name, flat=True).first()
            except InvalidToken:
                return (
                    False,
                    f"{model._meta.label}.{field.name} does not decrypt: FIELD_ENCRYPTION_KEY is not the backup's",
                )
            checked += 1
    return True, f"encrypted fields open with FIELD_ENCRYPTION_KEY ({checked} checked)"


def sequences_ahead(connection) -> tuple[bool, str]:
    """Every id sequence is past the largest id, or the next insert would fail (a data-only restore)."""
    behind = []
    with connection.cursor() as cursor:
        for model in stored_models():
            table, pk = model._meta.db_table, model._meta.pk.column
            for sequence in connection.introspection.get_sequences(cursor, table):
                cursor.execute(f'SELECT last_value, is_called FROM "{sequence["name"]}"')
                last_value, is_called = cursor.fetchone()
                cursor.execute(f'SELECT MAX("{pk}") FROM "{table}"')
                largest = cursor.fetchone()[0]
                next_value = last_value + 1 if is_called else last_value
                if largest is not None and next_value <= largest:
                    behind.append(sequence["name"])
    if behind:
        return False, f"sequences behind their tables' ids: {', '.join(behind)} (restore the whole dump, not data only)"
    return True, "id sequences are ahead of the data"


def audit_append_only(connection) -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal", [AUDIT_TRIGGER])
        if cursor.fetchone() is None:
            return False, f"the audit log's trigger {AUDIT_TRIGGER} is missing: the audit log is not append-only"
    return True, "the audit log is append-only (trigger present)"


CHECKS = [migrations_applied, tables_readable, secrets_decrypt, sequences_ahead, audit_append_only]


class Command(BaseCommand):
    help = "Checks that a restored PostgreSQL database is whole and usable by this site (README, Backup)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the connection to check")

    def handle(self, *args, database, **options):
        connection = connections[database]
        failed = 0
        for check in CHECKS:
            ok, text = check(connection)
            self.stdout.write(("✓ " if ok else "✗ ") + text)
            failed += not ok
        if failed:
            raise CommandError(f"{failed} check(s) failed: do not use this database yet")
