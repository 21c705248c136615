"""Durable job store: one SQLite file in WAL mode (stdlib :mod:`sqlite3`).

What it holds:
    ``jobs``: every accepted job: the request (serialized ``SubmitJobRequest``), its
    principal and request_id (unique together when request_id is non-empty), the SHA-256
    of the request (to tell a repeated request from a different one reusing an id), state,
    attempt count, timestamps of each transition (seconds since the epoch, UTC), and once
    finished the result (serialized ``SolveResponse``) or the error (``google.rpc.Status``).
    ``solves``: responses of ``Solve`` calls that carried a request_id, keyed by
    (principal, request_id), so a retried ``Solve`` returns the stored response.

Durability: each write is its own transaction, committed before the caller goes on (a
job is on disk before ``SubmitJob`` returns). ``synchronous=NORMAL`` in WAL mode: a
committed transaction survives the process being killed (SIGKILL); after a power cut
the last transactions may be lost (set ``synchronous=FULL`` in :class:`JobStore` to
trade speed for that).

Ownership: the server holds an exclusive ``flock`` on the file while it runs, so a
second server on the same store fails at start-up with a clear message instead of
re-queuing the first one's running jobs.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import fcntl
import hashlib
import hmac
import os
import pathlib
import secrets
import sqlite3
import threading
import time

from qopt.errors import QoptError

__all__ = ["JobStore", "JobRecord", "StoreError", "PageTokens", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED",
           "TERMINAL"]

# Values of qopt.v1.JobState (kept equal to the proto enum).
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = 1, 2, 3, 4, 5
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    principal TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    request BLOB NOT NULL,
    backend TEXT NOT NULL,
    problem_name TEXT NOT NULL,
    state INTEGER NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    create_time REAL NOT NULL,
    start_time REAL,
    end_time REAL,
    update_time REAL NOT NULL,
    result BLOB,
    error BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_request_id ON jobs(principal, request_id) WHERE request_id != '';
CREATE INDEX IF NOT EXISTS jobs_principal ON jobs(principal, seq);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS solves (
    principal TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response BLOB NOT NULL,
    create_time REAL NOT NULL,
    PRIMARY KEY (principal, request_id)
);
"""


class StoreError(QoptError, RuntimeError):
    """The store file cannot be used (corrupted, locked, unreadable); the message names
    the path and what to do."""


@dataclasses.dataclass
class JobRecord:
    """One row of ``jobs``. Times are seconds since the epoch (UTC); None when unset."""

    seq: int
    job_id: str
    principal: str
    request_id: str
    request_hash: str
    request: bytes
    backend: str
    problem_name: str
    state: int
    attempt: int
    cancel_requested: bool
    create_time: float
    start_time: float | None
    end_time: float | None
    update_time: float
    result: bytes | None
    error: bytes | None


_COLUMNS = [f.name for f in dataclasses.fields(JobRecord)]
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"
_SUMMARY = _SELECT.replace("result, error", "NULL, error")


def _record(row) -> JobRecord | None:
    if row is None:
        return None
    return _existing(row)


def _existing(row) -> JobRecord:
    rec = JobRecord(*row)
    rec.cancel_requested = bool(rec.cancel_requested)
    return rec


class JobStore:
    """The SQLite job store at ``path`` (``":memory:"`` for a private, non-durable store).

    Args:
        path: database file; its folder is created when missing.
        busy_timeout: seconds to wait for a lock held by another connection.
        synchronous: SQLite ``synchronous`` pragma (``NORMAL`` or ``FULL``).
        exclusive: hold an exclusive ``flock`` on the file (one server per store).

    Raises:
        StoreError: the file is not a database, is corrupted, is locked by another
            process, or cannot be created; the message names the path and what to do.
    """

    def __init__(self, path: str | os.PathLike, *, busy_timeout: float = 2.0, synchronous: str = "NORMAL",
                 exclusive: bool = True):
        self.path = str(path)
        self._lock = threading.RLock()
        self._flock_fd = None
        memory = self.path == ":memory:"
        try:
            if not memory:
                pathlib.Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                if exclusive:
                    self._flock_fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    try:
                        fcntl.flock(self._flock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        os.close(self._flock_fd)
                        self._flock_fd = None
                        raise StoreError(
                            f"job store {self.path} is locked: another qopt server is using it. Stop that "
                            f"server, or give this one its own store with --store PATH.") from None
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False)
        except OSError as exc:
            self._release_flock()
            raise StoreError(f"cannot open job store {self.path}: {exc}. Check the path and its permissions, "
                             f"or choose another with --store PATH.") from None
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if not memory and str(mode).lower() != "wal":
                raise StoreError(f"job store {self.path}: could not switch to WAL mode (got {mode!r})")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            check = self._db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            self._db.execute("BEGIN IMMEDIATE")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(f"job store {self.path} has schema version {row[0]}, newer than this qopt "
                                 f"supports ({SCHEMA_VERSION}); upgrade qopt or use another --store PATH.")
            self._db.execute("COMMIT")
        except StoreError:
            self.close()
            raise
        except sqlite3.OperationalError as exc:
            self.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(f"job store {self.path} is locked by another process ({exc}). Stop the process "
                                 f"holding it (another qopt server or a sqlite3 shell), or use another "
                                 f"--store PATH.") from None
            raise StoreError(f"cannot use job store {self.path}: {exc}. Check the file, or use another "
                             f"--store PATH.") from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"job store {self.path} is corrupted or not a qopt store ({exc}). Move it aside "
                             f"(e.g. mv {self.path} {self.path}.bad; also its -wal and -shm files) to start "
                             f"with an empty store, or restore it from a backup.") from None

    # -- lifecycle ---------------------------------------------------------------------
    def _release_flock(self):
        if self._flock_fd is not None:
            try:
                fcntl.flock(self._flock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._flock_fd)
                self._flock_fd = None

    def close(self) -> None:
        with self._lock:
            db = getattr(self, "_db", None)
            if db is not None:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
                self._db = None  # type: ignore[assignment]  # closed: every later use is a bug
            self._release_flock()

    def _execute(self, sql: str, args=()):
        with self._lock:
            return self._db.execute(sql, args)

    # -- jobs --------------------------------------------------------------------------
    def insert_job(self, *, job_id: str, principal: str, request_id: str, request_hash: str, request: bytes,
                   backend: str, problem_name: str, now: float | None = None) -> tuple[JobRecord, bool]:
        """Persist a new QUEUED job, committed before returning.

        Returns:
            ``(record, created)``: when (principal, request_id) already names a job, that
            job and False; else the new job and True.
        """
        now = time.time() if now is None else now
        with self._lock:
            if request_id:
                existing = self.job_by_request_id(principal, request_id)
                if existing is not None:
                    return existing, False
            self._db.execute(
                "INSERT INTO jobs (job_id, principal, request_id, request_hash, request, backend, problem_name, "
                "state, attempt, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (job_id, principal, request_id, request_hash, request, backend, problem_name, QUEUED, now, now))
            return _existing(self._execute(_SELECT + " WHERE job_id = ?", (job_id,)).fetchone()), True

    def get_job(self, job_id: str, *, principal: str | None = None, with_result: bool = True) -> JobRecord | None:
        """The job, or None when unknown (or owned by another principal when ``principal`` is given)."""
        sql = (_SELECT if with_result else _SUMMARY) + " WHERE job_id = ?"
        args: tuple = (job_id,)
        if principal is not None:
            sql += " AND principal = ?"
            args += (principal,)
        return _record(self._execute(sql, args).fetchone())

    def job_by_request_id(self, principal: str, request_id: str) -> JobRecord | None:
        return _record(self._execute(_SELECT + " WHERE principal = ? AND request_id = ?",
                                     (principal, request_id)).fetchone())

    def list_jobs(self, principal: str | None, *, state: int = 0, before_seq: int | None = None,
                  limit: int = 50) -> list[JobRecord]:
        """Jobs newest first (without result bodies): of ``principal`` (all when None),
        in ``state`` (any when 0), with ``seq < before_seq`` (paging)."""
        sql = _SUMMARY + " WHERE 1=1"
        args: list[str | int] = []
        if principal is not None:
            sql += " AND principal = ?"
            args.append(principal)
        if state:
            sql += " AND state = ?"
            args.append(state)
        if before_seq is not None:
            sql += " AND seq < ?"
            args.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        return [_existing(r) for r in self._execute(sql, args).fetchall()]

    def job_seq(self, job_id: str, principal: str) -> int | None:
        """The listing position (insertion sequence) of ``principal``'s job ``job_id``; None
        when there is no such job (unknown, purged, or another principal's)."""
        row = self._execute("SELECT seq FROM jobs WHERE job_id = ? AND principal = ?", (job_id, principal)).fetchone()
        return None if row is None else int(row[0])

    def queued_job_ids(self) -> list[str]:
        """Ids of QUEUED jobs, oldest first."""
        return [r[0] for r in self._execute("SELECT job_id FROM jobs WHERE state = ? ORDER BY seq",
                                            (QUEUED,)).fetchall()]

    def count_active(self, principal: str) -> int:
        """QUEUED + RUNNING jobs of ``principal``."""
        return self._execute("SELECT COUNT(*) FROM jobs WHERE principal = ? AND state IN (?, ?)",
                             (principal, QUEUED, RUNNING)).fetchone()[0]

    def count_by_state(self) -> dict[int, int]:
        return dict(self._execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())

    def mark_running(self, job_id: str, now: float | None = None) -> JobRecord | None:
        """QUEUED -> RUNNING with attempt + 1. None when the job is no longer QUEUED."""
        now = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute("UPDATE jobs SET state = ?, attempt = attempt + 1, start_time = ?, "
                                   "update_time = ? WHERE job_id = ? AND state = ?",
                                   (RUNNING, now, now, job_id, QUEUED))
            return self.get_job(job_id, with_result=False) if cur.rowcount else None

    def requeue(self, job_id: str, now: float | None = None) -> bool:
        """RUNNING -> QUEUED (a transient failure will be retried)."""
        now = time.time() if now is None else now
        cur = self._execute("UPDATE jobs SET state = ?, update_time = ? WHERE job_id = ? AND state = ?",
                            (QUEUED, now, job_id, RUNNING))
        return cur.rowcount == 1

    def finish(self, job_id: str, state: int, *, result: bytes | None = None, error: bytes | None = None,
               now: float | None = None, from_states=(QUEUED, RUNNING)) -> bool:
        """Move a job to a terminal ``state`` (from one of ``from_states``); False when it
        was not in one of them (e.g. already finished)."""
        assert state in TERMINAL
        now = time.time() if now is None else now
        marks = ",".join("?" * len(from_states))
        cur = self._execute(f"UPDATE jobs SET state = ?, result = ?, error = ?, end_time = ?, update_time = ? "
                            f"WHERE job_id = ? AND state IN ({marks})",
                            (state, result, error, now, now, job_id, *from_states))
        return cur.rowcount == 1

    def request_cancel(self, job_id: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._execute("UPDATE jobs SET cancel_requested = 1, update_time = ? WHERE job_id = ?", (now, job_id))

    def recover(self, max_attempts: int, fail_error: bytes, now: float | None = None) -> tuple[int, int]:
        """After a restart: RUNNING jobs go back to QUEUED, or to FAILED with ``fail_error``
        once they have been started ``max_attempts`` times. Returns ``(requeued, failed)``."""
        now = time.time() if now is None else now
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                failed = self._db.execute(
                    "UPDATE jobs SET state = ?, error = ?, end_time = ?, update_time = ? "
                    "WHERE state = ? AND attempt >= ?", (FAILED, fail_error, now, now, RUNNING, max_attempts)).rowcount
                cancelled = self._db.execute(
                    "UPDATE jobs SET state = ?, end_time = ?, update_time = ? WHERE state = ? AND cancel_requested",
                    (CANCELLED, now, now, RUNNING)).rowcount
                requeued = self._db.execute("UPDATE jobs SET state = ?, update_time = ? WHERE state = ?",
                                            (QUEUED, now, RUNNING)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return requeued, failed + cancelled

    # -- Solve results -----------------------------------------------------------------
    def get_solve(self, principal: str, request_id: str) -> tuple[str, bytes] | None:
        """``(request_hash, response bytes)`` of an earlier Solve, or None."""
        row = self._execute("SELECT request_hash, response FROM solves WHERE principal = ? AND request_id = ?",
                            (principal, request_id)).fetchone()
        return None if row is None else (row[0], row[1])

    def put_solve(self, principal: str, request_id: str, request_hash: str, response: bytes,
                  now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._execute("INSERT OR IGNORE INTO solves VALUES (?, ?, ?, ?, ?)",
                      (principal, request_id, request_hash, response, now))

    # -- retention ---------------------------------------------------------------------
    def cleanup(self, retention_seconds: float, now: float | None = None) -> int:
        """Delete finished jobs and stored Solve responses older than ``retention_seconds``
        (0: keep everything). Returns the number of rows deleted."""
        if retention_seconds <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - retention_seconds
        with self._lock:
            n = self._db.execute("DELETE FROM jobs WHERE state IN (?, ?, ?) AND end_time < ?",
                                 (*sorted(TERMINAL), cutoff)).rowcount
            n += self._db.execute("DELETE FROM solves WHERE create_time < ?", (cutoff,)).rowcount
        return n


class PageTokens:
    """Opaque ``ListJobs`` page tokens, scoped to a principal and a state filter.

    A token is the URL-safe base64 (unpadded) of a version byte (1), the 16 bytes of the
    last listed job's id (the next page lists the jobs created before it) and the first 16
    bytes of an HMAC-SHA256, under a secret drawn when the server starts, of the principal,
    the state filter and that job id. It carries no sequence number, so it says nothing of
    the server's other jobs; any other string, a token of another principal or state
    filter, or of an earlier server process, decodes to None.

    Args:
        secret: the HMAC key (32 random bytes when None).
    """

    VERSION = 1

    def __init__(self, secret: bytes | None = None):
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def _mac(self, principal: str, state: int, job_id: bytes) -> bytes:
        msg = principal.encode("utf-8", "surrogatepass") + b"\0" + str(int(state)).encode() + b"\0" + job_id
        return hmac.new(self._secret, msg, hashlib.sha256).digest()[:16]

    def encode(self, principal: str, state: int, job_id: str) -> str:
        """The token of the page after job ``job_id`` (a 32-hex-digit id) for ``principal``
        listing ``state`` (0: any)."""
        raw = bytes.fromhex(job_id)
        return base64.urlsafe_b64encode(bytes([self.VERSION]) + raw + self._mac(principal, state, raw)).decode().rstrip("=")

    def decode(self, token: str, principal: str, state: int) -> str | None:
        """The job id ``token`` continues after; None when ``token`` is not one this object
        issued for this principal and state filter (in its canonical spelling)."""
        if len(token) != 44 or not token.isascii():
            return None
        try:
            data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(data) != 33 or data[0] != self.VERSION or base64.urlsafe_b64encode(data).decode().rstrip("=") != token:
            return None
        raw, mac = data[1:17], data[17:]
        if not hmac.compare_digest(mac, self._mac(principal, state, raw)):
            return None
        return raw.hex()
