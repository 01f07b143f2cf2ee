"""Running a plain-SQL payload into a sandbox, as one transaction, scanned as it goes.

The engine prepares the target database and opens the connection (as the sandbox's own
unprivileged role, with :func:`pinned_options`); this module then plays the script:
statements, ``COPY ... FROM stdin`` blocks with their data, and the psql meta-commands
pg_dump writes. Either the whole payload lands or nothing does: ``BEGIN``/``COMMIT`` in
the payload are skipped and any failure rolls everything back.

The server must read each statement exactly as the safety scan did, so every item is
scanned right before it runs (this is the restore's one scan: the file is read once and
cannot change between scan and run); statements go through the extended protocol, which
runs one statement and never a second one hidden behind a lexing difference;
``standard_conforming_strings`` is pinned on and watched, since a template that turns it
off at run time (dynamic SQL) would make the server read quotes differently from the scan.
A :class:`~.pg_restore_monitor.RestoreMonitor` keeps the time and lock ceilings and hears
cancel requests while a statement runs; what a template could do at COMMIT is checked by
the engine afterwards, from the admin connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import IO, Any

import psycopg

from dbplay_desktop.engines.base import (
    PayloadSource,
    ProgressCallback,
    RestoreError,
    UnsafeContent,
)
from dbplay_desktop.engines.postgres.errors import error_message
from dbplay_desktop.engines.postgres.restore_monitor import RestoreLimits, RestoreMonitor
from dbplay_desktop.engines.postgres.safety_rules import is_skipped_meta


def run_payload(
    conn: psycopg.Connection[Any],
    source: PayloadSource,
    progress: ProgressCallback | None = None,
    *,
    admin: AbstractContextManager[psycopg.Connection[Any]],
    limits: RestoreLimits | None = None,
) -> None:
    """Run every payload file of ``source`` on ``conn`` (not in autocommit), then commit.

    ``progress`` hears bytes read so far (and the total when every file's size is
    known); returning True stops the restore. ``admin`` is an admin connection (entered
    here) for the monitor. Raises :class:`RestoreError` naming the payload file and line
    of a failing statement, :class:`UnsafeContent` for one the scan refuses; nothing is
    committed then. Closes ``conn``.
    """
    from dbplay_desktop.engines.postgres.script_reader import read_script

    conn.prepare_threshold = None
    paths = list(source.paths())
    sizes = [source.size(path) for path in paths]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    done_before = 0
    try:
        monitor = RestoreMonitor(conn, admin, limits or RestoreLimits(), progress, total)
    except BaseException:
        conn.close()
        raise
    try:
        with conn.cursor() as cur:
            for path, size in zip(paths, sizes, strict=False):
                if not path.endswith(".sql"):
                    raise UnsafeContent(f"{path}: refused: not an SQL payload file")
                with source.open(path) as raw:
                    stream = _CountingReader(raw)
                    for item in read_script(stream, path):
                        _refuse_unsafe(item, path)
                        try:
                            with monitor.watching(done_before + stream.count):
                                _run_item(cur, item)
                        except psycopg.Error as exc:
                            raise _stopped(monitor, f"{path}:{item.line}", exc) from exc
                        _check_lexing(conn, path, item.line)
                        if monitor.cancelled:
                            raise _stopped(monitor, f"{path}:{item.line}", None)
                        if progress is not None and progress(done_before + stream.count, total):
                            raise RestoreError("restore cancelled")
                done_before += size if size is not None else stream.count
        monitor.check_now()
        if monitor.cancelled:
            raise _stopped(monitor, "before commit", None)
        try:
            with monitor.watching(done_before):
                conn.commit()
        except psycopg.Error as exc:
            # Deferred constraints and triggers run here, inside the commit.
            raise _stopped(monitor, "at commit", exc) from exc
    except BaseException:
        try:
            if not conn.broken:
                conn.rollback()
        except psycopg.Error:
            pass
        raise
    finally:
        monitor.stop()
        conn.close()


def _stopped(monitor: RestoreMonitor, where: str, exc: psycopg.Error | None) -> RestoreError:
    """The error for a statement that failed, or that the monitor stopped."""
    if monitor.reason == "cancelled":
        return RestoreError("restore cancelled")
    if monitor.reason is not None:
        return RestoreError(f"{where}: stopped: {monitor.reason}")
    return RestoreError(f"{where}: {error_message(exc) if exc else 'failed'}")


# The server settings the scan's reading of the SQL depends on, as the restore pins them.
_PINNED = {"standard_conforming_strings": "on", "client_encoding": "UTF8"}


def pinned_options(options: str, limits: RestoreLimits | None = None) -> str:
    """libpq ``options`` with the settings the scan assumes set from the start.

    Settings of the server, the database or the role could otherwise start the session
    with ``standard_conforming_strings`` off. The restore's time limits start as server
    settings too; the monitor keeps them if the template changes them.
    """
    settings = dict(_PINNED)
    if limits is not None and limits.statement_timeout:
        settings["statement_timeout"] = str(max(1, round(limits.statement_timeout * 1000)))
    if limits is not None and limits.lock_timeout:
        settings["lock_timeout"] = str(max(1, round(limits.lock_timeout * 1000)))
    pinned = " ".join(f"-c {name}={value}" for name, value in settings.items())
    return f"{options} {pinned}".strip()


def _refuse_unsafe(item: Any, path: str) -> None:
    """Scan an item again right before it runs: the restore runs only what passes."""
    from dbplay_desktop.engines.postgres.safety import scan_statement

    if item.kind == "meta":
        if is_skipped_meta(item.text):
            return
        command = item.text.split()[0]
        raise UnsafeContent(
            f"{path}:{item.line}: refused: psql meta-command {command} is not allowed",
            line=item.line,
        )
    messages = scan_statement(item.text)
    if messages:
        raise UnsafeContent(f"{path}:{item.line}: refused: {messages[0]}", line=item.line)


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
