"""Issue 30 in a real browser: the pages an accountant reads most, at a desk (1280 px) and on a
phone (375 px). Screenshots of each go to a temp dir (QINGKA_SCREENSHOTS_30 to keep them); at
375 px the page itself never scrolls sideways (its tables may, inside themselves); no page logs a
console error. Headless Debian Chromium through Playwright, against pytest-django's live server."""

import datetime as dt
import os
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from apps.audit import log
from apps.audit.models import Action
from apps.jobs.models import Job, JobKind, JobState, Origin
from apps.periods.models import Period
from apps.scheduling.models import Batch
from tests.factories import make_client, make_device

pytestmark = [pytest.mark.browser]

WIDTHS = {"desk": 1280, "phone": 375}


@pytest.fixture
def firm(published_deadlines, users):
    clients = []
    for n in range(6):
        client = make_client(name=f"南京第{n}号长名称科技发展有限公司", staff=users["owner"])
        device = make_device(client, number=f"5399122375{n:02d}")
        Period.objects.create(client=client, month=dt.date(2026, 11, 1), deadline=dt.date(2026, 12, 15))
        job = Job.objects.create(
            kind=JobKind.UPLOAD_SUMMARY,
            device=device,
            state=JobState.FAILED if n % 2 else JobState.SUCCEEDED,
            error_code="UPLOAD_OVERDUE" if n % 2 else "",
            origin=Origin.AUTOPILOT,
        )
        log.record(
            Action.JOB_FAILED if n % 2 else Action.JOB_SUCCEEDED,
            job,
            after={"state": job.state, "error_code": job.error_code, "finished_at": job.created_at},
        )
        clients.append(client)
    batch = Batch.objects.create(
        kind=JobKind.UPLOAD_SUMMARY,
        month=dt.date(2026, 11, 1),
        start_at=dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC),
        token=uuid.uuid4(),
        created_by=users["admin"],
    )
    return {"clients": clients, "batch": batch, "admin": users["admin"]}


@pytest.fixture
def shots_dir():
    kept = os.environ.get("QINGKA_SCREENSHOTS_30")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        yield Path(kept)
    else:
        with tempfile.TemporaryDirectory(prefix="qingka-issue30-") as name:
            yield Path(name)


def _logged_in(new_page, live_server, user, width):
    """A page whose browser holds a session of `user` (made here, not through the login form)."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    page = new_page(viewport={"width": width, "height": 900})
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": live_server.url}]
    )
    return page


def test_the_pages_at_a_desk_and_on_a_phone(firm, live_server, new_page, shots_dir):
    pages = {
        "dashboard": "/",
        "client": f"/clients/{firm['clients'][1].pk}/",
        "attention": "/attention/",
        "autopilot": "/autopilot/",
        "audit": "/audit/",
        "month-end": "/reports/month-end/?month=2026-11",
        "bulk": f"/bulk/{firm['batch'].pk}/",
    }
    errors: list[str] = []
    sideways: dict[str, int] = {}
    for device, width in WIDTHS.items():
        page = _logged_in(new_page, live_server, firm["admin"], width)

        def console(message, device=device):
            if message.type == "error":
                errors.append(f"{device}: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error, device=device: errors.append(f"{device}: {error}"))
        for name, path in pages.items():
            answer = page.goto(live_server.url + path)
            assert answer is not None and answer.status == 200, (path, answer and answer.status)
            page.wait_for_load_state("networkidle")
            assert "/accounts/login" not in page.url, path
            page.screenshot(path=shots_dir / f"{name}-{width}.png", full_page=True)
            if device == "phone":
                extra = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if extra > 0:
                    sideways[name] = extra
    assert not errors, errors
    assert not sideways, f"the page scrolls sideways at 375 px by so many px: {sideways}"
    assert len(list(shots_dir.glob("*.png"))) == 2 * len(pages)
