"""Every change made in the Django admin is an audit event, with before and after: one mixin,
which apps.audit puts under every registered ModelAdmin (ours and other packages' alike)."""

from typing import TYPE_CHECKING

from django.contrib import admin

from apps.core.fields import EncryptedTextField

from . import log
from .models import Action

if TYPE_CHECKING:  # a mixin for ModelAdmin classes: typed as one, a plain class when run
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object

SECRET_NAMES = {"password", "key", "key_hash", "token_hash", "signing_key"}
SET, UNSET, CHANGED = "已设置", "未设置", "已修改"


def _is_secret(field) -> bool:
    return isinstance(field, EncryptedTextField) or field.name in SECRET_NAMES


def field_values(obj) -> dict:
    return {field.attname: field.value_from_object(obj) for field in obj._meta.concrete_fields}


def audit_data(obj, values: dict, compare_with: dict | None = None) -> dict:
    """The values as the audit log shows them: a secret only as set, unset or changed."""
    data = {}
    for field in obj._meta.concrete_fields:
        value = values.get(field.attname)
        if _is_secret(field):
            changed = compare_with is not None and compare_with.get(field.attname) != value
            value = CHANGED if changed and value else SET if value else UNSET
        data[field.attname] = value
    return data


class AuditedAdmin(_AdminBase):
    """Mix in before ModelAdmin. Django calls log_addition, log_change and log_deletions after
    every add, change (password changes included) and before every deletion, bulk or not."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._audit_before = field_values(obj)
        return obj

    def log_addition(self, request, obj, message):
        log.record(Action.ADMIN_ADDED, obj, request=request, after=audit_data(obj, field_values(obj)))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        before = getattr(obj, "_audit_before", None)
        after = field_values(obj)
        log.record(
            Action.ADMIN_CHANGED,
            obj,
            request=request,
            before=audit_data(obj, before) if before is not None else None,
            after=audit_data(obj, after, compare_with=before),
        )
        obj._audit_before = after
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            log.record(
                Action.ADMIN_DELETED,
                obj,
                request=request,
                before=audit_data(obj, field_values(obj)),
                # an event about a client being deleted cannot point at it (it would hold it back)
                no_client=getattr(obj, "audit_client", None) is obj,
            )
        return super().log_deletions(request, queryset)


def audit_every_admin(site=admin.site) -> None:
    """Re-registers each ModelAdmin not yet audited with AuditedAdmin mixed in."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, AuditedAdmin):
            cls = type(model_admin)
            site.unregister(model)
            site.register(model, type(f"Audited{cls.__name__}", (AuditedAdmin, cls), {"__module__": cls.__module__}))
