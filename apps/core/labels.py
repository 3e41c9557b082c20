"""The Chinese label of a code a person can see. Pages and spreadsheets show the label; the API
keeps the code. Each app labels its own codes (apps/jobs/labels.py, apps/notifications/labels.py)
with this helper, and an unknown code still reads as words (未知…), never as the bare code alone."""


def choice_label(choices, code) -> str | None:
    """`code`'s label among `choices` (a Django Choices class); None when it is not one of them."""
    return str(choices(code).label) if code in choices.values else None
