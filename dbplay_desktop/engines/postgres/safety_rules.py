"""What the PostgreSQL safety scan allows and refuses, kept apart from the tree walk.

The lists are the policy a reviewer reads: which languages, extensions and settings a
template may use, which statement kinds and server functions are refused and why. The
reasons are the messages users see. :mod:`dbplay_desktop.engines.postgres.safety` applies them
to parse trees.
"""

from __future__ import annotations

#: Languages a template's functions may use: no access to the server beyond SQL.
ALLOWED_LANGUAGES = frozenset({"sql", "plpgsql", "plperl", "pltcl", "plv8"})

#: Extensions that are safe to install into a sandbox (PostgreSQL's "trusted" ones).
TRUSTED_EXTENSIONS = frozenset(
    {
        "btree_gin",
        "btree_gist",
        "citext",
        "cube",
        "dict_int",
        "fuzzystrmatch",
        "hstore",
        "intarray",
        "isn",
        "lo",
        "ltree",
        "pg_trgm",
        "pgcrypto",
        "plpgsql",
        "seg",
        "tablefunc",
        "tcn",
        "tsm_system_rows",
        "tsm_system_time",
        "unaccent",
        "uuid-ossp",
        "plperl",
        "pltcl",
        "vector",
    }
)

#: psql meta-commands the restore understands (pg_dump 15.14+ writes them) and skips.
RESTORE_META_COMMANDS = frozenset({"\\restrict", "\\unrestrict"})


def is_skipped_meta(line: str) -> bool:
    """Whether a meta-command line is one the restore skips: ``\\restrict KEY`` as pg_dump
    writes it. Anything more on the line (psql would run ``\\restrict k \\! cmd`` as two
    commands) makes it a refused one.
    """
    words = line.split()
    if not words or words[0] not in RESTORE_META_COMMANDS or len(words) > 2:
        return False
    return len(words) == 1 or (words[1].isascii() and words[1].isalnum())

#: Settings ``set_config()`` may change: the ones pg_dump and ordinary sessions use.
SET_CONFIG_ALLOWED = frozenset(
    {
        "search_path",
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
        "transaction_timeout",
        "check_function_bodies",
        "xmloption",
        "client_min_messages",
        "row_security",
        "default_tablespace",
        "default_table_access_method",
        "default_with_oids",
        "datestyle",
        "intervalstyle",
        "timezone",
        "extra_float_digits",
        "application_name",
        "work_mem",
        "maintenance_work_mem",
    }
)

#: Settings a SET statement must not change.
SET_REFUSED = {
    "role": "SET/RESET ROLE switches to another account",
    "session_authorization": "SET SESSION AUTHORIZATION switches to another account",
    "session_preload_libraries": "preloading server libraries is not allowed",
    "local_preload_libraries": "preloading server libraries is not allowed",
    "shared_preload_libraries": "preloading server libraries is not allowed",
}

_FILE_FUNCTIONS = frozenset(
    {"pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_logdir_ls", "pg_current_logfile"}
)
_ADMIN_FUNCTIONS = frozenset(
    {
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_promote",
        "pg_switch_wal",
        "pg_start_backup",
        "pg_stop_backup",
        "pg_log_backend_memory_contexts",
        "pg_import_system_collations",
    }
)
_ADMIN_PREFIXES = (
    "pg_backup_",
    "pg_create_",
    "pg_copy_",
    "pg_logical_",
    "pg_wal_replay_",
    "pg_replication_origin_",
)

# Reasons shown to the user, shared by several refused statement kinds.
_ROLES = "templates must not create, change or drop roles"
_DATABASES = "templates must not create, change or drop databases"
_TABLESPACES = "tablespaces are server-level objects"
_FOREIGN = "foreign servers, wrappers, user mappings and foreign tables reach outside the sandbox"
_SUBSCRIPTIONS = "subscriptions connect to other servers"
_EVENT_TRIGGERS = "event triggers act on the whole database"
OWNERS = "templates carry no owners"

#: Statement kinds refused outright, with the reason shown to the user.
REFUSED_STATEMENTS = {
    "AlterSystemStmt": "ALTER SYSTEM changes the server configuration",
    "CreateRoleStmt": _ROLES,
    "AlterRoleStmt": _ROLES,
    "AlterRoleSetStmt": _ROLES,
    "DropRoleStmt": _ROLES,
    "GrantRoleStmt": "GRANT/REVOKE of role membership is not allowed",
    "CreatedbStmt": _DATABASES,
    "AlterDatabaseStmt": _DATABASES,
    "AlterDatabaseSetStmt": _DATABASES,
    "AlterDatabaseRefreshCollStmt": _DATABASES,
    "DropdbStmt": _DATABASES,
    "CreateTableSpaceStmt": _TABLESPACES,
    "DropTableSpaceStmt": _TABLESPACES,
    "AlterTableSpaceOptionsStmt": _TABLESPACES,
    "AlterTableMoveAllStmt": _TABLESPACES,
    "LoadStmt": "LOAD loads a library into the server",
    "CreateEventTrigStmt": _EVENT_TRIGGERS,
    "AlterEventTrigStmt": _EVENT_TRIGGERS,
    "CreateSubscriptionStmt": _SUBSCRIPTIONS,
    "AlterSubscriptionStmt": _SUBSCRIPTIONS,
    "DropSubscriptionStmt": _SUBSCRIPTIONS,
    "CreateForeignServerStmt": _FOREIGN,
    "AlterForeignServerStmt": _FOREIGN,
    "CreateFdwStmt": _FOREIGN,
    "AlterFdwStmt": _FOREIGN,
    "CreateUserMappingStmt": _FOREIGN,
    "AlterUserMappingStmt": _FOREIGN,
    "DropUserMappingStmt": _FOREIGN,
    "ImportForeignSchemaStmt": _FOREIGN,
    "CreateForeignTableStmt": _FOREIGN,
    "CreatePLangStmt": "CREATE LANGUAGE is not allowed (use a trusted language)",
    "CreateAmStmt": "access methods need server C code",
    "AlterOwnerStmt": f"ALTER ... OWNER TO: {OWNERS}",
    "ReassignOwnedStmt": f"REASSIGN OWNED: {OWNERS}",
    "DropOwnedStmt": "DROP OWNED acts on a role's objects",
    "CheckPointStmt": "CHECKPOINT is a server administration command",
}

#: ALTER ... RENAME of these server-level objects is refused.
RENAME_REFUSED = {
    "OBJECT_ROLE": _ROLES,
    "OBJECT_DATABASE": _DATABASES,
    "OBJECT_TABLESPACE": _TABLESPACES,
    "OBJECT_FOREIGN_SERVER": _FOREIGN,
    "OBJECT_FDW": _FOREIGN,
    "OBJECT_SUBSCRIPTION": _SUBSCRIPTIONS,
    "OBJECT_EVENT_TRIGGER": _EVENT_TRIGGERS,
}
#: COMMENT ON / GRANT ON these server-level objects is refused. A sandbox owns its
#: database, so the server would let it rewrite its comment (which marks it a sandbox)
#: or grant access to it; pg_dump without --create never writes either.
SHARED_OBJECTS_REFUSED = {
    "OBJECT_DATABASE": _DATABASES,
    "OBJECT_ROLE": _ROLES,
    "OBJECT_TABLESPACE": _TABLESPACES,
    "OBJECT_PARAMETER_ACL": "GRANT/REVOKE on server settings is not allowed",
    "OBJECT_FDW": _FOREIGN,
    "OBJECT_FOREIGN_SERVER": _FOREIGN,
    "OBJECT_SUBSCRIPTION": _SUBSCRIPTIONS,
    "OBJECT_EVENT_TRIGGER": _EVENT_TRIGGERS,
}
#: Why CONCURRENTLY and VACUUM are refused: a restore is one transaction.
IN_TRANSACTION = "cannot run inside the restore transaction"


def denied_function(name: str) -> str | None:
    """Why calling the function ``name`` (schema ignored) is refused, or ``None``."""
    name = name.lower()
    if name in _FILE_FUNCTIONS or name.startswith(("pg_ls_", "pg_file_")):
        return "reads or writes files on the server"
    if name in ("lo_import", "lo_export"):
        return "reads or writes files on the server"
    if name.startswith("dblink"):
        return "connects to other databases"
    if name in _ADMIN_FUNCTIONS or name.startswith(_ADMIN_PREFIXES):
        return "administers the server"
    if name.startswith("pg_") and "slot" in name:
        return "administers replication slots"
    return None
