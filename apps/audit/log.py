"""One way to write the audit log, so every event names its actor, object and source alike."""

from .models import AuditEvent


def client_ip(request) -> str:
    if request is None:
        return ""
    return request.META.get("REMOTE_ADDR", "")


def record(action, obj, **details) -> AuditEvent:
    event_ = event(action, obj, **details)
    event_.save()
    return event_


def record_many(events: list[AuditEvent]) -> None:
    """Writes events made by event() in one statement (a batch of thousands of jobs)."""
    AuditEvent.objects.bulk_create(events, batch_size=1000)


def event(
    action,
    obj,
    *,
    user=None,
    agent=None,
    request=None,
    before=None,
    after=None,
    client=None,
    source=None,
    simulated=False,
    label="",
    no_client=False,
) -> AuditEvent:
    """An audit event, not saved yet. `obj` None: an event about no row (a failed login for an
    unknown name); `label` names it."""
    if user is None and getattr(getattr(request, "user", None), "is_authenticated", False):
        user = request.user
    if agent is not None:
        actor_label = f"前置机 {agent.name}"
    elif user is not None:
        actor_label = str(user)
    else:
        actor_label = "系统"
    return AuditEvent(
        actor_user=user,
        actor_agent=agent,
        actor_label=actor_label,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=str(obj if obj is not None else label)[:255],
        client=None if no_client else client if client is not None else getattr(obj, "audit_client", None),
        before=before,
        after=after,
        simulated=simulated,
        source=source if source is not None else client_ip(request),
    )
