"""Sandbox databases and their roles, as the admin connection makes and removes them.

A sandbox is a database **owned by the admin** and one role made for it alone
(``dbplay_sbx_<hex>``: no superuser, no CREATEDB/CREATEROLE, no replication, no RLS
bypass, and NOLOGIN at rest). The role gets only what it needs inside: CONNECT, TEMPORARY
and CREATE on its database and ownership of its ``public`` schema. Because it does not own
the database it cannot change it: ``ALTER DATABASE``, ``COMMENT ON DATABASE``,
``IS_TEMPLATE``, connection limits and per-database settings all need the owner, whatever
a template runs at COMMIT or later. What a role may still change about itself (its
password, its own ``ALTER ROLE ... SET``) is undone or checked: it logs in only through
:func:`login`, which sets a fresh random password and LOGIN, connects, and takes both away
again, and the restore compares :func:`snapshot` before and after it commits.

The role of a sandbox is found from the database's access list, which only the owner (the
admin) can write; older sandboxes, owned by their role, are still recognised.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.engines.postgres.errors import error_message

SANDBOX_MARK = "dbplay sandbox"
# Unnamed sandboxes (the window's playgrounds) are throwaway: see drop_abandoned_playgrounds.
PLAYGROUND_MARK = "dbplay sandbox (playground)"
SANDBOX_MARKS = (SANDBOX_MARK, PLAYGROUND_MARK)
SANDBOX_ROLE_PREFIX = "dbplay_sbx_"

#: Opens an autocommit admin connection to a database (None: any that exists).
AdminOpener = Callable[[str | None], AbstractContextManager[psycopg.Connection[Any]]]

# The role attributes a sandbox role is made with; a restore that changes any is refused.
_ROLE_ATTRIBUTES = (
    "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
)


class SandboxBusy(EngineError):
    """The sandbox could not be dropped yet: a statement on it ignores cancel requests.

    Its role was disabled and the drop is journaled: dbplay retries at its next start.
    """

    title = "Sandbox still busy"


@dataclass(frozen=True)
class Sandbox:
    """A sandbox database and the role that works in it."""

    database: str
    role: str


# --------------------------------------------------------------------------- making


def can_create_roles(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def is_superuser(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def create_role(conn: psycopg.Connection[Any], limits: dict[str, str]) -> str:
    """A new sandbox role (NOLOGIN, no password) with the admin's ``limits`` as its defaults.

    Limits a non-superuser admin may not set (``temp_file_limit``, the log levels) are
    skipped on such servers: the server's own settings apply there.
    """
    if not can_create_roles(conn):
        raise EngineError(
            "this PostgreSQL account cannot create roles; dbplay needs CREATEROLE and "
            "CREATEDB to run sandboxes as an unprivileged role"
        )
    role = SANDBOX_ROLE_PREFIX + secrets.token_hex(6)
    ident = sql.Identifier(role)
    conn.execute(sql.SQL(f"CREATE ROLE {{}} {_ROLE_ATTRIBUTES}").format(ident))
    try:
        # Membership lets a non-superuser admin drop what the role owns later.
        conn.execute(sql.SQL("GRANT {} TO current_user").format(ident))
        set_role_limits(conn, role, limits)
    except BaseException:
        drop_role_quietly(conn, role)
        raise
    return role


def set_role_limits(
    conn: psycopg.Connection[Any], role: str, limits: dict[str, str], *, reset: bool = False
) -> None:
    """Make ``limits`` the role's defaults; with ``reset``, first forget any other default
    (one the role gave itself with ``ALTER ROLE ... SET`` while a session ran as it)."""
    ident = sql.Identifier(role)
    if reset:
        conn.execute(sql.SQL("ALTER ROLE {} RESET ALL").format(ident))
    superuser = is_superuser(conn)
    for name, value in limits.items():
        if not superuser and name in SUPERUSER_SETTINGS:
            continue
        conn.execute(
            sql.SQL("ALTER ROLE {} SET {} = {}").format(
                ident, sql.Identifier(name), sql.Literal(value)
            )
        )


#: Role settings only a superuser can set (and the role itself cannot change).
SUPERUSER_SETTINGS = frozenset({"temp_file_limit", "log_min_messages", "log_min_error_statement"})


def prepare_database(
    conn: psycopg.Connection[Any],
    inside: AbstractContextManager[psycopg.Connection[Any]] | None,
    database: str,
    role: str,
    *,
    mark: str | None,
) -> None:
    """Give ``role`` what it needs in ``database`` (created just before by the admin).

    ``mark`` is written as the database's comment (only its owner, the admin, can change
    it); ``inside`` is an admin connection to the database itself, for its schema.
    """
    db, ident = sql.Identifier(database), sql.Identifier(role)
    if mark is not None:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(db, sql.Literal(mark)))
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {} TO {}").format(db, ident))
    if inside is not None:
        with inside as schema_conn:
            schema_conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(ident))


def keep_as_pristine(conn: psycopg.Connection[Any], database: str, role: str) -> None:
    """Nobody logs in to a sandbox kept as the pristine copy its clones are made from: its
    role keeps only CREATE there, which still names it as the database's role."""
    conn.execute(
        sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM {}").format(
            sql.Identifier(database), sql.Identifier(role)
        )
    )


def copy_database(conn: psycopg.Connection[Any], source: str, target: str) -> None:
    """``CREATE DATABASE target TEMPLATE source``, the admin owning the copy.

    WAL_LOG (PostgreSQL 15+) copies block by block through the WAL; FILE_COPY forces
    two checkpoints, which costs about a second even for a small database.
    """
    strategy = sql.SQL(" STRATEGY WAL_LOG") if conn.info.server_version >= 150000 else sql.SQL("")
    conn.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(target), sql.Identifier(source)
        )
        + strategy
    )


def lend_database(
    conn: psycopg.Connection[Any],
    inside: AbstractContextManager[psycopg.Connection[Any]],
    database: str,
    role: str,
) -> None:
    """Let ``role`` restore into a user's existing, empty database: grants only.

    Nothing of the database itself changes (owner, comment, flags); :func:`take_back`
    revokes the grants again, or hands the restored objects to the database's owner.
    """
    db, ident = sql.Identifier(database), sql.Identifier(role)
    conn.execute(sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(db, ident))
    with inside as schema_conn:
        exists = schema_conn.execute(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public'"
        ).fetchone()
        if exists:
            schema_conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(ident))


def take_back(
    inside: AbstractContextManager[psycopg.Connection[Any]],
    role: str,
    *,
    keep_objects_for: str | None,
) -> None:
    """Undo :func:`lend_database` in that database: objects go to ``keep_objects_for``
    (the database's owner) or are dropped, and every grant to ``role`` is revoked."""
    ident = sql.Identifier(role)
    with inside as conn:
        if keep_objects_for is not None:
            conn.execute(
                sql.SQL("REASSIGN OWNED BY {} TO {}").format(
                    ident, sql.Identifier(keep_objects_for)
                )
            )
        conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))


# --------------------------------------------------------------------------- finding


def renew_role_limits(conn: psycopg.Connection[Any], role: str, limits: dict[str, str]) -> None:
    """Put the role's defaults back to ``limits`` when a session changed them (one read
    when nothing changed, which is the usual case)."""
    superuser = is_superuser(conn)
    wanted = sorted(
        f"{name}={value}" for name, value in limits.items()
        if superuser or name not in SUPERUSER_SETTINGS
    )
    row = conn.execute(
        """
        SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s
        JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
        WHERE r.rolname = %s AND s.setdatabase = 0
        """,
        (role,),
    ).fetchone()
    if sorted(row[0] if row and row[0] else []) != wanted:
        set_role_limits(conn, role, limits, reset=True)


def role_databases(conn: psycopg.Connection[Any], role: str) -> list[str]:
    """The databases a sandbox role works in: the ones granting it CREATE, or owned by it.

    Objects it owns elsewhere do not count: a template that planted some must not keep
    its role alive (:func:`drop_role` removes them). More than one when a sandbox was
    cloned (its pristine copy, ready clones and the working database share the role);
    the role is dropped with the last of them.
    """
    rows = conn.execute(
        """
        SELECT d.datname FROM pg_catalog.pg_database d
        JOIN pg_catalog.pg_roles r ON r.rolname = %(role)s
        WHERE d.datdba = r.oid OR EXISTS (
            SELECT 1 FROM pg_catalog.aclexplode(d.datacl) a
            WHERE a.grantee = r.oid AND a.privilege_type = 'CREATE')
        ORDER BY 1
        """,
        {"role": role},
    ).fetchall()
    return [row[0] for row in rows]


def sandbox_role(conn: psycopg.Connection[Any], database: str) -> str | None:
    """The role of a sandbox database, if it has one of ours.

    Read from what only the admin can write (the database's access list), or the owner of
    a sandbox made by an older dbplay; never from the comment.
    """
    row = conn.execute(
        """
        SELECT r.rolname FROM pg_catalog.pg_database d
        JOIN pg_catalog.pg_roles r ON r.oid = d.datdba
        WHERE d.datname = %(db)s AND starts_with(r.rolname, %(prefix)s)
        UNION ALL
        SELECT r.rolname FROM pg_catalog.pg_database d
        CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) a
        JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
        WHERE d.datname = %(db)s AND a.privilege_type = 'CREATE'
          AND starts_with(r.rolname, %(prefix)s)
        LIMIT 1
        """,
        {"db": database, "prefix": SANDBOX_ROLE_PREFIX},
    ).fetchone()
    return row[0] if row else None


def is_sandbox(conn: psycopg.Connection[Any], database: str) -> bool:
    """Marked as a sandbox by its admin-owned comment, or owned by a sandbox role."""
    row = conn.execute(
        """
        SELECT pg_catalog.shobj_description(d.oid, 'pg_database'),
               starts_with(pg_catalog.pg_get_userbyid(d.datdba), %s)
        FROM pg_catalog.pg_database d WHERE d.datname = %s
        """,
        (SANDBOX_ROLE_PREFIX, database),
    ).fetchone()
    return row is not None and (row[0] in SANDBOX_MARKS or bool(row[1]))


def database_exists(conn: psycopg.Connection[Any], database: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (database,)
    ).fetchone()
    return row is not None


def database_owner(conn: psycopg.Connection[Any], database: str) -> str | None:
    row = conn.execute(
        "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database "
        "WHERE datname = %s",
        (database,),
    ).fetchone()
    return row[0] if row else None


# --------------------------------------------------------------------------- logging in


def enable_login(conn: psycopg.Connection[Any], role: str) -> str:
    """LOGIN with a fresh random password for one connection attempt; returns it.

    Setting both in one statement means LOGIN is never on with a password the role chose.
    """
    password = secrets.token_urlsafe(24)
    conn.execute(
        sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)
        )
    )
    return password


def disable_login(conn: psycopg.Connection[Any], role: str) -> None:
    """NOLOGIN and no password: open sessions go on, nobody can log in as the role."""
    conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN PASSWORD NULL").format(sql.Identifier(role)))


# --------------------------------------------------------------------------- checking

# What a template must leave as it found it, read by the admin after the restore commits:
# the database's row, settings of the database or the role, the role's attributes and
# memberships, and (for a superuser) whether the role has a password.
_DATABASE_STATE = """
SELECT d.datdba, d.datistemplate, d.datallowconn, d.datconnlimit,
       ARRAY(SELECT a::pg_catalog.text FROM pg_catalog.aclexplode(
             COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))) a ORDER BY 1),
       pg_catalog.shobj_description(d.oid, 'pg_database')
FROM pg_catalog.pg_database d WHERE d.datname = %s
"""
_SETTINGS_STATE = """
SELECT s.setdatabase, s.setrole, s.setconfig::pg_catalog.text
FROM pg_catalog.pg_db_role_setting s
WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = %(db)s)
   OR s.setrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %(role)s)
ORDER BY 1, 2, 3
"""
_ROLE_STATE = """
SELECT r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
       r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::pg_catalog.text,
       ARRAY(SELECT m.roleid::pg_catalog.text || '>' || m.member::pg_catalog.text
             FROM pg_catalog.pg_auth_members m
             WHERE m.member = r.oid OR m.roleid = r.oid ORDER BY 1)
FROM pg_catalog.pg_roles r WHERE r.rolname = %s
"""
_PASSWORD_STATE = "SELECT rolpassword IS NULL FROM pg_catalog.pg_authid WHERE rolname = %s"


def snapshot(conn: psycopg.Connection[Any], database: str, role: str) -> dict[str, Any]:
    """The server-level state of a sandbox, for comparing before and after a restore."""
    state: dict[str, Any] = {
        "database": conn.execute(_DATABASE_STATE, (database,)).fetchone(),
        "settings": conn.execute(_SETTINGS_STATE, {"db": database, "role": role}).fetchall(),
        "role": conn.execute(_ROLE_STATE, (role,)).fetchone(),
    }
    if is_superuser(conn):
        state["no password"] = conn.execute(_PASSWORD_STATE, (role,)).fetchone()
    return state


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, in words for the refusal message."""
    words = {
        "database": "its database's owner, flags, access or comment",
        "settings": "settings of its database or role (ALTER ... SET)",
        "role": "its role's attributes or memberships",
        "no password": "its role's password",
    }
    return [words[key] for key in before if before.get(key) != after.get(key)]


# --------------------------------------------------------------------------- dropping


def owned_elsewhere(conn: psycopg.Connection[Any], role: str) -> list[str]:
    """Databases where ``role`` owns objects or holds privileges (``pg_shdepend``)."""
    rows = conn.execute(
        """
        SELECT DISTINCT d.datname FROM pg_catalog.pg_shdepend s
        JOIN pg_catalog.pg_database d ON d.oid = s.dbid
        WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
          AND s.refobjid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = %s)
        ORDER BY 1
        """,
        (role,),
    ).fetchall()
    return [row[0] for row in rows]


def drop_role(conn: psycopg.Connection[Any], open_admin: AdminOpener, role: str) -> None:
    """Drop ``role`` and everything it owns in any database; if that fails, disable it.

    Raises :class:`EngineError` saying the role was disabled when it could not be
    dropped: never silently keeps a role that can log in.
    """
    with suppress(psycopg.Error):
        disable_login(conn, role)
    problem = ""
    for database in owned_elsewhere(conn, role):
        try:
            with open_admin(database) as other:
                other.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        except (psycopg.Error, EngineError) as exc:
            problem = problem or f"in database {database!r}: {error_message(exc)}"
    try:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    except psycopg.Error as exc:
        raise EngineError(
            f"role {role} could not be dropped ({problem or error_message(exc)}); "
            "it was disabled (NOLOGIN, no password)"
        ) from exc


def drop_role_quietly(conn: psycopg.Connection[Any], role: str) -> None:
    """Drop a role that owns nothing yet (a sandbox that failed while being made)."""
    with suppress(psycopg.Error):
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def busy_backends(conn: psycopg.Connection[Any], database: str) -> int:
    """Sessions on ``database`` still running a statement."""
    row = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = %s "
        "AND state IS DISTINCT FROM 'idle' AND pid <> pg_catalog.pg_backend_pid()",
        (database,),
    ).fetchone()
    return int(row[0]) if row else 0


def drop_database(conn: psycopg.Connection[Any], database: str) -> None:
    """``DROP DATABASE ... WITH (FORCE)``; :class:`SandboxBusy` when a session ignores it."""
    ident = sql.Identifier(database)
    try:
        with suppress(psycopg.errors.InsufficientPrivilege):
            # Only a sandbox made by an older dbplay (owned by its role) can be a template.
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(ident))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
    except psycopg.errors.ObjectInUse as exc:
        raise SandboxBusy(
            f"database {database!r} is still running a statement that ignores cancel "
            "requests; dbplay will drop it at its next start"
        ) from exc
    except psycopg.Error as exc:
        raise EngineError(f"cannot drop database {database!r}: {error_message(exc)}") from exc


def stray_roles(conn: psycopg.Connection[Any]) -> Iterator[str]:
    """Sandbox roles no database refers to and nobody is logged in as (left by a crash)."""
    rows = conn.execute(
        """
        SELECT r.rolname FROM pg_catalog.pg_roles r
        WHERE starts_with(r.rolname, %s)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d WHERE d.datdba = r.oid)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database d,
                          pg_catalog.aclexplode(d.datacl) a WHERE a.grantee = r.oid)
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity s WHERE s.usesysid = r.oid)
        ORDER BY 1
        """,
        (SANDBOX_ROLE_PREFIX,),
    ).fetchall()
    for (role,) in rows:
        yield role
