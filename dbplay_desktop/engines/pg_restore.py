"""Running a scanned plain-SQL payload into a sandbox, as one transaction.

The engine scans a payload (:mod:`pg_safety`) and prepares the target database; this
module then plays the script: statements, ``COPY ... FROM stdin`` blocks with their data,
and the psql meta-commands pg_dump writes. It logs in as the sandbox's own unprivileged
role, so the restore can do no more than the owner of that one database. Either the
whole payload lands or nothing does: ``BEGIN``/``COMMIT`` in the payload are skipped and
any failure rolls everything back.

The server must read each statement exactly as the safety scan did. So every item is
scanned again right before it runs (the file is read a second time, and may have changed
since); statements go through the extended protocol, which runs one statement and never
a second one hidden behind a lexing difference; ``standard_conforming_strings`` is pinned
on and watched, since a template that turns it off at run time (dynamic SQL) would make
the server read quotes differently from the scan. Before the commit, the database's own
settings, comment and flags are compared with what they were: its owner could change
them with dynamic SQL, and they outlive the restore.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import psycopg

from dbplay_desktop.engines.base import PayloadSource, ProgressCallback, RestoreError
from dbplay_desktop.engines.pg_errors import connection_error, error_message
from dbplay_desktop.engines.pg_safety_rules import is_skipped_meta


def run_payload(
    info: dict[str, Any], source: PayloadSource, progress: ProgressCallback | None = None
) -> None:
    """Run every payload file of ``source`` on the connection ``info``, then commit.

    ``progress`` hears bytes read so far (and the total when every file's size is
    known); returning True stops the restore. Raises :class:`RestoreError` naming the
    payload file and line of a failing statement; nothing is committed then.
    """
    from dbplay_desktop.engines.pg_script_reader import read_script

    try:
        conn = psycopg.connect(**_pinned(info), autocommit=False, application_name="dbplay restore")
    except psycopg.Error as exc:
        raise connection_error(exc, info) from exc
    conn.prepare_threshold = None
    paths = list(source.paths())
    sizes = [source.size(path) for path in paths]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    done_before = 0
    watchdog = _Watchdog(conn, progress, total)
    try:
        with conn.cursor() as cur:
            before = _database_state(cur)
            for path, size in zip(paths, sizes, strict=False):
                with source.open(path) as raw:
                    stream = _CountingReader(raw)
                    for item in read_script(stream, path):
                        _refuse_unsafe(item, path)
                        try:
                            with watchdog.watching(done_before + stream.count):
                                _run_item(cur, item)
                        except psycopg.Error as exc:
                            if watchdog.cancelled:
                                raise RestoreError("restore cancelled") from exc
                            raise RestoreError(f"{path}:{item.line}: {error_message(exc)}") from exc
                        _check_lexing(conn, path, item.line)
                        if progress is not None and progress(done_before + stream.count, total):
                            raise RestoreError("restore cancelled")
                done_before += size if size is not None else stream.count
            if _database_state(cur) != before:
                raise RestoreError(
                    "refused: the template changed its database's own settings, comment or "
                    "flags (ALTER DATABASE, COMMENT ON DATABASE, ALTER ROLE ... SET)"
                )
        conn.commit()
    except BaseException:
        try:
            conn.rollback()
        except psycopg.Error:
            pass
        raise
    finally:
        watchdog.stop()
        conn.close()


class _Watchdog:
    """Keeps asking ``progress`` while one long statement or COPY runs, and cancels it.

    Between statements the restore asks ``progress`` itself; a single statement can run
    for minutes (a big COPY, an index build, a hostile ``pg_sleep``), so a thread asks
    every half second meanwhile and, when told to stop, cancels it on the server.
    """

    INTERVAL = 0.5

    def __init__(
        self, conn: psycopg.Connection[Any], progress: ProgressCallback | None, total: int | None
    ) -> None:
        self._conn = conn
        self._progress = progress
        self._total = total
        self._done = 0
        self._busy = threading.Event()
        self._stopped = threading.Event()
        self.cancelled = False
        self._thread: threading.Thread | None = None
        if progress is not None:
            self._thread = threading.Thread(target=self._run, name="dbplay restore watchdog")
            self._thread.daemon = True
            self._thread.start()

    @contextmanager
    def watching(self, done: int) -> Iterator[None]:
        self._done = done
        self._busy.set()
        try:
            yield
        finally:
            self._busy.clear()

    def _run(self) -> None:
        assert self._progress is not None
        while not self._stopped.wait(self.INTERVAL):
            if (
                self._busy.is_set()
                and not self.cancelled
                and self._progress(self._done, self._total)
            ):
                self.cancelled = True
                try:
                    self._conn.cancel_safe(timeout=5.0)
                except (psycopg.Error, OSError):
                    pass

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(2 * self.INTERVAL)


# The server settings the scan's reading of the SQL depends on, as the restore pins them.
_PINNED = {"standard_conforming_strings": "on", "client_encoding": "UTF8"}

# The database-level state a template must leave as it found it. Every name is qualified:
# by the end the template may have changed search_path and made look-alikes.
_STATE_QUERY = """
SELECT d.datistemplate, d.datallowconn, d.datconnlimit, d.datacl::pg_catalog.text,
       pg_catalog.shobj_description(d.oid, 'pg_database'),
       pg_catalog.array_agg(s.setconfig::pg_catalog.text
                            ORDER BY s.setdatabase, s.setrole, s.setconfig::pg_catalog.text)
FROM pg_catalog.pg_database d
LEFT JOIN pg_catalog.pg_db_role_setting s
  ON s.setdatabase OPERATOR(pg_catalog.=) d.oid
  OR s.setrole OPERATOR(pg_catalog.=) (SELECT r.oid FROM pg_catalog.pg_roles r
                                       WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER)
WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
GROUP BY d.oid, d.datistemplate, d.datallowconn, d.datconnlimit, d.datacl::pg_catalog.text
"""


def _pinned(info: dict[str, Any]) -> dict[str, Any]:
    """Connection parameters with the settings the scan assumes set from the start.

    Settings of the server, the database or the role (``ALTER DATABASE ... SET``) could
    otherwise start the session with ``standard_conforming_strings`` off.
    """
    options = " ".join(f"-c {name}={value}" for name, value in _PINNED.items())
    pinned = dict(info)
    pinned["options"] = f"{info['options']} {options}" if info.get("options") else options
    return pinned


def _refuse_unsafe(item: Any, path: str) -> None:
    """Scan an item again right before it runs: the restore runs only what passes."""
    from dbplay_desktop.engines.pg_safety import scan_statement

    if item.kind == "meta":
        if is_skipped_meta(item.text):
            return
        command = item.text.split()[0]
        raise RestoreError(f"{path}:{item.line}: refused: psql meta-command {command}")
    messages = scan_statement(item.text)
    if messages:
        raise RestoreError(f"{path}:{item.line}: refused: {messages[0]}")


def _check_lexing(conn: psycopg.Connection[Any], path: str, line: int) -> None:
    """Stop when a statement changed how the server reads the SQL that follows.

    The server reports these settings with every change (no round trip needed).
    """
    for name, value in _PINNED.items():
        current = conn.info.parameter_status(name)
        if current is not None and current.upper() != value.upper():
            raise RestoreError(
                f"{path}:{line}: refused: the template changed {name} to {current}; "
                "the rest could not be read as the safety scan read it"
            )


def _database_state(cur: psycopg.Cursor[Any]) -> tuple[Any, ...] | None:
    """The sandbox database's flags, access list, comment and per-database settings."""
    row = cur.execute(_STATE_QUERY).fetchone()
    return tuple(row) if row is not None else None


def _run_item(cur: psycopg.Cursor[Any], item: Any) -> None:
    """Execute one item of a plain SQL script: a statement, a COPY with its data, or a meta line."""
    if item.kind == "statement":
        if not _is_transaction_boundary(item.text):
            # binary=True makes psycopg use the extended protocol: exactly one statement.
            cur.execute(item.text, binary=True)
    elif item.kind == "copy":
        with cur.copy(item.text) as copy:
            for chunk in item.data:
                copy.write(chunk)
    elif item.kind == "meta" and not is_skipped_meta(item.text):
        raise RestoreError(f"line {item.line}: psql command {item.text.split()[0]} is not allowed")


def _is_transaction_boundary(text: str) -> bool:
    """BEGIN/START/COMMIT/END in a payload: skipped, the whole restore is one transaction."""
    from pglast import parser

    try:
        tokens = parser.scan(text)
    except Exception:
        return False
    return bool(tokens) and tokens[0].name in ("BEGIN_P", "START", "COMMIT", "END_P")


class _CountingReader:
    """Counts the bytes a reader hands out, for restore progress."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self.count += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def readable(self) -> bool:
        return True
