"""Job results on disk until the site has them: written before the first send, so a result
survives a crash, a kill or a site outage."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from .client import NotClaimable, NotFound, SiteClient, SiteError, SiteUnreachable, Unauthorised

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._flush_lock = threading.Lock()
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS results ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, body TEXT NOT NULL,"
                " UNIQUE (job_id, attempt))"
            )

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per call: task threads and the heartbeat thread share the file.
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA synchronous=FULL")
        return db

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        db = self._connect()
        try:
            with db:
                return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def put(self, job_id: int, attempt: int, result: dict[str, Any]) -> None:
        """Store a result; a second one for the same (job, attempt) is ignored."""
        self._run(
            "INSERT OR IGNORE INTO results (job_id, attempt, body) VALUES (?, ?, ?)",
            (job_id, attempt, json.dumps(result, ensure_ascii=False)),
        )

    def pending(self) -> list[tuple[int, int, dict[str, Any]]]:
        rows = self._run("SELECT job_id, attempt, body FROM results ORDER BY seq")
        return [(job_id, attempt, json.loads(body)) for job_id, attempt, body in rows]

    def flush(self, client: SiteClient) -> int:
        """Send every pending result in order; returns how many left the outbox."""
        done = 0
        with self._flush_lock:
            for job_id, attempt, result in self.pending():
                try:
                    client.result(job_id, result)
                except (NotClaimable, NotFound) as exc:
                    log.warning("job %s attempt %s: result refused by the site (%s), dropped", job_id, attempt, exc)
                except (SiteUnreachable, Unauthorised) as exc:
                    log.warning("job %s attempt %s: result kept in the outbox: %s", job_id, attempt, exc)
                    break
                except SiteError as exc:
                    log.error("job %s attempt %s: result kept in the outbox: %s", job_id, attempt, exc)
                    continue
                else:
                    log.info("job %s attempt %s: result delivered", job_id, attempt)
                self._run("DELETE FROM results WHERE job_id = ? AND attempt = ?", (job_id, attempt))
                done += 1
        return done
