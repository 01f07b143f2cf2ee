"""An SQLite session: the user's statements one by one, rows streamed from the cursor.

The connection is in autocommit mode (``isolation_level=None``), like the ``sqlite3``
shell: each statement commits on its own unless the user typed ``BEGIN``. Rows come in
batches of :attr:`batch_size` straight from SQLite's cursor, so a query over millions of
rows shows its first rows at once and costs nothing when abandoned.

``cancel()`` (any thread) calls ``Connection.interrupt()``; a progress handler also stops
a statement that was about to start when cancel came, and one that runs past the timeout.
The schema of a stranger's template cannot reach outside through the user's queries:
``trusted_schema`` is off and an authorizer refuses the functions that load code or
touch files.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    QueryCancelled,
    QueryError,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.engines.sqlite.catalog import load_catalog
from dbplay_desktop.engines.sqlite.safety import DENIED_FUNCTIONS
from dbplay_desktop.engines.sqlite.script import split_sql

_PROGRESS_OPS = 1000
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})


def _verb(text: str) -> str:
    """The statement's command word; for ``WITH ...`` the one after the CTEs."""
    from dbplay_desktop.engines.sqlite.safety import lex

    tokens = lex(text[:4096])
    if not tokens:
        return ""
    if tokens[0] != "with":
        return tokens[0].lstrip("\x00").upper()
    depth = 0
    for token in tokens[1:]:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0 and token.upper() in (*_DML, "SELECT", "VALUES"):
            return token.upper()
    return "WITH"


#: PRAGMAs that do something even without a value (a checkpoint, a vacuum, ...).
_ACTING_PRAGMAS = frozenset({
    "optimize", "wal_checkpoint", "incremental_vacuum", "shrink_memory",
})  # fmt: skip
#: PRAGMAs that take an argument in parentheses only to name what they describe.
_DESCRIBING_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
})  # fmt: skip


def _changes_state(text: str, verb: str) -> bool:
    """Whether a statement may change the database (see ``StatementResult.changes_state``).

    ``sqlite3`` exposes no parser, so this reads the statement's words with the engine's
    own tokenizer (:func:`~.safety.lex`, which skips strings and comments): ``SELECT``,
    ``VALUES``, a ``WITH`` that ends in a ``SELECT``, ``EXPLAIN`` (which never runs its
    statement) and a ``PRAGMA`` that only reads do not; everything else does.
    """
    if verb in ("SELECT", "VALUES", "EXPLAIN"):
        return False
    if verb != "PRAGMA":
        return True
    from dbplay_desktop.engines.sqlite.safety import lex

    words = lex(text[:4096])[1:]
    if len(words) >= 2 and words[1] == ".":  # PRAGMA schema.name
        words = words[2:]
    if not words:
        return True
    name, rest = words[0].lstrip("\x00"), words[1:]
    if name in _ACTING_PRAGMAS or "=" in rest:
        return True
    if rest and rest[0] == "(":  # PRAGMA name(value) sets, unless it names a table
        return name not in _DESCRIBING_PRAGMAS
    return False


def _session_guard(action: int, arg1: Any, arg2: Any, db: Any, source: Any) -> int:
    """Refuse the functions that load code or read and write files, wherever they are."""
    if action == sqlite3.SQLITE_FUNCTION and str(arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def connect_file(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection to an existing file (never creates one: a typo is an error)."""
    from urllib.parse import quote

    mode = "ro" if read_only else "rw"
    conn = sqlite3.connect(
        f"file:{quote(path)}?mode={mode}", uri=True, isolation_level=None,
        check_same_thread=False,
    )
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.set_authorizer(_session_guard)
    return conn


def _hold(path: str) -> IO[bytes] | None:
    """``path`` open with a shared lock (POSIX); ``None`` where locks are not available."""
    try:
        import fcntl
    except ImportError:  # Windows: abandoned playgrounds are not detected there
        return None
    try:
        handle = open(path, "rb")  # noqa: SIM115 - held until the session closes
    except OSError:
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def is_in_use(path: str) -> bool:
    """True while a session (of any process) holds ``path`` (see :func:`_hold`)."""
    try:
        import fcntl
    except ImportError:
        return True  # cannot tell: never take a sandbox for abandoned
    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False
    except OSError:
        return False


class SqliteSession(Session):
    """One connection to one file, used by one worker thread at a time."""

    def __init__(
        self, path: str, *, statement_timeout: float | None = None, in_use: str | None = None
    ) -> None:
        """``in_use`` is a file this session holds a shared lock on while it is open (a
        sandbox's marker), so a later start does not take the sandbox for abandoned."""
        self.path = path
        self.database = path
        self._in_use = _hold(in_use) if in_use else None
        self._conn = connect_file(path)
        self._conn.execute("PRAGMA busy_timeout = 5000")
        self._cancelled = threading.Event()
        self._timeout = statement_timeout
        self._deadline = float("inf")
        self._timed_out = False
        self._open: StatementResult | None = None
        self._conn.set_progress_handler(self._watch, _PROGRESS_OPS)

    # -- settings ----------------------------------------------------------------------
    def set_timeout(self, seconds: float | None) -> None:
        self._timeout = seconds or None

    def _watch(self) -> int:
        if self._cancelled.is_set():
            return 1
        if time.monotonic() > self._deadline:
            self._timed_out = True
            return 1
        return 0

    def _arm(self) -> None:
        self._timed_out = False
        self._deadline = time.monotonic() + self._timeout if self._timeout else float("inf")

    # -- running -----------------------------------------------------------------------
    def execute(self, text: str) -> Iterator[StatementResult]:
        self._cancelled.clear()  # now, not at the first next(): a later cancel counts
        return self._execute(text)

    def _execute(self, text: str) -> Iterator[StatementResult]:
        for index, statement in enumerate(split_sql(text)):
            self._close_open()
            if self._cancelled.is_set():
                error = QueryCancelled(
                    "the statement was cancelled before it started",
                    line=statement.line, column=statement.column,
                    code="SQLITE_INTERRUPT", code_name="SQLite",
                )
                yield StatementResult(index=index, statement=statement, error=error,
                                      changes_state=False)
                return
            result = self._run(index, statement, text)
            yield result
            if result.error is not None:
                return
        self._close_open()

    def _run(self, index: int, statement: Statement, text: str) -> StatementResult:
        started = time.perf_counter()
        verb = _verb(statement.text)
        changes = _changes_state(statement.text, verb)
        result = StatementResult(index=index, statement=statement, changes_state=changes)
        self._arm()
        cursor = self._conn.cursor()
        changes_before = self._conn.total_changes
        try:
            cursor.execute(statement.text)
        except sqlite3.Error as exc:
            result.error = self._error(exc, statement)
            result.elapsed = time.perf_counter() - started
            cursor.close()
            return result
        result.elapsed = time.perf_counter() - started
        if cursor.description is None:
            if verb in _DML:
                changed = self._conn.total_changes != changes_before
                result.rowcount = (
                    self._conn.execute("SELECT changes()").fetchone()[0] if changed else 0
                )
            result.status = f"{verb} {result.rowcount}" if result.rowcount >= 0 else verb
            cursor.close()
            return result
        columns = [Column(str(col[0]), "") for col in cursor.description]
        stream = _Stream(self, cursor, started, verb)
        result = StatementResult.streaming(
            index, statement, columns, stream.batches(), on_close=stream.close,
            changes_state=changes, elapsed=result.elapsed,
        )
        stream.result = result
        self._open = result
        return result

    def _close_open(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def _error(self, exc: sqlite3.Error, statement: Statement) -> QueryError:
        message = str(exc)
        cls = QueryError
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_INTERRUPT" or message == "interrupted":
            cls = QueryCancelled
            if self._timed_out and not self._cancelled.is_set():
                message = f"statement timeout: the statement ran longer than {self._timeout:g} s"
            else:
                message = "the statement was cancelled"
        position = _locate(message, statement) if cls is QueryError else None
        line, column = statement.line, statement.column
        if position is not None:
            offset = position - statement.start
            before = statement.text[:offset]
            newlines = before.count("\n")
            line += newlines
            column = (column + offset) if not newlines else offset - before.rfind("\n")
        return cls(
            message,
            position=position,
            line=line,
            column=column,
            code=getattr(exc, "sqlite_errorname", None),
            code_name="SQLite",
        )

    # -- from other threads -----------------------------------------------------------
    def cancel(self) -> None:
        self._cancelled.set()
        try:
            self._conn.interrupt()
        except sqlite3.ProgrammingError:  # closed
            pass

    # -- catalog -----------------------------------------------------------------------
    def catalog(self) -> list[CatalogItem]:
        """Read through a second, read-only connection: never waits for a running query."""
        conn = connect_file(self.path, read_only=True)
        try:
            conn.execute("PRAGMA busy_timeout = 2000")
            return load_catalog(conn)
        except sqlite3.Error as exc:
            raise QueryError(f"cannot read the catalog: {exc}") from exc
        finally:
            conn.close()

    def close(self) -> None:
        self._close_open()
        self._conn.close()
        if self._in_use is not None:
            self._in_use.close()
            self._in_use = None


# SQLite names the token it stumbled on; Python's sqlite3 (before 3.12) does not pass on
# SQLite's error offset, so the token is looked up in the statement.
_NAMED_TOKEN = re.compile(
    r'near "(?P<near>.+)": syntax error|no such (?:column|table|function): (?P<name>\S+)'
)


def _locate(message: str, statement: Statement) -> int | None:
    """The offset in the user's text of the token an error message names, when unique."""
    match = _NAMED_TOKEN.search(message)
    if match is None:
        return None
    token = match.group("near") or match.group("name") or ""
    if "." in token and match.group("name"):
        token = token.rsplit(".", 1)[-1]
    lowered, wanted = statement.text.lower(), token.lower()
    found = lowered.find(wanted)
    if found < 0 or lowered.find(wanted, found + 1) >= 0:
        return None  # not found, or found twice: keep the statement's own position
    return statement.start + found


class _Stream:
    """The batches of one row-returning statement."""

    def __init__(
        self, session: SqliteSession, cursor: sqlite3.Cursor, started: float, verb: str
    ) -> None:
        self.verb = "SELECT" if verb in ("SELECT", "VALUES", "WITH") else verb
        self.session = session
        self.cursor = cursor
        self.result: StatementResult  # set by the session once the result is made
        self.started = started
        self.fetched = 0
        self.exhausted = False
        self.closed = False

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        size = self.session.batch_size
        while not self.closed:
            self.session._arm()  # like a server-side FETCH: each batch has the full timeout
            try:
                rows = self.cursor.fetchmany(size)
            except sqlite3.Error as exc:
                error = self.session._error(exc, self.result.statement)
                self.result.error = error
                self.close()
                raise error from None
            if rows:
                self.fetched += len(rows)
                yield rows
            if len(rows) < size:
                self.exhausted = True
                return

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.cursor.close()
        session = self.session
        if session._open is self.result:
            session._open = None
        self.result.rowcount = self.fetched if self.exhausted else -1
        if self.exhausted:
            self.result.status = f"{self.verb} {self.fetched}"
        self.result.elapsed = time.perf_counter() - self.started
