"""The firm's month-end in a real browser: headless Debian Chromium driven by Playwright against
the live site, its rq sweeper and a simulated agent in its own process; then the device page,
the 征期 calendar and the burn-down chart of the same month."""

import calendar
import re

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.core.months import add_months, format_month, month_start
from apps.filing_calendar.models import FilingDeadline, Source
from apps.periods.models import Period
from tests.e2e.conftest import device_spec, register_clients, stack  # noqa: F401  (the stack fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def login(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.fixture
def firm(stack):  # noqa: F811
    """Staff, four clients on a simulated cabinet, the working period with its returns filed and
    a deadline at the end of this month, whatever day the test runs."""
    today = timezone.localdate()
    this_month = month_start(today)
    month = add_months(this_month, -1)
    deadline = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    FilingDeadline.objects.update_or_create(month=this_month, defaults={"deadline": deadline, "source": Source.ADMIN})
    make = User.objects.create_user
    staff = {
        "admin": make("boss", password="pw-boss-1", role=User.Role.ADMIN, display_name="王主管"),
        "owner": make("li", password="pw-li-1", role=User.Role.ACCOUNTANT, display_name="李会计"),
        "colleague": make("zhang", password="pw-zhang-1", role=User.Role.ACCOUNTANT, display_name="张会计"),
    }
    specs = [device_spec(60 + n, kind=("tax_disk", "ukey")[n % 2]) for n in range(4)]
    devices = register_clients([{**spec, "name": f"浏览器客户{n}有限公司"} for n, spec in enumerate(specs)])
    for n, device in enumerate(devices):
        device.client.staff = staff["colleague"] if n == 3 else staff["owner"]
        device.client.save()
        Period.objects.create(client=device.client, month=month, deadline=deadline, return_filed_on=today)
    cabinet = stack.cabinet("cabinet-ui", specs, deadlines={format_month(this_month): deadline.isoformat()})
    cabinet.start_agent(expect_devices=4)
    return {"staff": staff, "clients": [d.client for d in devices], "month": month, "cabinet": cabinet}


def test_month_end_in_the_browser(firm, stack, new_page, shot):  # noqa: F811
    page, base = new_page(), stack.site_url
    page.on("dialog", lambda dialog: dialog.accept())  # every action asks for confirmation

    login(page, base, "boss", "pw-boss-1")
    for client in firm["clients"]:
        assert page.get_by_role("link", name=client.name).is_visible()
    shot(page, "dashboard")

    page.click("header nav >> text=批量清卡")
    page.fill("input[name=month]", format_month(firm["month"]))
    page.select_option("select[name=kind]", "upload_and_clear")
    page.fill("input[name=per_agent_per_minute]", "60")
    page.click("form.batch-form button[type=submit]")
    assert page.locator("table.batch-chosen tbody tr").count() == 4
    shot(page, "bulk-preview")
    page.click("#preview form button[type=submit]")
    page.wait_for_url(re.compile(r"/bulk/\d+/$"))
    page.wait_for_selector("text=（100%）", timeout=120_000)
    assert page.locator('.count[data-state="succeeded"]').inner_text() == "4"
    shot(page, "bulk-progress-done")

    page.goto(f"{base}/?month={format_month(firm['month'])}")
    assert page.locator('#live a.bar[data-key="done"] .count').inner_text() == "4"
    for client in firm["clients"]:  # each row: the period and its device both 已完成
        assert page.locator(f'tr[data-client="{client.pk}"] .badge.status-done').count() == 2
    shot(page, "dashboard-done")

    client = firm["clients"][0]
    page.get_by_role("link", name=client.name).first.click()
    page.wait_for_url(f"{base}/clients/{client.pk}/")
    page.click("text=生成分享链接")
    share_url = page.locator("input.share-url").first.input_value()
    shot(page, "client")

    page.click(f"text={client.devices.get().number}")  # the device page: readings before and after the clear
    page.wait_for_url(re.compile(r"/devices/\d+/$"))
    assert page.locator("table.readings tbody tr").count() >= 2
    assert page.locator("table.jobs tbody tr").count() >= 1
    shot(page, "device")

    page.click("header nav >> text=征期日历")
    assert page.locator("table.month-grid td.is-deadline").count() == 1
    assert page.locator("td.is-deadline .badge").inner_text() == "管理员录入"
    shot(page, "calendar")

    page.click("header nav >> text=图表")
    page.wait_for_selector('#burn-down canvas[data-drawn="true"]')
    assert page.locator("#burn-down table.chart-numbers tbody tr").count() == 31
    shot(page, "charts")

    public = new_page()  # logged out
    assert public.goto(share_url).status == 200
    body = public.inner_text("main")
    assert client.name in body and "已完成" in body
    assert "李会计" not in body and "王主管" not in body
    shot(public, "share-link")

    accountant = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)  # a phone
    login(accountant, base, "li", "pw-li-1")
    assert accountant.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        "the page scrolls sideways"
    )
    shot(accountant, "phone-dashboard")
    assert accountant.goto(f"{base}/clients/{firm['clients'][3].pk}/").status == 404
    shot(accountant, "colleague-client-404")
    assert accountant.goto(f"{base}/clients/{client.pk}/").status == 200
