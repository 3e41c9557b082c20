"""Secrets encrypted at rest with Fernet under FIELD_ENCRYPTION_KEY.

FIELD_ENCRYPTION_KEY may list several keys, comma-separated, newest first: values are written
under the first and read under any (MultiFernet). To change the key: put the new key in front,
run `manage.py rotate_field_key`, then drop the old one."""

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models


def field_keys(setting: str) -> list[str]:
    return [key.strip() for key in setting.split(",") if key.strip()]


@cache
def fernet(setting: str) -> MultiFernet:
    """ValueError when a key is not a Fernet key."""
    return MultiFernet([Fernet(key.encode()) for key in field_keys(setting)])


def current_fernet() -> MultiFernet:
    return fernet(settings.FIELD_ENCRYPTION_KEY)


class EncryptedTextField(models.TextField):
    """Stores the ciphertext; Python code sees the plain text. Never put one in a log or an API answer."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return current_fernet().decrypt(value.encode()).decode()

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return current_fernet().encrypt(value.encode()).decode()


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with secrets, and the names of its encrypted columns."""
    found = []
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found
