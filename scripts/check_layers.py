"""The floor plan of apps/ (docs/architecture.md): each app imports only from apps on lower floors,
lazy imports inside functions included. Run by `make lint`; exits 1 on any import that runs up or
sideways, and on an app that stands on no floor.

    .venv/bin/python scripts/check_layers.py
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

APPS = Path(__file__).resolve().parents[1] / "apps"

# Bottom to top, each floor with what it holds; an app may import from the floors below its own,
# never from its own floor's other apps nor from above. docs/architecture.md says why this order,
# and scripts/draw_floors.py draws it (docs/floors.svg).
FLOORS = [
    (("core",), "the clock, months, text, exports, permissions: no app"),
    (("audit",), "the record of every action"),
    (("accounts",), "users, roles, tokens, sign-in"),
    (("clients", "filing_calendar"), "who, and when: the clients and the bureau's deadlines"),
    (("devices",), "the devices, the agents that hold them, their errors"),
    (("periods",), "each client's month, read from its devices"),
    (("holds",), "what stops device work until a person acts"),
    (("jobs",), "device work: the one record of truth"),
    (("invoices",), "what 发票查询 jobs brought back"),
    (("autopilot", "scheduling"), "the passes and batches that make jobs"),
    (("notifications",), "told from the state of everything below"),
    (("operations",), "the sweep that drives them all"),
    (
        ("dashboard", "attention", "reports", "charts", "sharing", "agent_api"),
        "the doors: screens, and the agents' API",
    ),
    (("status_pages",), "the client and device pages, with a client's share links"),
    (("demo",), "the demo firm and its processes"),
]
FLOOR = {app: floor for floor, (apps, _holds) in enumerate(FLOORS) for app in apps}


def imported_apps(path: Path):
    """(line, app) for every `apps.<app>` this file imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "apps" and len(parts) > 1:
                yield node.lineno, parts[1]


def wrong_way(root: Path = APPS) -> dict[tuple[str, str], list[str]]:
    """Every import from an app's own floor or above: (importer, imported) → where."""
    found = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        importer = relative.parts[0]
        if importer not in FLOOR or "migrations" in relative.parts:
            continue
        for line, imported in imported_apps(path):
            if imported != importer and imported in FLOOR and FLOOR[imported] >= FLOOR[importer]:
                found[(importer, imported)].append(f"apps/{relative}:{line}")
    return found


def main() -> int:
    unknown_apps = sorted(p.name for p in APPS.iterdir() if (p / "apps.py").exists() and p.name not in FLOOR)
    found = wrong_way()
    for app in unknown_apps:
        print(f"apps/{app}: on no floor; add it to FLOORS in scripts/check_layers.py and docs/architecture.md")
    for (importer, imported), where in sorted(found.items()):
        print(f"{importer} imports {imported} (floor {FLOOR[imported]} ≥ {FLOOR[importer]}): {', '.join(where)}")
    return 1 if unknown_apps or found else 0


if __name__ == "__main__":
    sys.exit(main())
