"""Scan and restore an SQLite payload: into a new file, in one transaction, or not at all.

The scan (``dbplay template verify``, no file written) checks each statement's words
(:func:`~.safety.check_statement`) and then lets SQLite compile it, under the
:class:`~.safety.Guard` authorizer, on a throwaway in-memory database: ``CREATE``
statements (except ``CREATE ... AS SELECT``) are run there, so later statements compile
against the schema; every other statement is only compiled (``EXPLAIN``), never run.

A restore writes a new file next to the target (``.<name>.restoring-<hex>.part``), plays
every statement with the same two checks in one transaction, commits, and only then moves
the file into place (``os.link``, which never replaces a file that appeared meanwhile; an
existing empty target is replaced). Any failure deletes what it wrote; a kill leaves the
file noted (:func:`~dbplay_desktop.atomic_file.noted_while_written`), so the next start
removes it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from dbplay_desktop.app_dirs import PRIVATE_FILE_MODE
from dbplay_desktop.atomic_file import noted_while_written
from dbplay_desktop.engines.base import (
    Finding,
    PayloadSource,
    ProgressCallback,
    RestoreError,
    UnsafeContent,
)
from dbplay_desktop.engines.sqlite.safety import SKIPPED, Guard, check_statement, first_word, harden
from dbplay_desktop.engines.sqlite.script import PayloadStatement, read_statements

#: A restore statement may run this long (seconds) unless DBPLAY_STATEMENT_TIMEOUT says.
DEFAULT_RESTORE_TIMEOUT = 600.0
_PROGRESS_OPS = 10_000
#: A restored file may be this many times its payload's size (plus the slack, in bytes):
#: indexes and page overhead, never a payload that fills the disk.
SIZE_FACTOR = 4
SIZE_SLACK = 64 << 20


def _payload(
    source: PayloadSource, progress: ProgressCallback | None, what: str
) -> Iterator[tuple[str, PayloadStatement]]:
    """Every statement of every payload file, with progress in bytes and cancel."""
    paths = list(source.paths())
    sizes = [source.size(path) for path in paths]
    total = sum(s for s in sizes if s is not None) if None not in sizes else None
    done = 0
    if isinstance(progress, _Tracker):
        progress.last = (0, total)
    for path, size in zip(paths, sizes, strict=True):
        if not path.endswith(".sql"):
            raise UnsafeContent(f"{path}: not an SQL payload file")
        with source.open(path) as stream:
            try:
                for statement in read_statements(stream):
                    if progress is not None:
                        here = (done + _tell(stream), total)
                        if isinstance(progress, _Tracker):
                            progress.last = here
                        if progress(*here):
                            raise RestoreError(f"{what} cancelled")
                    yield path, statement
            except UnicodeDecodeError as exc:
                raise UnsafeContent(f"{path}: not UTF-8 text ({exc.reason})") from None
        done += size or 0
    if progress is not None:
        progress(done, total)


def _tell(stream: object) -> int:
    try:
        return int(stream.tell())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return 0


def scan_payload(source: PayloadSource, progress: ProgressCallback | None = None) -> list[Finding]:
    """The findings of the static scan; an empty list means nothing was refused."""
    findings: list[Finding] = []
    guard = Guard()
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        harden(conn)
        conn.set_authorizer(guard)
        conn.set_progress_handler(lambda: 1, 1_000_000)  # compiling never takes that long
        try:
            for path, statement in _payload(source, progress, "scan"):
                reason = _check(conn, guard, statement.text)
                if reason:
                    findings.append(Finding(path, statement.line, reason, statement.text))
        except UnsafeContent as exc:
            findings.append(Finding(exc.message.split(":", 1)[0], 0,
                                    exc.message.split(": ", 1)[-1]))
    finally:
        conn.close()
    return findings


def _check(conn: sqlite3.Connection, guard: Guard, text: str) -> str | None:
    reason = check_statement(text)
    if reason or first_word(text) in SKIPPED:
        return reason
    guard.denied.clear()
    runs = first_word(text) == "CREATE" and not _creates_as_select(text)
    try:
        conn.execute(text if runs else f"EXPLAIN {text}")
    except (sqlite3.Warning, sqlite3.ProgrammingError) as exc:
        if "one statement" in str(exc):
            return "more than one statement where dbplay reads one"
        return guard.reason() if guard.denied else None
    except sqlite3.DatabaseError:
        if guard.denied:
            return guard.reason()
    return None


def _creates_as_select(text: str) -> bool:
    """``CREATE TABLE ... AS SELECT`` (it would run the query): only compiled in a scan."""
    from dbplay_desktop.engines.sqlite.safety import lex

    depth = 0
    for token in lex(text):
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif token == "as" and depth == 0:
            return True
    return False


def restore_file(
    source: PayloadSource,
    target: Path,
    progress: ProgressCallback | None = None,
    *,
    timeout: float | None = DEFAULT_RESTORE_TIMEOUT,
) -> None:
    """Restore ``source`` into the new file ``target`` (missing, or empty); all or nothing."""
    if target.exists() and (not target.is_file() or target.stat().st_size > 0):
        raise RestoreError(f"{target} already exists and is not empty; dbplay never "
                           "restores into a database that holds data")
    temp = target.with_name(f".{target.name}.restoring-{secrets.token_hex(4)}.part")
    with noted_while_written(temp):
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        os.close(fd)
        try:
            _play(source, temp, progress, timeout)
            _move_into_place(temp, target)
        except BaseException:
            _remove(temp)
            raise


def _play(
    source: PayloadSource, path: Path, progress: ProgressCallback | None, timeout: float | None
) -> None:
    guard = Guard(transactions=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    deadline = [float("inf")]
    asked = [time.monotonic()]
    cancelled = [False]
    tracker = _Tracker(progress) if progress is not None else None

    def watchdog() -> int:
        now = time.monotonic()
        if tracker is not None and now - asked[0] > 0.25:
            asked[0] = now
            cancelled[0] = cancelled[0] or tracker.ask()
        return 1 if cancelled[0] or now > deadline[0] else 0

    try:
        harden(conn)
        _cap_size(conn, source)
        conn.execute("BEGIN IMMEDIATE")
        conn.set_progress_handler(watchdog, _PROGRESS_OPS)
        conn.set_authorizer(guard)
        guard.transactions = False
        for path_name, statement in _payload(source, tracker, "restore"):
            where = f"{path_name}:{statement.line}"
            reason = check_statement(statement.text)
            if reason:
                raise UnsafeContent(f"{where}: refused: {reason}", line=statement.line)
            if first_word(statement.text) in SKIPPED:
                continue
            guard.denied.clear()
            deadline[0] = time.monotonic() + timeout if timeout else float("inf")
            try:
                conn.execute(statement.text).fetchall()
            except sqlite3.Error as exc:
                if cancelled[0]:
                    raise RestoreError("restore cancelled") from None
                if guard.denied:
                    raise UnsafeContent(f"{where}: refused: {guard.reason()}",
                                        line=statement.line) from None
                if deadline[0] < time.monotonic():
                    raise RestoreError(f"{where}: the statement ran longer than {timeout:g} s",
                                       line=statement.line) from None
                raise RestoreError(f"{where}: {exc}", line=statement.line) from None
        guard.transactions = True
        conn.set_authorizer(None)
        conn.set_progress_handler(None, 0)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise RestoreError(f"restore failed: {exc}") from None
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def _cap_size(conn: sqlite3.Connection, source: PayloadSource) -> None:
    """Keep a payload from filling the disk: the file may grow to a multiple of its text.

    ``max_page_count`` holds for this connection only; a playground session is not capped.
    """
    sizes = [source.size(path) for path in source.paths()]
    if None in sizes:
        return
    limit = SIZE_FACTOR * sum(s for s in sizes if s is not None) + SIZE_SLACK
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {max(16, limit // page_size)}")


class _Tracker:
    """The caller's progress callback, remembering the last position for the watchdog."""

    def __init__(self, progress: ProgressCallback) -> None:
        self.progress = progress
        self.last: tuple[int, int | None] = (0, None)

    def __call__(self, done: int, total: int | None) -> bool:
        return bool(self.progress(done, total))

    def ask(self) -> bool:
        """Whether the caller asks to stop, at the last known position."""
        return bool(self.progress(*self.last))


def _move_into_place(temp: Path, target: Path) -> None:
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    if target.exists():
        os.replace(temp, target)  # checked empty above
    else:
        try:
            os.link(temp, target)
        except FileExistsError:
            raise RestoreError(f"{target} appeared during the restore; it was left alone") \
                from None
        except OSError:
            os.rename(temp, target)  # no hard links on this file system
            return
        _remove(temp)


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
