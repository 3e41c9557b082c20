"""The live demo (`make demo` on its embedded defaults) in a real browser: the admin opens every
page of the menu once; no page nor anything it loads answers an error and none logs a console error.
Ctrl-C, its exit status and the logs' tracebacks are checked again when the shared demo stops."""

from urllib.parse import urlsplit

import pytest

from tests.e2e.live_demo import SHARED_DEMO

pytestmark = [pytest.mark.browser, pytest.mark.integration, SHARED_DEMO]


def test_every_menu_page_of_the_live_demo(live_demo, new_page):
    demo = live_demo
    page = new_page()
    failures: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and failures.append(f"console on {page.url}: {m.text}"))
    page.on("pageerror", lambda e: failures.append(f"script error on {page.url}: {e}"))

    page.goto(f"{demo.url}/accounts/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "qingka-demo")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{demo.url}/")

    menu = page.eval_on_selector_all("nav a[href]", "links => links.map(a => a.getAttribute('href'))")
    paths = list(dict.fromkeys(href for href in menu if href.startswith("/") and "logout" not in href))
    assert len(paths) >= 10, menu
    for path in paths:
        answer = page.goto(f"{demo.url}{path}")
        page.wait_for_load_state("networkidle")
        assert answer is not None and answer.status < 400, (path, answer and answer.status)
        assert urlsplit(page.url).path != "/accounts/login/", f"{path} signed the admin out"
    assert not failures, failures
    assert not demo.tracebacks(), demo.tracebacks()
