"""Changes people make to the cycle, each audited."""

from apps.audit import log

from .models import Autopilot, Exclusion


def save_settings(form, *, user, request=None) -> Autopilot:
    before = {name: getattr(form.instance, name) for name in form.changed_data}
    autopilot = form.save()
    if form.changed_data:
        log.record(
            "autopilot.changed",
            autopilot,
            user=user,
            request=request,
            before=before,
            after={name: getattr(autopilot, name) for name in form.changed_data},
        )
    return autopilot


def exclude(client, reason: str, *, user, request=None) -> Exclusion:
    exclusion, _created = Exclusion.objects.update_or_create(
        client=client, defaults={"reason": reason, "created_by": user}
    )
    log.record("autopilot.client_excluded", exclusion, user=user, request=request, after={"reason": reason})
    return exclusion


def include(client, *, user, request=None) -> None:
    exclusion = Exclusion.objects.filter(client=client).first()
    if exclusion:
        log.record(
            "autopilot.client_included", exclusion, user=user, request=request, before={"reason": exclusion.reason}
        )
        exclusion.delete()
