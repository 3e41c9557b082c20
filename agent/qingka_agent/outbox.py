"""Job results on disk until the site has them: written before the first send, so a result
survives a crash, a kill or a site outage.

Each result is sent on its own, by the thread that produced it, as soon as it is stored; what
could not be sent then is sent again by flush() after each heartbeat. One entry never holds up the
others: an entry the site fails on (a 5xx or a refusal of its body) waits longer after each try,
and after MAX_TRIES it is parked: kept on disk, logged, reported in every heartbeat, and no longer
sent. Only a site that cannot be reached at all stops a flush."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .client import NotClaimable, NotFound, ServerError, SiteClient, SiteError, SiteUnreachable, Unauthorised

log = logging.getLogger(__name__)
MAX_TRIES = 8


def backoff(tries: int) -> float:
    """Seconds before the next try of an entry the site failed on `tries` times."""
    return min(300.0, 2.0**tries)


class Outbox:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread, kept open
        self._sending: set[tuple[int, int]] = set()
        self._guard = threading.Lock()
        db = self._db()
        with db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS results ("
                " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, body TEXT NOT NULL,"
                " UNIQUE (job_id, attempt))"
            )
            columns = {row[1] for row in db.execute("PRAGMA table_info(results)")}
            for name, kind in (("tries", "INTEGER"), ("next_try", "REAL"), ("parked", "INTEGER")):
                if name not in columns:  # an outbox written by an earlier version
                    db.execute(f"ALTER TABLE results ADD COLUMN {name} {kind} NOT NULL DEFAULT 0")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA synchronous=FULL")
        return db

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        db = self._db()
        with db:
            return db.execute(sql, params).fetchall()

    def put(self, job_id: int, attempt: int, result: dict[str, Any]) -> None:
        """Store a result; a second one for the same (job, attempt) is ignored."""
        self._run(
            "INSERT OR IGNORE INTO results (job_id, attempt, body) VALUES (?, ?, ?)",
            (job_id, attempt, json.dumps(result, ensure_ascii=False)),
        )

    def pending(self) -> list[tuple[int, int, dict[str, Any]]]:
        """Entries still to be sent (not parked), oldest first."""
        rows = self._run("SELECT job_id, attempt, body FROM results WHERE parked = 0 ORDER BY seq")
        return [(job_id, attempt, json.loads(body)) for job_id, attempt, body in rows]

    def parked(self) -> list[int]:
        return [job_id for (job_id,) in self._run("SELECT job_id FROM results WHERE parked = 1 ORDER BY seq")]

    def waiting(self) -> set[int]:
        """Jobs whose result waits here: the heartbeat keeps their leases running meanwhile."""
        return {job_id for (job_id,) in self._run("SELECT job_id FROM results WHERE parked = 0")}

    def deliver(self, client: SiteClient, job_id: int, attempt: int) -> bool:
        """Sends this one entry now; True when it left the outbox."""
        rows = self._run("SELECT body FROM results WHERE job_id = ? AND attempt = ? AND parked = 0", (job_id, attempt))
        return bool(rows) and self._send(client, job_id, attempt, json.loads(rows[0][0])) == "done"

    def flush(self, client: SiteClient) -> int:
        """Sends every entry that is due, oldest first; returns how many left the outbox."""
        rows = self._run(
            "SELECT job_id, attempt, body FROM results WHERE parked = 0 AND next_try <= ? ORDER BY seq", (self.clock(),)
        )
        done = 0
        for job_id, attempt, body in rows:
            outcome = self._send(client, job_id, attempt, json.loads(body))
            if outcome == "down":
                break
            done += outcome == "done"
        return done

    def _send(self, client: SiteClient, job_id: int, attempt: int, result: dict[str, Any]) -> str:
        key = (job_id, attempt)
        with self._guard:
            if key in self._sending:  # another thread is sending it now
                return "busy"
            self._sending.add(key)
        try:
            try:
                client.result(job_id, result)
            except (NotClaimable, NotFound) as exc:
                log.warning("job %s attempt %s: result refused by the site (%s), dropped", job_id, attempt, exc)
            except ServerError as exc:
                self._later(job_id, attempt, exc)
                return "later"
            except (SiteUnreachable, Unauthorised) as exc:
                log.warning("job %s attempt %s: result kept in the outbox: %s", job_id, attempt, exc)
                return "down"
            except SiteError as exc:
                self._later(job_id, attempt, exc)
                return "later"
            else:
                log.info("job %s attempt %s: result delivered", job_id, attempt)
            self._run("DELETE FROM results WHERE job_id = ? AND attempt = ?", key)
            return "done"
        finally:
            with self._guard:
                self._sending.discard(key)

    def _later(self, job_id: int, attempt: int, error: Exception) -> None:
        (tries,) = self._run(
            "UPDATE results SET tries = tries + 1 WHERE job_id = ? AND attempt = ? RETURNING tries", (job_id, attempt)
        )[0]
        if tries >= MAX_TRIES:
            self._run("UPDATE results SET parked = 1 WHERE job_id = ? AND attempt = ?", (job_id, attempt))
            log.error(
                "job %s attempt %s: the site failed on this result %s times (%s); parked in the outbox, "
                "reported in every heartbeat, not sent again",
                job_id,
                attempt,
                tries,
                error,
            )
            return
        wait = backoff(tries)
        self._run(
            "UPDATE results SET next_try = ? WHERE job_id = ? AND attempt = ?", (self.clock() + wait, job_id, attempt)
        )
        log.warning(
            "job %s attempt %s: result kept, the site failed on it (%s); next try in %.0fs",
            job_id,
            attempt,
            error,
            wait,
        )
