"""Issue 30: every code a person can see has a Chinese label (the code itself stays in the API).

Walks every Choices class the site defines, every model field with choices, the jobs error
catalogue, the audit actions, the attention kinds and the admin's app names; fails on a label that
is missing or is the raw code (ASCII only)."""

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from apps.jobs import labels


def _raw(label) -> bool:
    text = str(label or "")
    return not text or text.isascii()


def _every_choices_class():
    import apps as site_apps  # noqa: F401 -- every app's models are loaded by Django

    found = set()
    pending = [models.TextChoices, models.IntegerChoices]
    while pending:
        klass = pending.pop()
        for sub in klass.__subclasses__():
            pending.append(sub)
            if sub.__module__.startswith("apps."):
                found.add(sub)
    return sorted(found, key=lambda k: f"{k.__module__}.{k.__qualname__}")


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_the_walk_finds_the_site_choices():
    names = {k.__qualname__ for k in _every_choices_class()}
    assert {"JobKind", "JobState", "Origin", "Action", "Event", "PeriodStatus", "HoldReason"} <= names


@pytest.mark.parametrize("choices", _every_choices_class(), ids=lambda k: f"{k.__module__}.{k.__qualname__}")
def test_every_choice_has_a_chinese_label(choices):
    raw = [value for value, label in choices.choices if _raw(label)]
    assert not raw, f"{choices.__qualname__}: no Chinese label for {raw}"


def test_every_model_field_with_choices_has_chinese_labels():
    raw = []
    for model in apps.get_models():
        if not model.__module__.startswith("apps."):
            continue
        for field in model._meta.get_fields():
            for value, label in getattr(field, "flatchoices", None) or []:
                if value not in ("", None) and _raw(label):
                    raw.append(f"{model._meta.label}.{field.name}={value!r}")
    assert not raw, raw


def test_every_error_in_the_catalogue_has_a_chinese_message_and_remedy():
    from apps.devices.errors import ERRORS, error_label

    assert ERRORS
    for code, info in ERRORS.items():
        assert not _raw(info.message), code
        assert not _raw(info.remedy), code
        assert error_label(code) == str(info.message)
    assert error_label("SOMETHING_NEW") != "SOMETHING_NEW"


def test_attention_kinds_have_labels():
    from apps.attention.rows import KIND_LABELS, Kind

    codes = [v for k, v in vars(Kind).items() if k.isupper() and isinstance(v, str)]
    assert codes
    for code in codes:
        assert not _raw(KIND_LABELS.get(code)), code


def test_notification_events_read_in_chinese_even_unknown_ones():
    from apps.notifications.labels import event_label
    from apps.notifications.models import Event

    for code in Event.values:
        assert not _raw(event_label(code)), code
    assert "SOMETHING_NEW" in event_label("SOMETHING_NEW") and not _raw(event_label("SOMETHING_NEW"))


@pytest.mark.parametrize("app_label", ["axes", "django_rq", "otp_totp", "otp_static", "auth"])
def test_admin_sections_are_named_in_chinese(app_label):
    if not apps.is_installed(app_label) and app_label not in {a.label for a in apps.get_app_configs()}:
        pytest.skip(f"{app_label} is not installed")
    assert not _raw(apps.get_app_config(app_label).verbose_name), app_label


def test_every_installed_app_has_a_chinese_name():
    raw = [config.label for config in apps.get_app_configs() if _raw(config.verbose_name)]
    assert not raw, raw


def test_job_counts_by_kind_read_in_chinese():
    assert labels.kind_counts({"upload_summary": 75, "upload_and_clear": 21, "read_status": 0}) == [
        (labels.kind_label("upload_summary"), 75),
        (labels.kind_label("upload_and_clear"), 21),
    ]
    assert not _raw(labels.kind_label("upload_summary"))
