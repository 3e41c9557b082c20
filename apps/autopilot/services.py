"""Changes people make to the cycle, each audited."""

from apps.audit import log
from apps.audit.models import Action

from .models import Autopilot, Exclusion


def save_settings(form, *, user, request=None) -> Autopilot:
    before = {name: getattr(form.instance, name) for name in form.changed_data}
    autopilot = form.save()
    if form.changed_data:
        log.record(
            Action.AUTOPILOT_CHANGED,
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
    log.record(Action.AUTOPILOT_CLIENT_EXCLUDED, exclusion, user=user, request=request, after={"reason": reason})
    return exclusion


def include(client, *, user, request=None) -> None:
    exclusion = Exclusion.objects.filter(client=client).first()
    if exclusion:
        log.record(
            Action.AUTOPILOT_CLIENT_INCLUDED, exclusion, user=user, request=request, before={"reason": exclusion.reason}
        )
        exclusion.delete()
