"""scripts/check_layers.py, the floor plan's check in `make lint`, sees imports that run up or
sideways, lazy ones included, and lets those that run down pass; the plan's picture and its
documented order are the ones it checks."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import check_layers  # noqa: E402
import draw_floors  # noqa: E402


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


def test_the_picture_is_drawn_from_the_floors_the_check_holds():
    assert (ROOT / "docs" / "floors.svg").read_text(encoding="utf-8") == draw_floors.svg(), (
        "run: .venv/bin/python scripts/draw_floors.py > docs/floors.svg"
    )


def test_the_documented_order_is_the_checked_one():
    """docs/architecture.md's plan lists each floor's apps, top floor first, as FLOORS does."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    plan = text.split("```")[1]
    documented = [re.findall(r"[a-z_]+", line.split("  ")[1]) for line in re.findall(r"^ *\d+ .*$", plan, re.M)]
    assert documented == [list(apps) for apps, _holds in reversed(check_layers.FLOORS)]
