"""scripts/check_layers.py, the floor plan's check in `make lint`, sees imports that run up or
sideways, lazy ones included, and lets those that run down pass."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("check_layers", Path(__file__).parents[1] / "scripts" / "check_layers.py")
check_layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_layers)


def test_imports_up_or_sideways_are_found_and_down_pass(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "labels.py").write_text("def label():\n    from apps.jobs.models import JobKind\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "rules.py").write_text("from apps.core import clock\nimport apps.holds.models\n")
    (tmp_path / "jobs" / "migrations").mkdir()
    (tmp_path / "jobs" / "migrations" / "0001.py").write_text("from apps.dashboard import views\n")
    (tmp_path / "clients").mkdir()  # sideways: filing_calendar is on the clients' own floor
    (tmp_path / "clients" / "views.py").write_text("from apps.filing_calendar.models import period_deadline\n")
    assert check_layers.wrong_way(tmp_path) == {
        ("core", "jobs"): ["apps/core/labels.py:2"],
        ("clients", "filing_calendar"): ["apps/clients/views.py:1"],
    }
