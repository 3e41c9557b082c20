"""Secrets encrypted at rest with Fernet under FIELD_ENCRYPTION_KEY."""

from functools import cache

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import models


@cache
def fernet(key: str) -> Fernet:
    return Fernet(key.encode())


class EncryptedTextField(models.TextField):
    """Stores the ciphertext; Python code sees the plain text. Never put one in a log or an API answer."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(value.encode()).decode()

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()
