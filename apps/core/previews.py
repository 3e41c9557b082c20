"""One preview → confirm flow for uploads (the client import, the filed returns): the preview keeps
what the confirmation will write in the session under a one-time token, and the confirmation
takes it back only with that token. A stale or replayed token forgets the preview."""

import uuid


def keep(request, key: str, **kept) -> str:
    """Keeps `kept` under `key` for the confirmation; returns the token its form sends back."""
    token = uuid.uuid4().hex
    request.session[key] = {"token": token, **kept}
    return token


def forget(request, key: str) -> None:
    request.session.pop(key, None)


def kept(request, key: str) -> dict | None:
    """What the preview kept, when the posted token is its own; None (and forgotten) otherwise."""
    found = request.session.get(key)
    if not found or found["token"] != request.POST.get("token"):
        forget(request, key)
        return None
    return found
