"""A PostgreSQL session: runs the user's statements one by one and streams their rows.

Statements are cut with pglast's scanner (see :mod:`pg_script`), so ``;`` inside strings,
quoted identifiers, comments and ``$tag$`` bodies never splits a statement. The session is
in autocommit mode, like psql: each statement commits on its own unless the user opened a
transaction with ``BEGIN``, so an error in statement 3 keeps the work of statements 1 and 2.

Row-returning queries (``SELECT``/``VALUES``/``TABLE``/``WITH ... SELECT``) run through a
server-side cursor: only the batches the caller asks for cross the network, so a
million-row query shows its first rows at once and costs nothing when abandoned. Other
statements (``INSERT ... RETURNING``, ``SHOW``, ``EXPLAIN``, DDL) run as they are.

**A lost connection** (the server went away, the link was reset) is noticed by psycopg
marking the connection broken: the statement's error is then a
:class:`~dbplay_desktop.errors.ConnectionLost` naming ``host:port``, and
:attr:`connection_lost` stays True. A cancel sends PostgreSQL's cancel request (waiting
at most the connection timeout, :mod:`dbplay_desktop.engines.link`), then waits as long
again for the statement to stop; a statement still running then (a server that stopped
answering) has its socket shut, which ends it as a lost connection.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import pq

from dbplay_desktop.engines.base import (
    Column,
    ConnectionLost,
    EngineError,
    QueryCancelled,
    QueryError,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.engines.link import (
    ServerCalls,
    connect_timeout,
    lost,
    one_reason,
    refused_after_loss,
    shutdown_fd,
)
from dbplay_desktop.engines.postgres.catalog import load_catalog
from dbplay_desktop.engines.postgres.errors import connection_error, error_message
from dbplay_desktop.engines.postgres.script import split_sql

_cursor_names = itertools.count(1)


_OFF = frozenset({"false", "off", "no", "0"})


def _option_on(arg: Any) -> bool:
    """Whether an ``EXPLAIN (option value)`` value is on (no value: on)."""
    if arg is None:
        return True
    for name in ("boolval", "ival", "sval"):
        value = getattr(arg, name, None)
        if value is not None:
            return str(value).lower() not in _OFF and value is not False
    return True


def _writes_in_with(node: Any) -> bool:
    """Whether a ``SELECT`` (or a part of a ``UNION``) has a data-modifying ``WITH``."""
    from pglast import ast

    if node.withClause is not None:
        for cte in node.withClause.ctes or ():
            query = getattr(cte, "ctequery", None)
            if not isinstance(query, ast.SelectStmt) or _select_changes(query):
                return True
    return any(part is not None and _writes_in_with(part) for part in (node.larg, node.rarg))


def _select_changes(node: Any) -> bool:
    """Whether a ``SELECT`` writes: ``INTO``, row locks, or a data-modifying ``WITH``."""
    return node.intoClause is not None or bool(node.lockingClause) or _writes_in_with(node)


def _changes(node: Any) -> bool:
    """Whether a parsed statement may change the database (see ``changes_state``)."""
    from pglast import ast

    if isinstance(node, ast.SelectStmt):  # also VALUES and TABLE
        return _select_changes(node)
    if isinstance(node, ast.VariableShowStmt):
        return False
    if isinstance(node, ast.ExplainStmt):
        analyze = any(
            getattr(option, "defname", "") == "analyze" and _option_on(option.arg)
            for option in node.options or ()
        )
        return analyze and _changes(node.query)  # only EXPLAIN ANALYZE runs its statement
    return True


def _reading(sql: str) -> tuple[bool, bool]:
    """``(streams, changes_state)`` of one statement, from one parse with pglast.

    ``streams``: a plain query that ``DECLARE ... CURSOR`` accepts (a data-modifying
    ``WITH`` is not). ``changes_state``: see :attr:`StatementResult.changes_state`; text
    pglast cannot parse is run as it is (the server reports its error with its position)
    and counts as a change, erring on the side of offering to save.
    """
    from pglast import ast, parse_sql

    try:
        statements = parse_sql(sql)
    except Exception:  # not valid SQL (or newer syntax than pglast knows)
        return False, True
    if len(statements) != 1:
        return False, True
    node = statements[0].stmt
    changes = _changes(node)
    streams = (isinstance(node, ast.SelectStmt) and node.intoClause is None
               and not _writes_in_with(node))
    return streams, changes


class PostgresSession(Session):
    """One connection to one database, owned by one worker thread at a time."""

    def __init__(
        self,
        conninfo: dict[str, Any],
        *,
        statement_timeout: float | None = None,
        opener: Callable[..., psycopg.Connection[Any]] | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        """``conninfo`` names the database and user; ``opener`` (when given) makes the
        connections, as the engine must for a sandbox's role (see ``PostgresEngine``).
        ``connect_timeout`` bounds each step of a cancel (default: the setting)."""
        self._conninfo = dict(conninfo)
        self._opener = opener
        self._link_timeout = _link_timeout(connect_timeout, self._conninfo)
        self._calls = ServerCalls()
        self._lost: ConnectionLost | None = None
        host = self._conninfo.get("host") or "localhost"
        self.address = f"{host}:{self._conninfo.get('port') or 5432}"
        self._conn = self._connect("dbplay")
        self._conn.prepare_threshold = None  # user text is run once; never auto-prepare it
        self._notices: list[str] = []
        self._conn.add_notice_handler(self._on_notice)
        self._cancelled = False
        self._open: StatementResult | None = None
        self._catalog_conn: psycopg.Connection[Any] | None = None
        self._type_names: dict[int, str] = {}
        self.database = str(self._conninfo.get("dbname", ""))
        self.user = str(self._conninfo.get("user", ""))
        if statement_timeout is not None:
            self.set_timeout(statement_timeout)

    @property
    def connection_lost(self) -> bool:
        return self._lost is not None

    # -- settings --------------------------------------------------------------------
    def set_timeout(self, seconds: float | None) -> None:
        """Set ``statement_timeout``; on a lost connection there is nothing to set."""
        if self._lost is not None:
            return
        millis = 0 if not seconds else max(1, round(seconds * 1000))
        try:
            with self._calls.call(), self._conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {int(millis)}")
        except psycopg.Error as exc:
            if self._broken():
                self._mark_lost(exc)
                return
            raise QueryError(f"cannot set the statement timeout: {error_message(exc)}") \
                from exc

    def _on_notice(self, diag: psycopg.errors.Diagnostic) -> None:
        text = f"{diag.severity or 'NOTICE'}: {diag.message_primary or ''}"
        if diag.message_detail:
            text += f" ({diag.message_detail})"
        self._notices.append(text)

    # -- running ---------------------------------------------------------------------
    def execute(self, text: str) -> Iterator[StatementResult]:
        self._cancelled = False  # now, not at the first next(): a later cancel counts
        return self._execute(text)

    def _execute(self, text: str) -> Iterator[StatementResult]:
        for index, statement in enumerate(split_sql(text)):
            self._close_open()
            if self._cancelled:
                yield self._not_started(index, statement)
                return
            if self._lost is not None:
                yield refused_after_loss(self.address, self._lost, index, statement)
                return
            result = self._run(index, statement, text)
            yield result
            if result.error is not None:
                return
        self._close_open()

    def _not_started(self, index: int, statement: Statement) -> StatementResult:
        """The result of a statement that a cancel stopped before it started."""
        error = QueryCancelled(
            "the statement was cancelled before it started",
            line=statement.line, column=statement.column,
        )
        return StatementResult(index=index, statement=statement, error=error,
                               changes_state=False)

    def _run(self, index: int, statement: Statement, text: str) -> StatementResult:
        self._notices = []
        started = time.perf_counter()
        streams, changes = _reading(statement.text)
        result = StatementResult(index=index, statement=statement, notices=self._notices,
                                 changes_state=changes)
        own_transaction = False
        declare_prefix = 0
        try:
            with self._calls.call():
                if streams:
                    idle = self._conn.info.transaction_status == pq.TransactionStatus.IDLE
                    if idle:
                        self._conn.execute("BEGIN")
                        own_transaction = True
                    name = f"dbplay_{next(_cursor_names)}"
                    # Errors in the query report positions within psycopg's DECLARE wrapper.
                    declare_prefix = len(f'DECLARE "{name}" CURSOR FOR ')
                    cursor = self._conn.cursor(name=name)
                    cursor.execute(statement.text)
                else:
                    cursor = self._conn.cursor()
                    cursor.execute(statement.text)
        except psycopg.Error as exc:
            if own_transaction:
                self._rollback_quietly()
            result.error = self._query_error(exc, statement, text, declare_prefix)
            result.elapsed = time.perf_counter() - started
            return result
        result.elapsed = time.perf_counter() - started
        named = isinstance(cursor, psycopg.ServerCursor)
        if cursor.description is None:
            result.status = cursor.statusmessage or ""
            result.rowcount = cursor.rowcount
            cursor.close()
            return result
        columns = [Column(col.name, self._type_name(col.type_code)) for col in cursor.description]
        state = _Stream(self, cursor, statement, text, started, own_transaction, named)
        result = StatementResult.streaming(
            index, statement, columns, state.batches(), on_close=state.close,
            changes_state=changes, elapsed=result.elapsed, notices=self._notices,
            status="" if named else cursor.statusmessage or "",
            rowcount=-1 if named else cursor.rowcount,
        )
        state.result = result
        self._open = result
        return result

    def _close_open(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def _type_name(self, oid: int) -> str:
        name = self._type_names.get(oid)
        if name is None:
            info = self._conn.adapters.types.get(oid)
            if info is not None:
                name = info.name
            else:
                try:
                    with self._catalog().cursor() as cur:
                        cur.execute("SELECT format_type(%s, NULL)", (oid,))
                        row = cur.fetchone()
                except (psycopg.Error, EngineError):  # a type name is not worth a failure
                    return str(oid)
                name = row[0] if row else str(oid)
            self._type_names[oid] = name
        return name

    def _broken(self) -> bool:
        """Whether the session's connection is gone (psycopg marks it after a failure)."""
        conn = self._conn
        return bool(getattr(conn, "broken", False)) or conn.closed

    def _mark_lost(self, exc: BaseException | None, **where: Any) -> ConnectionLost:
        """The session's connection is gone: remember it and say so in one line."""
        reason = self._calls.cut_reason
        if reason is None:
            diag = getattr(exc, "diag", None)
            primary = getattr(diag, "message_primary", None) if diag is not None else None
            reason = one_reason(primary or str(exc or "")) if exc is not None else ""
        error = lost(self.address, reason or "the connection closed", **where)
        if self._lost is None:
            self._lost = error
        return error

    def _query_error(
        self, exc: psycopg.Error, statement: Statement, text: str, prefix: int = 0
    ) -> EngineError:
        if self._broken():
            return self._mark_lost(exc, line=statement.line, column=statement.column)
        diag = exc.diag
        # The server's detail, hint and SQLSTATE belong to the error (not the notices),
        # as fields of their own so the window can show them on lines of their own.
        position: int | None = None
        if diag.statement_position:
            offset = int(diag.statement_position) - 1 - prefix
            if 0 <= offset <= len(statement.text):
                position = statement.start + offset
        # A runtime error (division by zero) has no position: the statement failed as a
        # whole, so its line and column are the statement's and ``position`` stays None.
        located = Statement.at(text, statement.start if position is None else position,
                               statement.start if position is None else position)
        cls = QueryCancelled if isinstance(exc, psycopg.errors.QueryCanceled) else QueryError
        if self._cancelled and cls is QueryError and isinstance(exc, psycopg.OperationalError):
            cls = QueryCancelled
        return cls(
            error_message(exc),
            position=position,
            line=located.line,
            column=located.column,
            code=getattr(exc, "sqlstate", None) or diag.sqlstate,
            code_name="SQLSTATE",
            detail=diag.message_detail,
            hint=diag.message_hint,
        )

    def _rollback_quietly(self) -> None:
        try:
            if self._conn.info.transaction_status != pq.TransactionStatus.IDLE:
                self._conn.execute("ROLLBACK")
        except psycopg.Error:
            pass

    # -- from other threads ---------------------------------------------------------
    def cancel(self) -> None:
        """Send PostgreSQL's cancel request; cut the link when the statement goes on.

        Each step waits at most the connection timeout, so a server that stopped
        answering leaves the session lost (``connection_lost``), never hanging.
        """
        self._cancelled = True
        conn = self._conn
        if conn.closed or self._lost is not None:
            return
        busy = self._calls.busy
        if busy or conn.info.transaction_status == pq.TransactionStatus.ACTIVE \
                or self._open is not None:
            try:
                conn.cancel_safe(timeout=self._link_timeout)
            except (psycopg.Error, OSError):
                pass
        if busy:
            self._calls.escalate(self._link_timeout, self._cut)

    def _cut(self) -> None:
        """Shut the session's socket: the statement blocked on it ends as a lost link."""
        if not self._conn.closed:
            shutdown_fd(self._conn.pgconn.socket)

    # -- catalog ---------------------------------------------------------------------
    def _catalog(self) -> psycopg.Connection[Any]:
        """A second connection for metadata, so the catalog never waits for a running query."""
        if self._catalog_conn is None or self._catalog_conn.closed:
            self._catalog_conn = self._connect("dbplay catalog")
        return self._catalog_conn

    def _connect(self, application_name: str) -> psycopg.Connection[Any]:
        if self._opener is not None:
            return self._opener(autocommit=True, application_name=application_name)
        try:
            return psycopg.connect(
                **self._conninfo, autocommit=True, application_name=application_name
            )
        except psycopg.Error as exc:
            raise connection_error(exc, self._conninfo) from exc

    def catalog(self):  # type: ignore[override]
        """The catalog, read on a connection of its own (made again once if it broke)."""
        if self._lost is not None:
            raise lost(self.address, f"{self._lost.reason}; reconnect to read the catalog")
        for attempt in (1, 2):
            conn = self._catalog()
            try:
                return load_catalog(conn)
            except psycopg.Error as exc:
                if not (getattr(conn, "broken", False) or conn.closed):
                    raise QueryError(f"cannot read the catalog: {error_message(exc)}") \
                        from exc
                with suppress(Exception):
                    conn.close()
                self._catalog_conn = None
                if attempt == 2:
                    raise lost(self.address, one_reason(str(exc))) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the connections; prompt and silent on a lost or stalled link."""
        if self._lost is None and self._broken():
            self._lost = lost(self.address, "the connection closed")
        with suppress(Exception):
            self._close_open()
        for conn in (self._conn, self._catalog_conn):
            if conn is not None and not conn.closed:
                with suppress(Exception):
                    if self._lost is not None:
                        # Nothing more to say to a server that is gone (or stalled): do
                        # not wait on the socket to send it a goodbye.
                        shutdown_fd(conn.pgconn.socket)
                    conn.close()


def _link_timeout(value: float | None, conninfo: dict[str, Any]) -> float:
    """The connection timeout of a session: given, the URI's ``connect_timeout``, the
    setting."""
    if value is None:
        with suppress(TypeError, ValueError):
            value = float(conninfo.get("connect_timeout") or 0) or None
    return connect_timeout(value)


class _Stream:
    """The batches of one row-returning statement, and their clean-up."""

    def __init__(
        self,
        session: PostgresSession,
        cursor: psycopg.Cursor[Any],
        statement: Statement,
        text: str,
        started: float,
        own_transaction: bool,
        named: bool,
    ) -> None:
        self.named = named
        self.session = session
        self.cursor = cursor
        self.result: StatementResult  # set by the session once the result is made
        self.statement = statement
        self.text = text
        self.started = started
        self.own_transaction = own_transaction
        self.fetched = 0
        self.exhausted = False
        self.closed = False

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        size = self.session.batch_size
        while not self.closed:
            try:
                with self.session._calls.call():
                    rows = self.cursor.fetchmany(size)
            except psycopg.Error as exc:
                error = self.session._query_error(exc, self.statement, self.text)
                self.result.error = error
                self.finish(failed=True)
                raise error from exc
            if rows:
                self.fetched += len(rows)
                yield rows
            if len(rows) < size:
                self.exhausted = True
                return

    def close(self) -> None:
        self.finish(failed=False)

    def finish(self, *, failed: bool) -> None:
        if self.closed:
            return
        self.closed = True
        session = self.session
        conn = session._conn
        try:
            with session._calls.call():
                if not conn.closed and not failed:
                    self.cursor.close()
                    if self.own_transaction:
                        conn.execute("COMMIT")
                elif self.own_transaction:
                    session._rollback_quietly()
        except psycopg.Error as exc:
            if session._broken():
                session._mark_lost(exc)
            session._rollback_quietly()
        if session._open is self.result:
            session._open = None
        if self.named:
            self.result.rowcount = self.fetched if self.exhausted else -1
            if self.exhausted:
                self.result.status = f"SELECT {self.fetched}"
        self.result.elapsed = time.perf_counter() - self.started
