from decimal import Decimal, InvalidOperation

from django import template

from apps.core import clock

register = template.Library()


@register.filter
def yuan(value):
    """¥1,234,567.89 — amounts with the yuan sign and thousands separators; empty stays empty."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return value
    return f"¥{amount:,.2f}"


@register.filter
def days_until(day):
    """Whole days from today (Asia/Shanghai) to `day`; negative once it has passed."""
    if not day:
        return ""
    return (day - clock.today()).days
