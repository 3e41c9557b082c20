"""The one preview → confirm flow: what a preview kept comes back only with its own token, and a
wrong or replayed token forgets it."""

from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory

from apps.core import previews


def post(token=None, session=None):
    request = RequestFactory().post("/", {"token": token} if token else {})
    request.session = session if session is not None else SessionStore()
    return request


def test_what_a_preview_kept_comes_back_with_its_token_only():
    preview = post()
    token = previews.keep(preview, "k", name="a.xlsx", rows=[1, 2])
    assert previews.kept(post(token, preview.session), "k") == {"token": token, "name": "a.xlsx", "rows": [1, 2]}

    assert previews.kept(post("another", preview.session), "k") is None
    assert "k" not in preview.session  # a wrong token forgets the preview: upload again
    assert previews.kept(post(token, preview.session), "k") is None


def test_a_new_preview_replaces_the_last_and_its_token():
    session = SessionStore()
    first = previews.keep(post(session=session), "k", n=1)
    second = previews.keep(post(session=session), "k", n=2)
    assert first != second
    assert previews.kept(post(first, session), "k") is None
