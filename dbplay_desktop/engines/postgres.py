"""The PostgreSQL engine: sandboxes, sessions, dumps with pg_dump, scanned restores.

Every playground and every restore target is a fresh database owned by a role the app
creates for it (``dbplay_sbx_<hex>``: no superuser, no CREATEDB/CREATEROLE, no
replication, no RLS bypass). Sessions on a sandbox log in as that role, so whatever a
template or the editor runs has no more power than the owner of one database. The admin
connection from the URI only creates and drops sandboxes.

Sandbox databases carry the comment ``dbplay sandbox`` (``dbplay sandbox (playground)``
for the unnamed, throwaway ones); :meth:`drop_sandbox` refuses any database without it, so
the app can never drop a user's own database.

The engine decides what runs where; running ``pg_dump`` lives in :mod:`pg_dump`, playing a
payload script into a sandbox in :mod:`pg_restore`, the safety scan in :mod:`pg_safety`.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from psycopg import sql

from dbplay_desktop.engines.base import (
    DumpInfo,
    Engine,
    EngineError,
    Finding,
    PayloadSink,
    PayloadSource,
    ProgressCallback,
    RestoreError,
    Statement,
    UnsafeContent,
    UnsupportedUri,
)
from dbplay_desktop.engines.pg_dump import find_pg_dump, hardened_options, write_dump
from dbplay_desktop.engines.pg_errors import connection_error, error_message
from dbplay_desktop.engines.pg_restore import run_payload
from dbplay_desktop.engines.pg_script import split_sql

SANDBOX_MARK = "dbplay sandbox"
# Unnamed sandboxes (the window's playgrounds) are throwaway: see drop_abandoned_playgrounds.
PLAYGROUND_MARK = "dbplay sandbox (playground)"
SANDBOX_MARKS = (SANDBOX_MARK, PLAYGROUND_MARK)
SANDBOX_ROLE_PREFIX = "dbplay_sbx_"


def _maintenance_databases(uri_database: str) -> list[str]:
    """Databases tried, in order, for server-level work (create, drop, list)."""
    return list(dict.fromkeys(["postgres", uri_database, "template1"]))


class PostgresEngine(Engine):
    """A PostgreSQL server reached by ``postgresql://user[:password]@host:port/dbname``."""

    name: ClassVar[str] = "postgresql"
    display_name: ClassVar[str] = "PostgreSQL"
    schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    language: ClassVar[str] = "postgresql"
    supports_cancel: ClassVar[bool] = True
    supports_transactions: ClassVar[bool] = True

    def __init__(
        self,
        uri: str,
        *,
        statement_timeout: float | None = None,
        bin_dir: str | Path | None = None,
    ) -> None:
        super().__init__(uri)
        try:
            self._conninfo: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(uri)
        except psycopg.Error as exc:
            raise UnsupportedUri(f"not a PostgreSQL address: {error_message(exc)}") from exc
        if statement_timeout is None and os.environ.get("DBPLAY_STATEMENT_TIMEOUT"):
            statement_timeout = _seconds(os.environ["DBPLAY_STATEMENT_TIMEOUT"])
        self.statement_timeout = statement_timeout
        self.bin_dir = Path(bin_dir) if bin_dir else None
        self._role_passwords: dict[str, str] = {}

    @classmethod
    def split(cls, text: str) -> list[Statement]:
        return split_sql(text)

    # -- connections -----------------------------------------------------------------
    @property
    def default_database(self) -> str:
        return str(self._conninfo.get("dbname") or self._conninfo.get("user") or "postgres")

    def _info(self, database: str | None = None, **changes: Any) -> dict[str, Any]:
        info = dict(self._conninfo)
        info["dbname"] = database or self.default_database
        info.setdefault("connect_timeout", 10)
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
        from dbplay_desktop.engines.pg_session import PostgresSession

        database = database or self.default_database
        return PostgresSession(
            self._session_info(database), statement_timeout=self.statement_timeout
        )

    def _session_info(self, database: str) -> dict[str, Any]:
        """Log in as the sandbox's own role when the database is a sandbox."""
        with self._admin() as conn:
            role = _sandbox_role(conn, database)
            if role is None:
                return self._info(database)
            password = self._role_passwords.get(role)
            if password is None:
                password = secrets.token_urlsafe(24)
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
                self._role_passwords[role] = password
        return self._info(database, user=role, password=password)

    # -- sandboxes -------------------------------------------------------------------
    def create_sandbox(self, name: str | None = None) -> str:
        database = name or f"playground_{time.strftime('%Y%m%d')}_{secrets.token_hex(3)}"
        with self._admin() as conn:
            if _database_exists(conn, database):
                raise EngineError(f"database {database!r} already exists")
            mark = SANDBOX_MARK if name else PLAYGROUND_MARK
            self._make_sandbox(conn, database, create=True, mark=mark)
        return database

    def _adopt_empty_database(self, database: str) -> None:
        """Turn an existing, empty database into a sandbox so a restore runs unprivileged."""
        with self._admin() as conn:
            self._make_sandbox(conn, database, create=False)

    def _make_sandbox(
        self,
        conn: psycopg.Connection[Any],
        database: str,
        *,
        create: bool,
        mark: str = SANDBOX_MARK,
    ) -> None:
        can_create_roles = conn.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]  # type: ignore[index]
        if not can_create_roles:
            raise EngineError(
                "this PostgreSQL account cannot create roles; dbplay needs CREATEROLE and "
                "CREATEDB to run sandboxes as an unprivileged role"
            )
        role = SANDBOX_ROLE_PREFIX + secrets.token_hex(6)
        password = secrets.token_urlsafe(24)
        db, owner = sql.Identifier(database), sql.Identifier(role)
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOREPLICATION NOBYPASSRLS"
            ).format(owner, sql.Literal(password))
        )
        try:
            conn.execute(sql.SQL("GRANT {} TO current_user").format(owner))
            if create:
                conn.execute(
                    sql.SQL(
                        "CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'"
                    ).format(db, owner)
                )
            else:
                conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db, owner))
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(db, sql.Literal(mark))
            )
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        except psycopg.Error as exc:
            if create:
                _drop_quietly(conn, database, role)
            else:
                _drop_role_quietly(conn, role)
            raise EngineError(
                f"cannot create sandbox database {database!r}: {error_message(exc)}"
            ) from exc
        self._role_passwords[role] = password

    def drop_sandbox(self, database: str) -> None:
        with self._admin(avoid=database) as conn:
            if not _database_exists(conn, database):
                return
            if not _is_sandbox(conn, database):
                raise EngineError(
                    f"database {database!r} is not a dbplay sandbox; "
                    "dbplay never drops other databases"
                )
            role = _sandbox_role(conn, database)
            try:
                # The sandbox's owner may have flagged it a template, which DROP refuses.
                conn.execute(
                    sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(database))
                )
                conn.execute(
                    sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database))
                )
            except psycopg.Error as exc:
                raise EngineError(
                    f"cannot drop database {database!r}: {error_message(exc)}"
                ) from exc
            if role is not None:
                _drop_role_quietly(conn, role)
                self._role_passwords.pop(role, None)

    def drop_abandoned_playgrounds(self) -> list[str]:
        with self._admin() as conn:
            rows = conn.execute(
                """
                SELECT d.datname FROM pg_database d
                WHERE shobj_description(d.oid, 'pg_database') = %s
                  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
                ORDER BY 1
                """,
                (PLAYGROUND_MARK,),
            ).fetchall()
        dropped = []
        for (database,) in rows:
            try:
                self.drop_sandbox(database)
            except EngineError:
                continue  # someone connected in the meantime: it is not abandoned
            dropped.append(database)
        return dropped

    # -- dump ------------------------------------------------------------------------
    def dump(
        self, database: str, sink: PayloadSink, progress: ProgressCallback | None = None
    ) -> DumpInfo:
        from dbplay_desktop.engines.pg_catalog import database_stats

        # Counting rows can run code of the database's own (row-security policies), so it
        # runs as the sandbox's role; pg_dump itself keeps the server's view (row_security
        # off, search_path hardened) with the address's credentials.
        counting = self._session_info(database)
        counting["options"] = hardened_options(counting)
        try:
            conn = psycopg.connect(**counting, autocommit=True, application_name="dbplay dump")
        except psycopg.Error as exc:
            raise connection_error(exc, counting) from exc
        with conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            server_major = conn.info.server_version // 10000
            stats = database_stats(conn)
        admin = self._info(database, options=hardened_options(self._conninfo))
        write_dump(find_pg_dump(server_major, self.bin_dir), admin, sink, progress)
        return DumpInfo(engine_version=version, stats=stats)

    # -- restore ---------------------------------------------------------------------
    def scan(self, source: PayloadSource) -> list[Finding]:
        from dbplay_desktop.engines.pg_safety import scan_script

        findings: list[Finding] = []
        for path in source.paths():
            if not path.endswith(".sql"):
                findings.append(Finding(path, 0, "not an SQL payload file"))
                continue
            with source.open(path) as stream:
                findings.extend(scan_script(stream, path))
        return findings

    def restore(
        self,
        source: PayloadSource,
        database: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> str:
        findings = self.scan(source)
        if findings:
            more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
            raise UnsafeContent(f"refused: {findings[0]}{more}")
        created = False
        with self._admin() as conn:
            exists = database is not None and _database_exists(conn, database)
        if exists:
            assert database is not None
            with self._admin(database) as conn:
                if not _is_empty(conn):
                    raise RestoreError(f"database {database!r} already exists and is not empty")
            self._adopt_empty_database(database)
        else:
            database = self.create_sandbox(database)
            created = True
        try:
            run_payload(self._session_info(database), source, progress)
        except BaseException:
            if created:
                try:
                    self.drop_sandbox(database)
                except EngineError:
                    pass
            raise
        return database


# -- helpers on an admin connection ---------------------------------------------------
def _database_exists(conn: psycopg.Connection[Any], database: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    return row is not None


def _is_sandbox(conn: psycopg.Connection[Any], database: str) -> bool:
    """Marked as a sandbox, or owned by a sandbox role.

    The owner of a sandbox can rewrite its database's comment, so the comment alone must
    not decide: a database owned by a ``dbplay_sbx_`` role is one dbplay made or adopted
    (such a role cannot create databases nor take over another's).
    """
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (database,),
    ).fetchone()
    if row is None:
        return False
    return row[0] in SANDBOX_MARKS or _sandbox_role(conn, database) is not None


def _sandbox_role(conn: psycopg.Connection[Any], database: str) -> str | None:
    """The owning role of a sandbox database, if it is one of ours.

    Decided by the owner alone, never by the comment the sandbox itself can change: a
    template that rewrites it must not make dbplay log in with the admin's credentials.
    """
    row = conn.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
    ).fetchone()
    owner = row[0] if row else None
    return owner if owner and owner.startswith(SANDBOX_ROLE_PREFIX) else None


def _is_empty(conn: psycopg.Connection[Any]) -> bool:
    """True when the database holds no user objects (the restore target must be empty)."""
    row = conn.execute(
        """
        SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%')
             + (SELECT count(*) FROM pg_namespace
                WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public')
                  AND nspname NOT LIKE 'pg_toast%%' AND nspname NOT LIKE 'pg_temp%%')
             + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')
             + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
        """
    ).fetchone()
    return row is not None and row[0] == 0


def _drop_quietly(conn: psycopg.Connection[Any], database: str, role: str) -> None:
    try:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
    except psycopg.Error:
        pass
    _drop_role_quietly(conn, role)


def _drop_role_quietly(conn: psycopg.Connection[Any], role: str) -> None:
    try:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    except psycopg.Error:
        pass  # still owns something elsewhere: left for the server's administrator


def _seconds(text: str) -> float | None:
    """``DBPLAY_STATEMENT_TIMEOUT`` in seconds (``0`` or empty: no limit)."""
    try:
        value = float(text)
    except ValueError as exc:
        raise EngineError(
            f"DBPLAY_STATEMENT_TIMEOUT must be a number of seconds, not {text!r}"
        ) from exc
    return value or None
