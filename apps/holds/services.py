"""Holding a device and releasing it, each audited. A hold is made by the system (a password
failure, a lock) and released only by a person."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from apps.audit import log
from apps.audit.models import Action
from apps.core import clock
from apps.devices.models import Device

from .models import Hold, HoldReason, Release


def hold(device: Device, reason: str, *, error_code: str = "", message: str = "", job=None, lock_date=None) -> Hold:
    """Holds the device; a device already held keeps its hold. Returns the active hold."""
    try:
        with transaction.atomic():
            made = Hold.objects.create(
                device=device, reason=reason, error_code=error_code, message=message, job=job, lock_date=lock_date
            )
    except IntegrityError:  # held already (one active hold per device)
        return Hold.objects.active().get(device=device)
    log.record(
        Action.DEVICE_HELD,
        made,
        client=device.client,
        simulated=device.simulated,
        after={"reason": reason, "error_code": error_code, "job": job.pk if job else None},
    )
    return made


def release_errors(hold_: Hold, kind: str, certificate_password: str, device_password: str) -> dict[str, list[str]]:
    """What is wrong with this release, field by field; empty when it may be released."""
    errors: dict[str, list[str]] = {}
    if not hold_.active:
        errors["__all__"] = [_("该暂停已解除")]
    if kind not in Release.values:
        errors["release"] = [_("请选择解除方式")]
    elif kind == Release.PASSWORD_CORRECTED:
        if hold_.reason != HoldReason.PASSWORD:
            errors["release"] = [_("设备锁死须到税务机关处理，请选择“已处理”")]
        elif not (certificate_password or device_password):
            errors["certificate_password"] = [_("请填写更正后的证书口令或设备口令")]
    for field, value in (("certificate_password", certificate_password), ("device_password", device_password)):
        if value and not (value.isascii() and value.isprintable() and 4 <= len(value) <= 32):
            errors[field] = [_("口令应为4到32位字母、数字或符号")]
    return errors


def release(
    hold_: Hold,
    kind: str,
    *,
    user,
    request=None,
    certificate_password: str = "",
    device_password: str = "",
    note: str = "",
) -> Hold:
    """A person releases the hold: 口令已更正 with the new password(s), or 已处理. Raises
    ValidationError (by field, in Chinese) and changes nothing when the input is wrong. The
    passwords are stored encrypted and never written to the audit log."""
    errors = release_errors(hold_, kind, certificate_password, device_password)
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    with transaction.atomic():
        released = Hold.objects.filter(pk=hold_.pk, released_at__isnull=True).update(
            released_at=now, released_by=user, release=kind, note=note
        )
        if not released:
            raise ValidationError({"__all__": [_("该暂停已解除")]})
        device = hold_.device
        changed = []
        if certificate_password:
            device.certificate_password = certificate_password
            changed.append("certificate_password")
        if device_password:
            device.device_password = device_password
            changed.append("device_password")
        if changed:
            device.save(update_fields=changed)
        hold_.refresh_from_db()
        log.record(
            Action.DEVICE_HOLD_RELEASED,
            hold_,
            user=user,
            request=request,
            simulated=device.simulated,
            before={"active": True},
            after={"release": kind, "note": note, "passwords_changed": changed},
        )
    return hold_


def hold_locked_devices(today: dt.date) -> int:
    """Holds every device whose own data says it is locked, once per lock: a device released by a
    person after the bureau's visit is not held again for the same lock date. A client that unlocks
    online (先尝试远程清卡, the firm's setting or its own) is not held: its device gets one try once
    the late return is recorded, and a refusal holds it then (jobs/outcomes.fail, 须到大厅)."""
    from apps.accounts.models import FirmSettings, UnlockPolicy

    hall = Q(client__unlock_policy=UnlockPolicy.HALL)
    if FirmSettings.current().unlock_policy == UnlockPolicy.HALL:
        hall |= Q(client__unlock_policy="")
    held_for_this_lock = Hold.objects.filter(
        device=OuterRef("pk"), reason=HoldReason.LOCKED, lock_date=OuterRef("lock_date")
    )
    locked = (
        Device.objects.in_service()
        .locked(today)
        .filter(hall)
        .exclude(Exists(held_for_this_lock))
        .exclude(Exists(Hold.objects.active().filter(device=OuterRef("pk"))))
        .select_related("client")
    )
    made = 0
    for device in locked:
        message = (
            _("设备报告已锁死") if device.locked_reported else _("已过开票截止日期 %(day)s") % {"day": device.lock_date}
        )
        hold(device, HoldReason.LOCKED, error_code="DEVICE_LOCKED", message=message, lock_date=device.lock_date)
        made += 1
    return made
