"""The firm's month-end in a real browser: headless Debian Chromium driven by Playwright against
the live site, its rq sweeper and a simulated agent in its own process; then the device page,
the 征期 calendar and the burn-down chart of the same month."""

import datetime as dt
import re

import pytest

from apps.accounts.models import UnlockPolicy, User
from apps.periods.models import Period
from tests.e2e.conftest import device_spec, register_clients, stack  # noqa: F401  (the stack fixture)
from tests.e2e.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def login(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


NOV23 = "2026-11-23T10:00:00+08:00"  # a week after the deadline of October's period (2026-11-16)
OCT, ON_TIME = "2026-10", "2026-11-03"


@pytest.fixture
def firm(stack):  # noqa: F811
    """Staff and five clients on a simulated cabinet a week after October's deadline: one done,
    two stragglers whose devices lock on 11-30 (one filed on time, one filed late), one whose
    device locked on the deadline in a region that unlocks only at the tax hall, and a colleague's
    client whose return is overdue."""
    make = User.objects.create_user
    staff = {
        "admin": make("boss", password="pw-boss-1", role=User.Role.ADMIN, display_name="王主管"),
        "owner": make("li", password="pw-li-1", role=User.Role.ACCOUNTANT, display_name="李会计"),
        "colleague": make("zhang", password="pw-zhang-1", role=User.Role.ACCOUNTANT, display_name="张会计"),
    }
    summarised = {"zxbsrq": ON_TIME}
    clients = {  # name: (device spec, period facts)
        "done": ({**summarised, "kpjzsj": "2026-12-15"}, {"return_filed_on": "2026-11-10", "cleared_at": True}),
        "straggler": ({**summarised, "kpjzsj": "2026-11-30"}, {"return_filed_on": "2026-11-10"}),
        "late_filer": ({**summarised, "kpjzsj": "2026-11-30"}, {"return_filed_on": "2026-11-20"}),
        "locked": ({**summarised, "kpjzsj": "2026-11-16"}, {"return_filed_on": "2026-11-12"}),
        "overdue": ({**summarised, "kpjzsj": "2026-11-30"}, {}),
    }
    specs = [
        device_spec(60 + n, kind=("tax_disk", "ukey")[n % 2], **spec) for n, (spec, _) in enumerate(clients.values())
    ]
    devices = register_clients([{**spec, "name": f"浏览器客户{n}有限公司"} for n, spec in enumerate(specs)])
    made = {}
    moment = dt.datetime.fromisoformat(NOV23)
    for (key, (_spec, facts)), device in zip(clients.items(), devices, strict=True):
        client = device.client
        client.staff = staff["colleague"] if key == "overdue" else staff["owner"]
        if key == "locked":  # a client whose region unlocks only at the tax hall: no online try
            client.unlock_policy = UnlockPolicy.HALL
        client.save()
        Period.objects.create(
            client=client,
            month=dt.date(2026, 10, 1),
            deadline=dt.date(2026, 11, 16),
            summary_uploaded_at=dt.datetime.fromisoformat(f"{ON_TIME}T09:00:00+08:00"),
            return_filed_on=dt.date.fromisoformat(facts["return_filed_on"]) if "return_filed_on" in facts else None,
            cleared_at=moment - dt.timedelta(days=12) if facts.get("cleared_at") else None,
        )
        made[key] = client
    cabinet = stack.cabinet("cabinet-ui", specs, deadlines={"2026-11": "2026-11-16", "2026-12": "2026-12-15"})
    cabinet.start_agent(expect_devices=5)
    return {"staff": staff, "clients": made, "cabinet": cabinet}


@pytest.mark.clock(NOV23)
def test_month_end_in_the_browser(firm, stack, new_page, shot):  # noqa: F811
    page, base = new_page(), stack.site_url
    page.on("dialog", lambda dialog: dialog.accept())  # every action asks for confirmation
    clients = firm["clients"]

    login(page, base, "boss", "pw-boss-1")
    # the working period has rolled over to November; October's stragglers are listed above it
    assert "2026年11月" in page.inner_text("h1") and page.locator("text=尚未开始").count() == 1
    stragglers = page.locator("#stragglers")
    for key, status in (
        ("straggler", "待清卡"),
        ("late_filer", "待清卡"),
        ("locked", "已锁死"),
        ("overdue", "逾期未申报"),
    ):
        assert status in stragglers.locator(f'tr[data-client="{clients[key].pk}"]').inner_text(), key
    assert stragglers.locator(f'tr[data-client="{clients["done"].pk}"]').count() == 0
    shot(page, "dashboard-stragglers")

    # a straggler whose device is not locked is cleared from its page, and the clear counts (late)
    page.get_by_role("link", name=clients["straggler"].name).first.click()
    page.wait_for_url(f"{base}/clients/{clients['straggler'].pk}/")
    assert "上期未完成" in page.inner_text(".card.period")
    page.click("text=立即清卡")
    page.wait_for_selector("text=已发起 1 个“清卡”任务")
    wait_until(lambda: Period.objects.get(client=clients["straggler"]).cleared_at, what="the late clear")
    page.reload()  # October is done, late; the page now waits for November's window
    october = page.inner_text('.timeline [data-month="2026-10"]')
    assert "已完成" in october and "逾期" in october and "未到抄报期" in page.inner_text("h1")
    shot(page, "straggler-cleared")

    # the locked one is refused with the reason, and no job is made
    page.goto(f"{base}/clients/{clients['locked'].pk}/")
    page.click("text=立即清卡")
    page.wait_for_selector("text=设备已锁死，按设置须到大厅")

    # bulk 清卡 of October takes only the straggler that can be cleared, and says why the others are left out
    page.click("header nav >> text=批量清卡")
    page.fill("input[name=month]", OCT)
    page.select_option("select[name=kind]", "clear")
    page.fill("input[name=per_agent_per_minute]", "60")
    page.click("form.batch-form button[type=submit]")
    page.wait_for_selector("table.batch-chosen tbody tr")
    assert page.locator("table.batch-chosen tbody tr").count() == 1
    left_out = page.inner_text("#preview")
    assert "设备已锁死" in left_out and "逾期未申报" in left_out and "本期已完成" in left_out
    shot(page, "bulk-preview")
    page.click("#preview form button[type=submit]")
    page.wait_for_url(re.compile(r"/bulk/\d+/$"))
    page.wait_for_selector("text=（100%）", timeout=120_000)
    assert page.locator('.count[data-state="succeeded"]').inner_text() == "1"
    shot(page, "bulk-progress-done")

    page.goto(f"{base}/?month={OCT}")
    assert page.locator('#live a.bar[data-key="done"] .count').inner_text() == "3"
    assert page.locator('#live a.bar[data-key="late"] .count').inner_text() == "4"
    shot(page, "dashboard-october")

    client = clients["straggler"]
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
    page.wait_for_selector("table.month-grid")
    assert page.locator("table.month-grid td.is-deadline").count() == 1
    assert page.locator("td.is-deadline .badge").inner_text() == "官方公布"  # 2026-11-16, from the published table
    shot(page, "calendar")

    page.click("header nav >> text=图表")
    page.wait_for_selector('#burn-down canvas[data-drawn="true"]')
    assert page.locator("#burn-down table.chart-numbers tbody tr").count() >= 28
    shot(page, "charts")

    page.click("header nav >> text=月结报告")
    page.select_option("select[name=accountant]", index=0)
    page.fill("input[name=month]", "2026-10")
    page.click("form.filters >> text=查看")
    page.wait_for_url(re.compile(r"month=2026-10"))  # count() does not wait: the report asked for, loaded
    assert page.locator(f'table.month-end tr[data-client="{client.pk}"]').count() == 1
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("form.filters").is_visible()
    shot(page, "month-end-report-printed")
    page.emulate_media(media="screen")

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
    assert accountant.goto(f"{base}/clients/{clients['overdue'].pk}/").status == 404
    shot(accountant, "colleague-client-404")
    assert accountant.goto(f"{base}/clients/{client.pk}/").status == 200
