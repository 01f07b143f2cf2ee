"""Query history: every statement batch the user ran, kept in a small SQLite file.

Stored in ``<data dir>/history.sqlite3`` with the standard library's ``sqlite3`` in WAL
mode, so a worker thread can record a run while the UI thread searches. One
:class:`QueryHistory` may be shared by all threads (a lock serialises access). The
newest :data:`DEFAULT_CAP` entries are kept; older ones are dropped as new ones arrive.

History is a convenience: a damaged file is moved aside (``history.sqlite3.damaged``)
and a fresh one started rather than stopping the app.

No Qt here; the panel in :mod:`dbplay_desktop.ui.results.history_panel` shows it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from dbplay_desktop.app_dirs import create_private_file, ensure_private_dir

__all__ = ["DEFAULT_CAP", "HISTORY_FILE", "HistoryEntry", "QueryHistory"]

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite3"
DEFAULT_CAP = 10_000
_MAX_ERROR = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    executed_at TEXT    NOT NULL,
    connection  TEXT    NOT NULL DEFAULT '',
    engine      TEXT    NOT NULL DEFAULT '',
    database    TEXT    NOT NULL DEFAULT '',
    text        TEXT    NOT NULL,
    elapsed_s   REAL    NOT NULL DEFAULT 0,
    ok          INTEGER NOT NULL DEFAULT 1,
    rows        INTEGER NOT NULL DEFAULT -1,
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS history_connection ON history (connection, id);
"""
_COLUMNS = "id, executed_at, connection, engine, database, text, elapsed_s, ok, rows, error"


@dataclass(frozen=True)
class HistoryEntry:
    """One run. ``executed_at`` is a UTC ISO-8601 timestamp; ``rows`` is -1 when unknown."""

    id: int
    executed_at: str
    connection: str
    engine: str
    database: str
    text: str
    elapsed_s: float
    ok: bool
    rows: int
    error: str

    @property
    def first_line(self) -> str:
        """The first non-blank line of the text, for one-line lists."""
        return next((line.strip() for line in self.text.splitlines() if line.strip()), "")

    def executed_at_local(self) -> datetime:
        """``executed_at`` as an aware datetime in the local time zone."""
        moment = datetime.fromisoformat(self.executed_at)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone()


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_ERROR else line[: _MAX_ERROR - 3] + "..."


class QueryHistory:
    """The persisted, searchable list of runs; thread-safe.

    ``path`` defaults to ``<data dir>/history.sqlite3``; ``cap`` is how many of the newest
    entries are kept.
    """

    def __init__(self, path: Path | None = None, cap: int = DEFAULT_CAP) -> None:
        if path is None:
            from dbplay_desktop.app_dirs import data_dir

            path = data_dir() / HISTORY_FILE
        self.path = Path(path)
        self.cap = max(1, cap)
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        ensure_private_dir(self.path.parent)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            damaged = self.path.with_name(self.path.name + ".damaged")
            log.warning("query history %s is damaged (%s); starting a new one", self.path, exc)
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(str(self.path) + suffix)
            os.replace(self.path, damaged)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        # The queries a user ran are theirs alone: 0600 before SQLite creates the file
        # (its -wal and -shm files take the database file's mode).
        create_private_file(self.path)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.commit()
        except sqlite3.DatabaseError:
            db.close()
            raise
        # Python's casefold gives case-insensitive search beyond ASCII (SQLite's lower()
        # only folds A-Z).
        db.create_function("casefold", 1, _casefold, deterministic=True)
        return db

    # -- writing -----------------------------------------------------------------------
    def add(
        self,
        text: str,
        *,
        connection: str = "",
        engine: str = "",
        database: str = "",
        elapsed_s: float = 0.0,
        ok: bool = True,
        rows: int = -1,
        error: str = "",
        executed_at: datetime | None = None,
    ) -> HistoryEntry | None:
        """Record one run and return it (``None`` for blank text, which is not kept).

        ``error`` is reduced to one line. ``executed_at`` defaults to now (UTC).
        """
        if not text.strip():
            return None
        moment = (executed_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        stamp = moment.isoformat(timespec="milliseconds")
        values = (
            stamp, connection, engine, database, text, float(elapsed_s), int(bool(ok)),
            int(rows), _one_line(error) if error else "",
        )
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT INTO history (executed_at, connection, engine, database, text,"
                " elapsed_s, ok, rows, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            entry_id = int(cursor.lastrowid or 0)
            # Keep the newest `cap` entries: everything at or below the cap-th newest id goes.
            self._db.execute(
                "DELETE FROM history WHERE id <= ?",
                (entry_id - self.cap,),
            )
        return HistoryEntry(entry_id, *values[:5], float(elapsed_s), bool(ok), int(rows),
                            values[8])

    def clear(self, connection: str | None = None) -> None:
        """Forget everything (or only the runs on ``connection``)."""
        with self._lock, self._db:
            if connection is None:
                self._db.execute("DELETE FROM history")
            else:
                self._db.execute("DELETE FROM history WHERE connection = ?", (connection,))

    def delete(self, entry_id: int) -> None:
        """Forget one entry."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM history WHERE id = ?", (entry_id,))

    # -- reading -----------------------------------------------------------------------
    def search(
        self, text: str = "", limit: int = 500, connection: str | None = None
    ) -> list[HistoryEntry]:
        """Entries whose text contains ``text`` (any case), newest first, at most ``limit``."""
        where, params = [], []
        needle = text.strip()
        if needle:
            where.append("instr(casefold(text), ?) > 0")
            params.append(needle.casefold())
        if connection is not None:
            where.append("connection = ?")
            params.append(connection)
        sql = f"SELECT {_COLUMNS} FROM history"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(max(0, int(limit)))
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9])
            for r in rows
        ]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM history").fetchone()[0])

    def close(self) -> None:
        """Close the file; safe to call twice."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> QueryHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _casefold(value: object) -> str:
    return value.casefold() if isinstance(value, str) else ""
