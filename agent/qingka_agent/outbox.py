"""Job results on disk until the site has them: written before the first send, so a result
survives a crash, a kill or a site outage.

flush() sends what is due, oldest first, many entries per call (the agent's sender thread flushes
as soon as a result is stored, and again after each heartbeat). One entry never holds up the
others: an entry the site fails on (a 5xx or a refusal of its body) waits longer after each try,
and after MAX_TRIES it is parked: kept on disk, logged, reported in every heartbeat, and no longer
sent. When the site fails on a whole call, its entries are sent again one by one, so that the one
to blame is found. Only a site that cannot be reached at all stops a flush.

A result too big for one call is stored as its pages (qingka_agent.paging), one entry each: each
page is sent, retried and parked on its own, and the site takes them in any order."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .client import NotClaimable, NotFound, ServerError, SiteClient, SiteError, SiteUnreachable, Unauthorised

log = logging.getLogger(__name__)
MAX_TRIES = 8
BATCH_ENTRIES = 100  # the site's limit per call
BATCH_BYTES = 1_000_000  # well below the size of a request the site reads (2.5 MB); a bigger entry goes alone


# page: 0 for a whole result, else its number (a result stored as pages, qingka_agent.paging)
TABLE = (
    "CREATE TABLE IF NOT EXISTS {name} ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, page INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL,"
    " tries INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0, parked INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (job_id, attempt, page))"
)


def backoff(tries: int) -> float:
    """Seconds before the next try of an entry the site failed on `tries` times."""
    return min(300.0, 2.0**tries)


class Outbox:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread, kept open
        self._flushing = threading.Lock()  # one flush at a time: no entry is sent twice at once
        # One writing thread at a time. The others wait on this lock, which wakes them as soon as
        # it is free, and not in SQLite's busy handler, which sleeps 1 to 100 ms between tries.
        self._writing = threading.Lock()
        self._storing: list[tuple[int, int, int, str]] = []  # handed to put() and not yet written
        self._storing_guard = threading.Lock()
        with self._transaction() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(TABLE.format(name="results"))
            columns = {row[1] for row in db.execute("PRAGMA table_info(results)")}
            if "page" not in columns:  # an outbox written before pages: one entry per (job, attempt)
                for name, kind in (("tries", "INTEGER"), ("next_try", "REAL"), ("parked", "INTEGER")):
                    if name not in columns:  # written before these too
                        db.execute(f"ALTER TABLE results ADD COLUMN {name} {kind} NOT NULL DEFAULT 0")
                db.execute(TABLE.format(name="results_paged"))
                db.execute(
                    "INSERT INTO results_paged (seq, job_id, attempt, body, tries, next_try, parked)"
                    " SELECT seq, job_id, attempt, body, tries, next_try, parked FROM results"
                )
                db.execute("DROP TABLE results")
                db.execute("ALTER TABLE results_paged RENAME TO results")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA synchronous=FULL")
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction of this thread's connection, committed (and synced) on leaving."""
        with self._writing:
            db = self._db()
            with db:
                yield db

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._db().execute(sql, params).fetchall()

    def _write(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._transaction() as db:
            return db.execute(sql, params).fetchall()

    def put(self, job_id: int, attempt: int, *results: dict[str, Any]) -> None:
        """Store a result, or all the pages of one, on disk when this returns; a second one for the
        same (job, attempt, page) is ignored. Results put at the same moment share one commit, and so
        one sync of the disk: the thread that gets to write first writes every result waiting then."""
        rows = [(job_id, attempt, r.get("page", 0), json.dumps(r, ensure_ascii=False)) for r in results]
        with self._storing_guard:
            self._storing.extend(rows)
        with self._writing:
            with self._storing_guard:
                rows, self._storing = self._storing, []
            if not rows:  # the thread that wrote before this one took this result and committed it
                return
            try:
                db = self._db()
                with db:
                    db.executemany(
                        "INSERT OR IGNORE INTO results (job_id, attempt, page, body) VALUES (?, ?, ?, ?)", rows
                    )
            except BaseException:  # not written, or not committed: the next writer tries them again
                with self._storing_guard:
                    self._storing[:0] = rows
                raise

    def pending(self) -> list[tuple[int, int, dict[str, Any]]]:
        """Entries still to be sent (not parked), oldest first."""
        rows = self._read("SELECT job_id, attempt, body FROM results WHERE parked = 0 ORDER BY seq")
        return [(job_id, attempt, json.loads(body)) for job_id, attempt, body in rows]

    def parked(self) -> list[int]:
        rows = self._read("SELECT job_id FROM results WHERE parked = 1 GROUP BY job_id ORDER BY min(seq)")
        return [job_id for (job_id,) in rows]

    def waiting(self) -> set[int]:
        """Jobs whose result waits here: the heartbeat keeps their leases running meanwhile."""
        return {job_id for (job_id,) in self._read("SELECT job_id FROM results WHERE parked = 0")}

    def flush(self, client: SiteClient) -> int:
        """Sends every entry that is due, oldest first; returns how many left the outbox."""
        done = 0
        with self._flushing:
            while batch := self._due():
                sent = self._send(client, batch)
                if sent is None:  # the site cannot be reached: the next flush tries again
                    break
                done += sent
        return done

    def _due(self) -> list[tuple[int, int, int, str]]:
        """The next batch: oldest first, at most BATCH_ENTRIES and BATCH_BYTES (a bigger entry goes
        alone), and one entry per job (the site answers per job: one page of a job per call)."""
        rows = self._read(
            "SELECT seq, job_id, attempt, body FROM results WHERE parked = 0 AND next_try <= ? ORDER BY seq LIMIT ?",
            (self.clock(), BATCH_ENTRIES),
        )
        size, jobs = 0, set()
        for count, (_, job_id, _, body) in enumerate(rows):
            size += len(body)
            if count and (size > BATCH_BYTES or job_id in jobs):
                return rows[:count]
            jobs.add(job_id)
        return rows

    def _send(self, client: SiteClient, batch: list[tuple[int, int, int, str]]) -> int | None:
        """Sends one batch; returns how many entries left the outbox, None when the site is down.
        Every entry of the batch leaves the outbox or waits its back-off."""
        failed: SiteError | None = None
        try:
            answers = client.results([(job_id, json.loads(body)) for _, job_id, _, body in batch])
        except ServerError as exc:  # the site is up and failed on this call: a SiteUnreachable, yet not down
            failed = exc
        except (SiteUnreachable, Unauthorised) as exc:
            log.warning("%s results kept in the outbox: %s", len(batch), exc)
            return None
        except SiteError as exc:
            failed = exc
        if failed is not None:
            if len(batch) > 1:  # the site failed on the call, not on an entry: each goes again alone
                sent = [self._send(client, [entry]) for entry in batch]
                return None if None in sent else sum(n or 0 for n in sent)
            answers = {batch[0][1]: failed}
        done = []
        for seq, job_id, attempt, _ in batch:
            error = answers.get(job_id, SiteError("the site's answer left this result out"))
            if isinstance(error, (NotClaimable, NotFound)):
                log.warning("job %s attempt %s: result refused by the site (%s), dropped", job_id, attempt, error)
            elif error is not None:
                self._later(seq, job_id, attempt, error)
                continue
            else:
                log.info("job %s attempt %s: result delivered", job_id, attempt)
            done.append((seq,))
        with self._transaction() as db:
            db.executemany("DELETE FROM results WHERE seq = ?", done)
        return len(done)

    def _later(self, seq: int, job_id: int, attempt: int, error: Exception) -> None:
        (tries,) = self._write("UPDATE results SET tries = tries + 1 WHERE seq = ? RETURNING tries", (seq,))[0]
        if tries >= MAX_TRIES:
            self._write("UPDATE results SET parked = 1 WHERE seq = ?", (seq,))
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
        self._write("UPDATE results SET next_try = ? WHERE seq = ?", (self.clock() + wait, seq))
        log.warning(
            "job %s attempt %s: result kept, the site failed on it (%s); next try in %.0fs",
            job_id,
            attempt,
            error,
            wait,
        )
