"""Restoring a template payload into a PostgreSQL sandbox: the engine's restore half.

:class:`RestoreMixin` is part of :class:`~.postgres.PostgresEngine`. A restore goes into a
new sandbox (made by the engine, see :mod:`pg_sandbox`) or into a user's existing, empty
database; either way it logs in as a role made for it, plays the payload with
:func:`~.pg_restore.run_payload` (each statement scanned right before it runs, one
transaction, ceilings kept by :mod:`pg_restore_monitor`), and after the commit compares
the database's and the role's server-level state with what it was: code can run at
COMMIT, so the check comes after it.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from typing import Any

import psycopg

from dbplay_desktop.engines.base import (
    EngineError,
    Finding,
    PayloadSource,
    ProgressCallback,
    RestoreError,
)
from dbplay_desktop.engines.postgres.errors import error_message
from dbplay_desktop.engines.postgres.restore import pinned_options, run_payload
from dbplay_desktop.engines.postgres.restore_monitor import RestoreLimits
from dbplay_desktop.engines.postgres.sandbox import (
    SandboxBusy,
    changes,
    create_role,
    database_exists,
    database_owner,
    drop_role,
    drop_role_quietly,
    is_superuser,
    lend_database,
    sandbox_role,
    snapshot,
    take_back,
)

log = logging.getLogger(__name__)

#: How long a sandbox statement may wait for a lock, in seconds.
DEFAULT_LOCK_TIMEOUT = 60.0


class RestoreMixin:
    """``scan`` and ``restore`` of :class:`~.postgres.PostgresEngine`."""

    # Provided by the engine: _admin, _login, _role_limits, create_sandbox, drop_sandbox.
    _conninfo: dict[str, Any]
    statement_timeout: float | None

    def restore_limits(self) -> RestoreLimits:
        """The ceilings a restore keeps whatever its template sets."""
        max_locks = os.environ.get("DBPLAY_RESTORE_MAX_LOCKS", "").strip()
        try:
            locks = int(max_locks) if max_locks else None
        except ValueError as exc:
            raise EngineError(
                f"DBPLAY_RESTORE_MAX_LOCKS must be a number of locks, not {max_locks!r}"
            ) from exc
        return RestoreLimits(
            statement_timeout=self.statement_timeout,
            lock_timeout=DEFAULT_LOCK_TIMEOUT,
            max_locks=locks,
        )

    @staticmethod
    def scan_payload(
        source: PayloadSource, progress: ProgressCallback | None = None
    ) -> list[Finding]:
        """The static scan of a plain-SQL payload: no server needed."""
        from dbplay_desktop.engines.postgres.safety import scan_script

        paths = list(source.paths())
        sizes = [source.size(path) for path in paths]
        total = sum(s for s in sizes if s is not None) if None not in sizes else None
        done = 0

        def overall(scanned: int, _total: int | None) -> bool:
            return progress is not None and bool(progress(done + scanned, total))

        findings: list[Finding] = []
        for path, size in zip(paths, sizes, strict=True):
            if not path.endswith(".sql"):
                findings.append(Finding(path, 0, "not an SQL payload file"))
                continue
            with source.open(path) as stream:
                findings.extend(scan_script(stream, path, overall if progress else None))
            done += size or 0
        return findings

    def restore(
        self,
        source: PayloadSource,
        database: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> str:
        """Restore into a new sandbox, or into an existing empty database.

        Each statement is scanned right before it runs (the restore's one scan). After
        the commit the admin checks that nothing about the database or its role changed
        (code can run at COMMIT); any failure leaves no database it created and an
        existing database exactly as it was.
        """
        try:
            return self._restore(source, database, progress)
        except psycopg.Error as exc:  # the driver's words, in the one error family
            raise RestoreError(error_message(exc)) from exc

    def _restore(
        self,
        source: PayloadSource,
        database: str | None,
        progress: ProgressCallback | None,
    ) -> str:
        with self._admin() as conn:
            exists = database is not None and database_exists(conn, database)
        if exists:
            assert database is not None
            self._restore_into_existing(source, database, progress)
            return database
        named = database is not None
        database = self.create_sandbox(database, while_restoring=True)
        try:
            with self._admin() as conn:
                role = sandbox_role(conn, database)
                assert role is not None
                before = snapshot(conn, database, role)
            self._play(source, database, role, progress)
            with self._admin() as conn:
                changed = changes(before, snapshot(conn, database, role))
            if changed:
                raise RestoreError(
                    "refused: the template changed " + " and ".join(changed)
                    + "; the sandbox was dropped"
                )
            if named:
                self._keep_restored(database)
        except BaseException:
            try:
                self.drop_sandbox(database)
            except SandboxBusy as exc:
                log.warning("%s", exc)
            except EngineError as exc:
                log.warning("could not drop %s after a failed restore: %s", database, exc)
            raise
        return database

    def _play(
        self, source: PayloadSource, database: str, role: str, progress: ProgressCallback | None
    ) -> None:
        limits = self.restore_limits()
        conn = self._login(
            database,
            role,
            autocommit=False,
            application_name="dbplay restore",
            options=pinned_options(str(self._conninfo.get("options") or ""), limits),
        )
        run_payload(conn, source, progress, admin=self._admin(), limits=limits)

    def _restore_into_existing(
        self, source: PayloadSource, database: str, progress: ProgressCallback | None
    ) -> None:
        """Restore into a user's empty database, then hand the objects to its owner.

        The database itself is never changed: a role made for the restore gets grants
        only, and loses them (and its objects, on failure) at the end.
        """
        with self._admin(database) as conn:
            if not _is_empty(conn):
                raise RestoreError(f"database {database!r} already exists and is not empty")
        with self._admin() as conn:
            owner = database_owner(conn, database)
            assert owner is not None
            may_reassign = conn.execute(
                "SELECT pg_catalog.pg_has_role(current_user, %s, 'MEMBER')", (owner,)
            ).fetchone()
            if not (is_superuser(conn) or (may_reassign and may_reassign[0])):
                raise RestoreError(
                    f"cannot restore into {database!r}: it belongs to {owner}, and this "
                    "account cannot hand the restored objects to that role"
                )
            role = create_role(conn, self._role_limits())
            before = snapshot(conn, database, role)
            try:
                lend_database(conn, self._admin(database), database, role)
            except BaseException:
                with suppress(psycopg.Error, EngineError):
                    take_back(self._admin(database), role, keep_objects_for=None)
                drop_role_quietly(conn, role)
                raise
        restored = False
        try:
            self._play(source, database, role, progress)
            with self._admin() as conn:
                after = snapshot(conn, database, role)
            changed = [c for c in changes(before, after) if "access" not in c]
            if changed:
                raise RestoreError("refused: the template changed " + " and ".join(changed))
            take_back(self._admin(database), role, keep_objects_for=owner)
            restored = True
        finally:
            if not restored:
                with suppress(psycopg.Error, EngineError):
                    take_back(self._admin(database), role, keep_objects_for=None)
            with self._admin() as conn:
                drop_role(conn, self._admin, role)



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
