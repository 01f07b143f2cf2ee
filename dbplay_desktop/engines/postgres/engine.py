"""The PostgreSQL engine: sandboxes, sessions, dumps with pg_dump, scanned restores.

Every playground and every restore target is a fresh database owned by the admin, with a
role the app creates for it (``dbplay_sbx_<hex>``, see :mod:`pg_sandbox`). Sessions on a
sandbox log in as that role, so whatever a template or the editor runs has no more power
than a guest in one database: it cannot change the database itself, and it can log in
only when dbplay opens a connection for it. The admin connection from the URI only
creates, checks and drops sandboxes.

Sandbox databases carry the comment ``dbplay sandbox`` (``dbplay sandbox (playground)``
for the unnamed, throwaway ones), which only the admin can write; :meth:`drop_sandbox`
refuses any database without it, so the app can never drop a user's own database. A
sandbox that cannot be dropped yet (a statement on it ignores cancel requests) goes into
a journal (:mod:`sandbox_journal`) and is dropped at the next start or connection.

**A server that goes away.** Every admin connection is opened for one piece of work and
closed after it, so nothing the engine keeps can break: once the server answers again,
:meth:`connect`, :meth:`drop_sandbox` and the rest simply work. Opening a connection waits
at most the connection timeout (``connect_timeout``; ``DBPLAY_CONNECT_TIMEOUT``, see
:mod:`dbplay_desktop.engines.link`), unless the URI sets its own.

The engine decides what runs where; running ``pg_dump`` lives in :mod:`pg_dump`, playing a
payload script into a sandbox in :mod:`pg_restore`, the safety scan in :mod:`pg_safety`.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from dbplay_desktop.engines.base import (
    DumpInfo,
    Engine,
    EngineError,
    PayloadSink,
    ProgressCallback,
    Statement,
    UnsupportedUri,
)
from dbplay_desktop.engines.link import connect_timeout as connect_timeout_setting
from dbplay_desktop.engines.postgres.dump import find_pg_dump, hardened_options, write_dump
from dbplay_desktop.engines.postgres.engine_restore import DEFAULT_LOCK_TIMEOUT, RestoreMixin
from dbplay_desktop.engines.postgres.errors import connection_error, error_message
from dbplay_desktop.engines.postgres.sandbox import (
    PLAYGROUND_MARK,
    SANDBOX_MARK,
    SANDBOX_MARKS,
    SANDBOX_ROLE_PREFIX,
    SandboxBusy,
    busy_backends,
    copy_database,
    create_role,
    database_exists,
    disable_login,
    drop_database,
    drop_role,
    drop_role_quietly,
    enable_login,
    is_sandbox,
    keep_as_pristine,
    prepare_database,
    renew_role_limits,
    role_databases,
    sandbox_role,
    stray_roles,
)
from dbplay_desktop.engines.postgres.script import split_sql
from dbplay_desktop.engines.sandbox_journal import SandboxJournal

__all__ = [
    "PLAYGROUND_MARK",
    "SANDBOX_MARK",
    "SANDBOX_MARKS",
    "SANDBOX_ROLE_PREFIX",
    "PostgresEngine",
    "SandboxBusy",
]

log = logging.getLogger(__name__)

#: One sandbox login at a time in this process: a login sets the role's password (and
#: a drop that disables a role shared with a clone must not come between).
_LOGIN_LOCK = threading.Lock()
#: One "is this role still used? then drop it" at a time, and never while a clone of the
#: role's sandbox is half made (it has no grant yet that says it uses the role).
_ROLE_DROP_LOCK = threading.RLock()
#: The largest temporary-file space one sandbox session may use (``temp_file_limit``).
DEFAULT_TEMP_FILE_LIMIT = "2GB"
#: Pending drops are retried at most this often (seconds) per engine.
_RETRY_INTERVAL = 10.0


def _maintenance_databases(uri_database: str) -> list[str]:
    """Databases tried, in order, for server-level work (create, drop, list)."""
    return list(dict.fromkeys(["postgres", uri_database, "template1"]))


class PostgresEngine(RestoreMixin, Engine):
    """A PostgreSQL server reached by ``postgresql://user[:password]@host:port/dbname``."""

    name: ClassVar[str] = "postgresql"

    def __init__(
        self,
        uri: str,
        *,
        statement_timeout: float | None = None,
        bin_dir: str | Path | None = None,
        journal: SandboxJournal | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        """``connect_timeout`` (seconds) overrides ``DBPLAY_CONNECT_TIMEOUT``."""
        super().__init__(uri)
        try:
            self._conninfo: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(uri)
        except UnicodeError as exc:  # a command line's undecodable bytes
            raise UnsupportedUri("not a PostgreSQL address: it holds characters that are "
                                 "not text") from exc
        except psycopg.Error as exc:
            message = error_message(exc)
            with suppress(ValueError):
                # libpq quotes the text it could not read, a password included.
                password = urlsplit(uri).password
                if password:
                    message = message.replace(password, "***")
            raise UnsupportedUri(f"not a PostgreSQL address: {message}") from exc
        if statement_timeout is None and os.environ.get("DBPLAY_STATEMENT_TIMEOUT"):
            statement_timeout = _seconds(
                os.environ["DBPLAY_STATEMENT_TIMEOUT"], "DBPLAY_STATEMENT_TIMEOUT"
            )
        self.statement_timeout = statement_timeout
        self.connect_timeout = connect_timeout_setting(connect_timeout)
        self.bin_dir = Path(bin_dir) if bin_dir else None
        self.journal = journal or SandboxJournal()
        self._last_retry = float("-inf")

    @classmethod
    def split(cls, text: str) -> list[Statement]:
        return split_sql(text)

    # -- connections -----------------------------------------------------------------
    @property
    def default_database(self) -> str:
        return str(self._conninfo.get("dbname") or self._conninfo.get("user") or "postgres")

    @property
    def server_key(self) -> str:
        """The server, for the drop journal: host and port, never a password."""
        host = self._conninfo.get("host") or "localhost"
        return f"postgresql://{host}:{self._conninfo.get('port') or 5432}"

    def _info(self, database: str | None = None, **changes: Any) -> dict[str, Any]:
        info = dict(self._conninfo)
        info["dbname"] = database or self.default_database
        info.setdefault("connect_timeout", max(1, math.ceil(self.connect_timeout)))
        info.update(changes)
        return info

    @contextmanager
    def _admin(
        self, database: str | None = None, *, avoid: str | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit connection for server-level work.

        Without ``database`` it reaches the server through a database that exists: the
        URI may name one that a restore is about to create.
        """
        candidates = [database] if database else _maintenance_databases(self.default_database)
        candidates = [c for c in candidates if c != avoid] or candidates
        first_error: psycopg.Error | None = None
        conn = None
        for candidate in candidates:
            try:
                conn = psycopg.connect(
                    **self._info(candidate, options=hardened_options(self._conninfo)),
                    autocommit=True,
                    application_name="dbplay admin",
                )
                break
            except psycopg.Error as exc:
                first_error = first_error or exc
                # Only a server that rejected this database is worth another database;
                # a refused or timed-out connection would fail the same way again.
                if f'"{candidate}"' not in str(exc):
                    break
        if conn is None:
            assert first_error is not None
            raise connection_error(first_error, self._info(database)) from first_error
        try:
            yield conn
        finally:
            conn.close()

    def server_version(self) -> str:
        with self._admin() as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]

    def list_databases(self) -> list[str]:
        with self._admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"
                " AND has_database_privilege(datname, 'CONNECT') ORDER BY 1"
            ).fetchall()
        return [row[0] for row in rows]

    def connect(self, database: str | None = None):  # type: ignore[override]
        from dbplay_desktop.engines.postgres.session import PostgresSession

        database = database or self.default_database
        self.retry_pending_drops()
        opener = self._opener(database, renew_defaults=True)
        return PostgresSession(
            self._info(database, user=opener.user, password=None),
            statement_timeout=self.statement_timeout,
            opener=opener,
            connect_timeout=self.connect_timeout,
        )

    def _opener(self, database: str, *, renew_defaults: bool = False) -> _Opener:
        """Opens connections to ``database``: as its sandbox role when it is a sandbox.

        With ``renew_defaults``, a role that clones share gets its defaults back as they
        were made: what a session in the previous clone set with ``ALTER ROLE ... SET``
        does not outlive a reset.
        """
        with self._admin() as conn:
            role = sandbox_role(conn, database)
            if role is not None and renew_defaults and len(role_databases(conn, role)) > 1:
                renew_role_limits(conn, role, self._role_limits())
        return _Opener(self, database, role)

    def _login(self, database: str, role: str, **params: Any) -> psycopg.Connection[Any]:
        """One connection as a sandbox's role.

        The role is NOLOGIN with no password at rest: a password its template set is
        useless. For this one connection the admin gives it LOGIN and a random password,
        and takes both away again as soon as the connection is made.
        """
        with _LOGIN_LOCK, self._admin() as admin:
            admin.execute("SET lock_timeout = '10s'")
            try:
                password = enable_login(admin, role)
            except psycopg.Error as exc:
                raise EngineError(
                    f"cannot log in to sandbox {database!r}: {error_message(exc)}"
                ) from exc
            try:
                for attempt in (1, 2):
                    info = self._info(database, user=role, password=password)
                    info.update(params)
                    try:
                        return psycopg.connect(**info)
                    except psycopg.OperationalError as exc:
                        # Another dbplay process may have logged in as this role in
                        # between and changed the password: one more try with a new one.
                        if attempt == 2 or "password" not in str(exc):
                            raise connection_error(exc, info) from exc
                        password = enable_login(admin, role)
                raise AssertionError("unreachable")  # pragma: no cover
            finally:
                with suppress(psycopg.Error):
                    disable_login(admin, role)

    # -- sandboxes -------------------------------------------------------------------
    def _keep_restored(self, database: str) -> None:
        """A named sandbox's restore committed: mark it as kept (no longer a playground)."""
        with self._admin() as conn:
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database), sql.Literal(SANDBOX_MARK)))

    def _role_limits(self) -> dict[str, str]:
        """What every sandbox session starts with, set on its role by the admin."""
        limits = {
            "temp_file_limit": os.environ.get("DBPLAY_TEMP_FILE_LIMIT") or DEFAULT_TEMP_FILE_LIMIT,
            # A template's RAISE LOG loop must not fill the server's log.
            "log_min_messages": "fatal",
            "log_min_error_statement": "panic",
            "lock_timeout": f"{round(DEFAULT_LOCK_TIMEOUT * 1000)}ms",
        }
        if self.statement_timeout:
            limits["statement_timeout"] = f"{round(self.statement_timeout * 1000)}ms"
        return limits

    def create_sandbox(self, name: str | None = None, *, while_restoring: bool = False) -> str:
        """A new sandbox (a playground when unnamed). ``while_restoring`` marks a named
        one as a playground until the restore filling it commits
        (:meth:`_keep_restored`): a restore killed half-way then leaves a database the
        next start's cleanup drops, never a half-made one that looks kept."""
        self.retry_pending_drops()
        database = name or _playground_name()
        mark = SANDBOX_MARK if name and not while_restoring else PLAYGROUND_MARK
        with self._admin() as conn:
            if database_exists(conn, database):
                raise EngineError(f"database {database!r} already exists")
            role = create_role(conn, self._role_limits())
            created = False
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                        sql.Identifier(database)
                    )
                )
                created = True
                prepare_database(conn, self._admin(database), database, role, mark=mark)
            except (psycopg.Error, EngineError) as exc:
                if created:
                    with suppress(psycopg.Error):
                        conn.execute(
                            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database))
                        )
                drop_role_quietly(conn, role)
                raise EngineError(
                    f"cannot create sandbox database {database!r}: {error_message(exc)}"
                ) from exc
        return database

    clones_sandboxes: ClassVar[bool] = True

    def clone_sandbox(self, source: str) -> str:
        """``CREATE DATABASE ... TEMPLATE source``: a playground with the same role.

        The copy carries the source's objects, their owner (the sandbox role) and its
        ``public`` schema as they were when the restore's checks passed; the admin gives
        the copy the sandbox grants and mark, since a database's access list and comment
        are not copied. From the first clone on, the role can no longer connect to the
        source, so the pristine copy stays as the template left it.
        """
        self.retry_pending_drops()
        database = _playground_name()
        with self._admin(avoid=source) as conn:
            if not database_exists(conn, source) or not is_sandbox(conn, source):
                raise EngineError(f"database {source!r} is not a dbplay sandbox; "
                                  "dbplay clones only those")
            role = sandbox_role(conn, source)
            if role is None:
                raise EngineError(f"sandbox {source!r} has no role of its own to clone")
            created = False
            try:
                with _ROLE_DROP_LOCK:
                    copy_database(conn, source, database)
                    created = True
                    prepare_database(conn, None, database, role, mark=PLAYGROUND_MARK)
                keep_as_pristine(conn, source, role)
            except psycopg.Error as exc:
                if created:
                    with suppress(psycopg.Error):
                        conn.execute(
                            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database))
                        )
                    # The source may have been dropped meanwhile: then the role goes too.
                    with suppress(psycopg.Error, EngineError):
                        self._drop_role_if_unused(conn, role)
                raise EngineError(
                    f"cannot clone sandbox {source!r}: {error_message(exc)}"
                ) from exc
        return database

    def drop_sandbox(self, database: str) -> None:
        with self._admin(avoid=database) as conn:
            if not database_exists(conn, database):
                self.journal.remove(self.server_key, database)
                return
            if not is_sandbox(conn, database):
                raise EngineError(
                    f"database {database!r} is not a dbplay sandbox; "
                    "dbplay never drops other databases"
                )
            role = sandbox_role(conn, database)
            if role is not None:
                with _LOGIN_LOCK, suppress(psycopg.Error):
                    disable_login(conn, role)
            try:
                drop_database(conn, database)
            except SandboxBusy:
                self.journal.add(self.server_key, database, role)
                raise
            self.journal.remove(self.server_key, database)
            if role is not None:
                self._drop_role_if_unused(conn, role)

    def _drop_role_if_unused(self, conn: psycopg.Connection[Any], role: str) -> None:
        """Drop a sandbox role once no database uses it: clones of one sandbox share it."""
        with _ROLE_DROP_LOCK:
            if not role_databases(conn, role):
                drop_role(conn, self._admin, role)

    def retry_pending_drops(self, *, force: bool = False) -> list[str]:
        """Drop the sandboxes the journal still lists for this server; returns those dropped.

        Cheap when the journal is empty; otherwise at most every few seconds. A sandbox
        still running its statement is left for the next try.
        """
        now = time.monotonic()
        if not force and now - self._last_retry < _RETRY_INTERVAL:
            return []
        self._last_retry = now
        pending = self.journal.pending(self.server_key)
        dropped = []
        for entry in pending:
            try:
                with self._admin(avoid=entry.database) as conn:
                    if not database_exists(conn, entry.database):
                        if entry.role:
                            self._drop_role_if_unused(conn, entry.role)
                        self.journal.remove(self.server_key, entry.database)
                        continue
                    if not is_sandbox(conn, entry.database):
                        self.journal.remove(self.server_key, entry.database)
                        continue
                    if busy_backends(conn, entry.database):
                        continue
                self.drop_sandbox(entry.database)
            except EngineError as exc:
                log.info("sandbox %s is not dropped yet: %s", entry.database, exc)
                continue
            dropped.append(entry.database)
        return dropped

    def drop_abandoned_playgrounds(self) -> list[str]:
        dropped = self.retry_pending_drops(force=True)
        with self._admin() as conn:
            rows = conn.execute(
                """
                SELECT d.datname FROM pg_database d
                WHERE shobj_description(d.oid, 'pg_database') = %s
                  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
                  -- a pristine copy or a ready clone is in use while its working clone
                  -- (the same role) has a session
                  AND NOT EXISTS (
                      SELECT 1 FROM aclexplode(d.datacl) g
                      JOIN pg_roles r ON r.oid = g.grantee
                      JOIN pg_stat_activity a ON a.usesysid = g.grantee
                      WHERE g.privilege_type = 'CREATE' AND starts_with(r.rolname, %s))
                ORDER BY 1
                """,
                (PLAYGROUND_MARK, SANDBOX_ROLE_PREFIX),
            ).fetchall()
        for (database,) in rows:
            try:
                self.drop_sandbox(database)
            except EngineError:
                continue  # someone connected in the meantime: it is not abandoned
            dropped.append(database)
        with self._admin() as conn:
            for role in list(stray_roles(conn)):
                try:
                    drop_role(conn, self._admin, role)
                except EngineError as exc:
                    log.warning("%s", exc)
        return dropped

    # -- dump ------------------------------------------------------------------------
    def dump(
        self, database: str, sink: PayloadSink, progress: ProgressCallback | None = None
    ) -> DumpInfo:
        from dbplay_desktop.engines.postgres.catalog import database_stats

        # Counting rows can run code of the database's own (row-security policies), so it
        # runs as the sandbox's role, time-limited and cancellable; pg_dump itself keeps
        # the server's view (row_security off, search_path hardened) with the address's
        # credentials.
        # The counting runs on a thread beside pg_dump (the server has cores for both),
        # so a save takes about as long as pg_dump alone.
        opener = self._opener(database)
        with opener(
            autocommit=True,
            application_name="dbplay dump",
            options=hardened_options(self._conninfo),
        ) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            server_major = conn.info.server_version // 10000
            stop = threading.Event()
            counted: dict[str, Any] = {}
            asked_to_stop, written = [False], [0]

            def count() -> None:
                try:
                    counted["stats"] = database_stats(conn, lambda *_: stop.is_set())
                except BaseException as exc:  # handed to the dumping thread
                    counted["error"] = exc
                    stop.set()

            def dumping(done: int, total: int | None) -> bool | None:
                written[0] = done
                answer = progress(done, total) if progress is not None else None
                asked_to_stop[0] = asked_to_stop[0] or bool(answer)
                return True if stop.is_set() and "error" in counted else answer

            counter = threading.Thread(target=count, name="dbplay dump stats", daemon=True)
            counter.start()
            try:
                admin = self._info(database, options=hardened_options(self._conninfo))
                write_dump(find_pg_dump(server_major, self.bin_dir), admin, sink, dumping)
            except BaseException:
                stop.set()
                counter.join()
                if "error" in counted and not asked_to_stop[0]:
                    raise counted["error"] from None  # why the save stopped
                raise
            while counter.is_alive():  # the count outlasted pg_dump: a cancel still counts
                counter.join(0.25)
                if progress is not None and progress(written[0], None):
                    asked_to_stop[0] = True
                    stop.set()
            if "error" in counted:
                raise counted["error"]
        return DumpInfo(engine_version=version, stats=counted["stats"])


class _Opener:
    """Opens connections to one database as the engine decided (sandbox role or the URI's)."""

    def __init__(self, engine: PostgresEngine, database: str, role: str | None) -> None:
        self._engine = engine
        self.database = database
        self.role = role
        self.user = role or engine._conninfo.get("user")

    def __call__(self, **params: Any) -> psycopg.Connection[Any]:
        if self.role is not None:
            return self._engine._login(self.database, self.role, **params)
        info = self._engine._info(self.database)
        info.update(params)
        try:
            return psycopg.connect(**info)
        except psycopg.Error as exc:
            raise connection_error(exc, info) from exc


# -- helpers on an admin connection ---------------------------------------------------
def _playground_name() -> str:
    return f"playground_{time.strftime('%Y%m%d')}_{secrets.token_hex(3)}"


def _seconds(text: str, variable: str) -> float | None:
    """A number of seconds from the environment (``0`` or empty: no limit)."""
    try:
        value = float(text)
    except ValueError as exc:
        raise EngineError(f"{variable} must be a number of seconds, not {text!r}") from exc
    return value or None
