"""Watching a restore from a second thread: cancel requests, time and lock ceilings.

Between statements the restore asks its progress callback itself; a single statement can
run for minutes (a big COPY, an index build, a hostile ``pg_sleep``), so this thread asks
meanwhile and cancels it on the server when told to stop. It also holds the ceilings a
template cannot raise, because they are kept by dbplay rather than by settings the
template's own session could change (``SET statement_timeout = 0``):

- a statement may run at most ``statement_timeout`` seconds and wait for a lock at most
  ``lock_timeout`` seconds;
- the restore may hold at most ``max_locks`` locks at once, so it can never fill the
  server's shared lock table and make other databases fail with "out of shared memory".

A statement that ignores the cancel request is terminated from the admin connection and,
if it ignores that too, abandoned: the client side of the connection is shut down so the
restore returns, and the engine drops (or journals) the sandbox.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg

from dbplay_desktop.engines.base import ProgressCallback

#: How often the monitor looks, in seconds.
INTERVAL = 0.25
#: How long a cancelled statement may take to stop before it is terminated, and then
#: before its connection is abandoned.
GRACE = 5.0

_STATE_QUERY = """
SELECT (SELECT count(*) FROM pg_catalog.pg_locks WHERE pid = %(pid)s),
       (SELECT wait_event_type = 'Lock' FROM pg_catalog.pg_stat_activity WHERE pid = %(pid)s)
"""
_CAPACITY_QUERY = """
SELECT pg_catalog.current_setting('max_locks_per_transaction')::int
       * (pg_catalog.current_setting('max_connections')::int
          + pg_catalog.current_setting('max_prepared_transactions')::int)
"""


@dataclass(frozen=True)
class RestoreLimits:
    """Ceilings for one restore; ``None`` means no limit."""

    statement_timeout: float | None = None
    lock_timeout: float | None = 60.0
    max_locks: int | None = None


def lock_ceiling(conn: psycopg.Connection[Any], configured: int | None) -> int:
    """The most locks a restore may hold: ``configured``, else half the server's table."""
    if configured:
        return configured
    row = conn.execute(_CAPACITY_QUERY).fetchone()
    return max(1000, int(row[0]) // 2) if row else 1000


class RestoreMonitor:
    """The watching thread of one restore connection; use :meth:`watching` per step."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        admin: AbstractContextManager[psycopg.Connection[Any]],
        limits: RestoreLimits,
        progress: ProgressCallback | None,
        total: int | None,
    ) -> None:
        self._conn = conn
        self._pid = conn.info.backend_pid
        self._admin_cm = admin
        self._admin: psycopg.Connection[Any] | None = None
        self._limits = limits
        self._progress = progress
        self._total = total
        self._done = 0
        self._busy_since: float | None = None
        self._lock_wait_since: float | None = None
        self._stopping_since: float | None = None
        self._terminated = False
        self._stopped = threading.Event()
        #: Why the restore was stopped: "cancelled" (the user), or a ceiling's message.
        self.reason: str | None = None
        self._admin = self._admin_cm.__enter__()
        self._max_locks = lock_ceiling(self._admin, limits.max_locks)
        self._thread = threading.Thread(target=self._run, name="dbplay restore monitor")
        self._thread.daemon = True
        self._thread.start()

    @property
    def cancelled(self) -> bool:
        return self.reason is not None

    @contextmanager
    def watching(self, done: int) -> Iterator[None]:
        """Around one statement, COPY or the commit: the time it takes is watched."""
        self._done = done
        self._busy_since = time.monotonic()
        try:
            yield
        finally:
            self._busy_since = None
            self._lock_wait_since = None

    def check_now(self) -> None:
        """One look from the calling thread (before the commit: a burst of locks taken
        between two of the thread's looks must not slip through)."""
        if self.reason is None and self._admin is not None:
            with suppress(psycopg.Error, OSError):
                self._look()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(4 * INTERVAL)
        if not self._thread.is_alive():
            with suppress(Exception):
                self._admin_cm.__exit__(None, None, None)

    # -- the thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopped.wait(INTERVAL):
            try:
                self._look()
            except (psycopg.Error, OSError):
                if self._stopped.is_set():
                    return
                # The admin connection broke: keep answering cancel requests at least.
                self._admin = None

    def _look(self) -> None:
        now = time.monotonic()
        busy_since = self._busy_since
        if self.reason is not None:
            if busy_since is not None:
                self._escalate(now)
            return
        cancel = self._progress is not None and busy_since is not None
        if cancel and self._progress(self._done, self._total):  # type: ignore[misc]
            self._stop("cancelled")
            return
        if self._admin is None:
            return
        row = self._admin.execute(_STATE_QUERY, {"pid": self._pid}).fetchone()
        locks, waiting = (int(row[0]), bool(row[1])) if row else (0, False)
        limits = self._limits
        if locks > self._max_locks:
            self._stop(
                f"the template holds more than {self._max_locks:,} locks at once (one per "
                "table, index or sequence it makes in the restore's single transaction); "
                "the server's shared lock table would overflow"
            )
        elif busy_since is None:
            return
        elif limits.statement_timeout and now - busy_since > limits.statement_timeout + 1:
            self._stop(f"a statement ran longer than {limits.statement_timeout:g} s")
        elif waiting and limits.lock_timeout:
            self._lock_wait_since = self._lock_wait_since or now
            if now - self._lock_wait_since > limits.lock_timeout + 1:
                self._stop(f"a statement waited longer than {limits.lock_timeout:g} s for a lock")
        else:
            self._lock_wait_since = None

    def _stop(self, reason: str) -> None:
        self.reason = reason
        self._stopping_since = time.monotonic()
        with suppress(psycopg.Error, OSError):
            self._conn.cancel_safe(timeout=5.0)

    def _escalate(self, now: float) -> None:
        """A cancelled statement that goes on: terminate it, then abandon the connection."""
        assert self._stopping_since is not None
        waited = now - self._stopping_since
        if waited > GRACE and not self._terminated and self._admin is not None:
            self._terminated = True
            with suppress(psycopg.Error, OSError):
                self._admin.execute("SELECT pg_catalog.pg_terminate_backend(%s)", (self._pid,))
        elif waited > 2 * GRACE:
            abandon(self._conn)
            self._stopping_since = now  # once more later, if the shutdown did not take


def abandon(conn: psycopg.Connection[Any]) -> None:
    """Shut the connection's socket down so a thread blocked on it returns with an error.

    The server side notices the closed connection when its statement ends; the sandbox is
    dropped then (the engine journals it until it can be).
    """
    with suppress(OSError, psycopg.Error, ValueError):
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.detach()
