"""Many rows changed in one statement, so a busy path holds its row locks for one short moment."""

import json
from collections.abc import Sequence

from django.db import connection, models


def _array_type(field) -> str:
    if isinstance(field, models.JSONField):
        return "text[]::jsonb[]"
    if isinstance(field, models.ForeignKey):
        return f"{field.target_field.rel_db_type(connection)}[]"
    if isinstance(field, (models.CharField, models.TextField)):
        return "text[]"
    return field.db_type(connection) + "[]"


def _value(field, value):
    if isinstance(field, models.JSONField):
        return None if value is None else json.dumps(value, ensure_ascii=False, cls=field.encoder)
    return value


def update_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """Sets `fields` of each row (pk, value, value, …), in primary-key order, in one
    UPDATE … FROM unnest(…)."""
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row[0])
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    assignments = ", ".join(f'"{field.column}" = v."{field.column}"' for field in columns)
    arrays = ", ".join(f"%s::{_array_type(field)}" for field in [pk, *columns])
    names = ", ".join(f'"{field.column}"' for field in [pk, *columns])
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM unnest({arrays}) AS v({names}) '
        f'WHERE t."{pk.column}" = v."{pk.column}"'
    )
    params = [[row[0] for row in rows]] + [
        [_value(field, row[i + 1]) for row in rows] for i, field in enumerate(columns)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def insert_rows(objects: Sequence[models.Model]) -> None:
    """Inserts new instances of one model and sets their primary keys, in one INSERT … SELECT FROM
    unnest(…) (5,000 jobs: 0.06 s, where bulk_create spent 0.4 s preparing each value). The
    instances carry their defaults already (their __init__ set them); no pre_save runs, so the
    model must have no auto_now field."""
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    names = ", ".join(f'"{field.column}"' for field in fields)
    arrays = ", ".join(f"%s::{_array_type(field)}" for field in fields)
    sql = (
        f'INSERT INTO "{meta.db_table}" ({names}) SELECT {names} '
        f"FROM unnest({arrays}) WITH ORDINALITY AS v({names}, n) ORDER BY n "
        f'RETURNING "{meta.pk.column}"'
    )
    params = [[_value(field, getattr(obj, field.attname)) for obj in objects] for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
