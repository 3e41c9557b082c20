"""The three screenshots of docs/a-day-with-qingka.md, made again from the demo firm:

    .venv/bin/python docs/screenshots.py                    # the deadline week: 2026-12-10 10:30
    .venv/bin/python docs/screenshots.py --now 2027-01-13T10:30

It runs `manage.py demo --now …` as people run it (embedded PostgreSQL and Redis, the worker, the
sweeper and the simulated cabinet) in a var dir of its own under /tmp, so it never touches var/ nor
a demo already running; signs in as the firm's admin in headless Debian Chromium through Playwright
(QINGKA_CHROMIUM names another binary); writes docs/a-day-dashboard.png, docs/a-day-client.png and
docs/a-day-attention.png (1280 px wide, the top of each page); stops the demo with Ctrl-C and
removes its var dir."""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = os.environ.get("QINGKA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
WIDTH, HEIGHT = 1280, 1000
PASSWORD = "qingka-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def demo_env(var_dir: Path) -> dict[str, str]:
    """The demo on its embedded defaults, whatever this shell points at."""
    dropped = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "SECURE_HTTPS", "SECRET_KEY"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINGKA_") and k not in dropped}
    return {**env, "QINGKA_VAR_DIR": str(var_dir), "DEBUG": "1", "PYTHONUNBUFFERED": "1"}


def shoot(url: str, user: str) -> list[Path]:
    made = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": WIDTH, "height": HEIGHT})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{url}/accounts/login/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{url}/")

        def take(path: str, name: str) -> None:
            page.goto(f"{url}{path}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(500)  # the 需要处理 block the dashboard loads after the page
            target = DOCS / name
            page.screenshot(path=target, full_page=False)
            made.append(target)

        def first_client() -> str | None:
            links = page.eval_on_selector_all("a[href^='/clients/']", "as => as.map(a => a.getAttribute('href'))")
            return next((href for href in links if href.rstrip("/").split("/")[-1].isdigit()), None)

        take("/attention/", "a-day-attention.png")
        # The client page of the first row of 需要处理 (someone has to act on it today), else the
        # dashboard's first client (the list is sorted by risk).
        client = first_client()
        take("/", "a-day-dashboard.png")
        take(client or first_client() or "/clients/", "a-day-client.png")
        browser.close()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--now", default="2026-12-10T10:30", help="the demo's moment (YYYY-MM-DDTHH:MM, Shanghai)")
    parser.add_argument("--user", default="admin", help="who signs in (a demo login)")
    options = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="qk-shots-", dir="/tmp"))
    var_dir.chmod(0o711)  # as root the embedded PostgreSQL runs as its own user, who must pass through
    log = var_dir / "demo.out"
    port = free_port()
    argv = [sys.executable, "manage.py", "demo", "--now", options.now, "--addr", f"127.0.0.1:{port}"]
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            argv, cwd=ROOT, env=demo_env(var_dir), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until(lambda: "Ctrl-C" in log.read_text(errors="replace") or demo.poll() is not None, 300, "the demo")
        if demo.poll() is not None:
            raise SystemExit(log.read_text(errors="replace"))
        url = f"http://127.0.0.1:{port}"
        # the agent online and the first sweep done: /healthz answers 200
        wait_until(lambda: httpx.get(f"{url}/healthz", timeout=5).status_code == 200, 120, "the agent and sweep")
        time.sleep(5)  # a heartbeat or two: the devices present
        for path in shoot(url, options.user):
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
