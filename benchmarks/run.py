"""`make bench`: every benchmark in turn, each in its own process and database, then
docs/benchmarks.md and docs/benchmarks.json from what they measured.

    .venv/bin/python benchmarks/run.py              (all)
    .venv/bin/python benchmarks/run.py crunch-1     (one; the documents are rebuilt from the last
                                                     results of the others, kept in var/bench/results)
"""

import json
import subprocess
import sys
import time

from common import BIN, RESULTS, ROOT, machine

RUNS = {
    "dashboard-50": ["dashboard.py", "50"],
    "dashboard-5000": ["dashboard.py", "5000"],
    "dashboard-20000": ["dashboard.py", "20000"],
    "scheduling": ["scheduling.py"],
    "autopilot": ["autopilot.py"],
    "heartbeat": ["heartbeat.py"],
    "pipeline": ["pipeline.py"],
    "agent-calls": ["agent_calls.py"],
    "outbox": ["outbox.py"],
    "memory": ["memory.py"],
    "crunch-1": ["crunch.py", "1"],
    "crunch-2": ["crunch.py", "2"],
    "crunch-4": ["crunch.py", "4"],
    "crunch-cabinet": ["crunch_cabinet.py"],
}


def run(name: str) -> None:
    print(f"== {name} ({machine()})", flush=True)
    start = time.monotonic()
    done = subprocess.run([str(BIN / "python"), *RUNS[name]], cwd=ROOT / "benchmarks")
    outcome = "took" if done.returncode == 0 else f"FAILED (exit {done.returncode}) after"
    print(f"   {name} {outcome} {time.monotonic() - start:.0f} s", flush=True)


def write_documents() -> None:
    rows = []
    for name in RUNS:
        path = RESULTS / f"{name}.json"
        if path.exists():
            rows += json.loads(path.read_text())
    rows.sort(key=lambda row: row["number"])
    public = [
        {k: row[k] for k in ("name", "value", "unit", "target", "met", "what", "size", "machine", "command")}
        for row in rows
    ]
    (ROOT / "docs" / "benchmarks.json").write_text(json.dumps(public, ensure_ascii=False, indent=1) + "\n")
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`benchmarks/run.py`); every figure below is from its last run, with the",
        "command that repeats it alone. PostgreSQL and Redis at 127.0.0.1, the site under gunicorn",
        "(`config/gunicorn.py`), data built by each benchmark in its own database. The machine is shared with",
        "other work: its load at the moment of each figure is in the last column.",
        "",
        "| # | what | size | result | target | met | machine | command |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        value = row["value"]
        shown = (f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}") if isinstance(value, float) else f"{value:,}"
        lines.append(
            f"| {row['number']} | {row['what']} | {row['size']} | {shown} {row['unit']} | {row['target']} | "
            f"{'yes' if row['met'] else '**no**'} | {row['machine']} | `{row['command']}` |"
        )
    lines.append("")
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines))


def main():
    names = sys.argv[1:] or list(RUNS)
    for name in names:
        run(name)
    write_documents()


if __name__ == "__main__":
    main()
