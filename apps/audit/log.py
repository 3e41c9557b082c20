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
) -> AuditEvent:
    """An audit event, not saved yet."""
    if user is None and request is not None and request.user.is_authenticated:
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
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_label=str(obj)[:255],
        client=client if client is not None else getattr(obj, "audit_client", None),
        before=before,
        after=after,
        simulated=simulated,
        source=source if source is not None else client_ip(request),
    )
