"""Demo data: a small bookkeeping firm with its staff, clients, devices and the working period."""

import datetime as dt
import random

from django.db import transaction

from apps.accounts.models import User
from apps.clients.identifiers import credit_check_character, org_code_check_character
from apps.clients.models import Client
from apps.core import clock
from apps.core.months import add_months
from apps.devices.models import Device
from apps.periods.models import Period
from apps.periods.rules import working_month

DEMO_PASSWORD = "qingka-demo"
COMPANY_WORDS = ["华信", "金桥", "宏达", "瑞丰", "中兴", "鼎盛", "恒通", "东方", "嘉禾", "新元", "天成", "博远"]
TRADES = ["科技", "贸易", "餐饮", "建材", "物流", "咨询", "电子", "印务"]


def demo_credit_code(n: int) -> str:
    body = f"MA{n:06X}".replace("I", "J").replace("O", "P")
    first17 = "91320100" + body + org_code_check_character(body)
    return first17 + credit_check_character(first17)


@transaction.atomic
def seed(clients: int = 40) -> dict[str, User]:
    """Idempotent: running it twice changes nothing."""
    rng = random.Random(7)
    staff = {}
    for username, role, name in [
        ("admin", User.Role.ADMIN, "王主管"),
        ("kuaiji1", User.Role.ACCOUNTANT, "李会计"),
        ("kuaiji2", User.Role.ACCOUNTANT, "张会计"),
        ("viewer", User.Role.READONLY, "赵只读"),
    ]:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "display_name": name,
                "is_staff": role == User.Role.ADMIN,
                "is_superuser": role == User.Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        staff[username] = user
    accountants = [staff["kuaiji1"], staff["kuaiji2"]]
    working = working_month(clock.today())
    for n in range(1, clients + 1):
        kind = "general" if n % 3 else "small_scale"
        client, created = Client.objects.get_or_create(
            taxpayer_id=demo_credit_code(n),
            defaults={
                "name": f"南京{rng.choice(COMPANY_WORDS)}{rng.choice(TRADES)}有限公司（演示{n:02d}）",
                "taxpayer_kind": kind,
                "staff": accountants[n % 2],
                "contact_name": "财务",
            },
        )
        if created:
            Device.objects.create(
                client=client, kind=("tax_disk", "ukey", "golden_tax_disk")[n % 3], number=f"66{n:010d}", simulated=True
            )
        for month in (add_months(working, -1), working):
            period = Period.for_client(client, month)
            if month < working and period.cleared_at is None:
                period.summary_uploaded_at = period.cleared_at = clock.now() - dt.timedelta(days=30)
                period.return_filed_on = period.deadline - dt.timedelta(days=3)
                period.save()
    return staff
