"""Re-encrypts every secret (every EncryptedTextField) under the first FIELD_ENCRYPTION_KEY."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from apps.core.fields import current_fernet, encrypted_fields, field_keys


class Command(BaseCommand):
    help = (
        "Re-encrypts every encrypted field under the first key of FIELD_ENCRYPTION_KEY: set it to "
        "'NEW,OLD', run this, then set it to 'NEW'."
    )

    def handle(self, *args, **options):
        if len(field_keys(settings.FIELD_ENCRYPTION_KEY)) < 2:
            raise CommandError("FIELD_ENCRYPTION_KEY must be 'NEW,OLD': the new key first, then the old one(s).")
        multi, quote = current_fernet(), connection.ops.quote_name
        rows = 0
        with transaction.atomic(), connection.cursor() as cursor:
            for model, names in encrypted_fields():
                # The stored ciphertext itself, never decrypted into anything but MultiFernet.rotate.
                table, pk = quote(model._meta.db_table), quote(str(model._meta.pk.column))
                column_of = {field.name: str(field.column) for field in model._meta.concrete_fields}
                columns = [quote(column_of[name]) for name in names]
                cursor.execute(f"SELECT {pk}, {', '.join(columns)} FROM {table} FOR UPDATE")
                for key, *values in cursor.fetchall():
                    new = [multi.rotate(value.encode()).decode() if value else value for value in values]
                    assignments = ", ".join(f"{column} = %s" for column in columns)
                    cursor.execute(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [*new, key])
                    rows += 1
        self.stdout.write(f"Re-encrypted {rows} rows under the new key; the old key can now be removed.")
