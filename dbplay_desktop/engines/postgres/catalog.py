"""Read a PostgreSQL database's objects from pg_catalog: the catalog tree and template stats.

A handful of set-based queries (one per object kind) instead of one query per table keeps
the tree fast on databases with hundreds of tables.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import sql

from dbplay_desktop.engines.base import CatalogItem, DumpError, ProgressCallback

_USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'
"""

# Objects that belong to an extension are the extension's business, not the user's.
_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (SELECT 1 FROM pg_depend d
                WHERE d.classid = {catalog}::regclass AND d.objid = {oid} AND d.deptype = 'e')
"""

_RELATION_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
    "S": "sequence",
}

_SCHEMAS = f"SELECT n.nspname FROM pg_namespace n WHERE {_USER_SCHEMAS} ORDER BY 1"

_RELATIONS = f"""
SELECT n.nspname, c.relname, c.relkind, c.oid
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {_USER_SCHEMAS}
  AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
ORDER BY 1, 2
"""

_COLUMNS = f"""
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       (SELECT true FROM pg_index i
        WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey))
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {_USER_SCHEMAS}
ORDER BY a.attrelid, a.attnum
"""

# Index detail reads like "unique btree (lower(email)) where active": short enough for a
# narrow tree, unlike the full CREATE INDEX text.
_INDEXES = f"""
SELECT i.indrelid, ic.relname,
       CASE WHEN i.indisprimary THEN 'primary key '
            WHEN i.indisunique THEN 'unique ' ELSE '' END
       || am.amname || ' ('
       || (SELECT string_agg(pg_get_indexdef(i.indexrelid, k, true), ', ' ORDER BY k)
           FROM generate_series(1, i.indnkeyatts) AS k)
       || ')'
       || CASE WHEN i.indpred IS NULL THEN ''
               ELSE ' where ' || pg_get_expr(i.indpred, i.indrelid, true) END
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE {_USER_SCHEMAS}
ORDER BY i.indrelid, ic.relname
"""

_FUNCTIONS = f"""
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
       CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
       CASE WHEN p.prokind = 'p' THEN '' ELSE pg_get_function_result(p.oid) END
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMAS} AND p.prokind IN ('f', 'p', 'w', 'a')
  AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_proc'", oid="p.oid")}
ORDER BY 1, 2, 3
"""

_TYPES = f"""
SELECT n.nspname, t.typname,
       CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'c' THEN 'composite' WHEN 'd' THEN 'domain'
                      WHEN 'r' THEN 'range' WHEN 'm' THEN 'multirange' ELSE t.typtype::text END,
       CASE t.typtype
         WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                        FROM pg_enum e WHERE e.enumtypid = t.oid)
         WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
         ELSE '' END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_USER_SCHEMAS}
  AND {_NOT_EXTENSION_MEMBER.format(catalog="'pg_type'", oid="t.oid")}
  AND (t.typtype IN ('e', 'd', 'r', 'm')
       OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
ORDER BY 1, 2
"""


def _qualified(schema: str, name: str) -> str:
    """Text to insert for a name: unqualified in ``public``, quoted only when needed."""
    from pglast.stream import maybe_double_quote_name

    quoted = maybe_double_quote_name(name)
    return quoted if schema == "public" else f"{maybe_double_quote_name(schema)}.{quoted}"


def load_catalog(conn: psycopg.Connection[Any]) -> list[CatalogItem]:
    """The database's user objects as schema -> (tables, views, ...) -> columns/indexes."""
    from pglast.stream import maybe_double_quote_name

    with conn.cursor() as cur:
        schemas = {
            name: CatalogItem(name, "schema", insert_text=maybe_double_quote_name(name))
            for (name,) in cur.execute(_SCHEMAS)
        }
        relations: dict[int, CatalogItem] = {}
        for schema, name, relkind, oid in cur.execute(_RELATIONS).fetchall():
            item = CatalogItem(name, _RELATION_KINDS[relkind], insert_text=_qualified(schema, name))
            relations[oid] = item
            schemas[schema].children.append(item)
        for relid, name, type_name, not_null, primary in cur.execute(_COLUMNS):
            owner = relations.get(relid)
            if owner is None:
                continue
            detail = type_name + (" primary key" if primary else " not null" if not_null else "")
            owner.children.append(
                CatalogItem(name, "column", detail, insert_text=maybe_double_quote_name(name))
            )
        for relid, name, definition in cur.execute(_INDEXES):
            owner = relations.get(relid)
            if owner is not None:
                owner.children.append(CatalogItem(name, "index", definition, name))
        for schema, name, args, kind, returns in cur.execute(_FUNCTIONS):
            detail = f"({args})" + (f" → {returns}" if returns else "")
            schemas[schema].children.append(
                CatalogItem(name, kind, detail, insert_text=_qualified(schema, name))
            )
        for schema, name, kind, detail in cur.execute(_TYPES):
            text = f"{kind} {detail}".strip() if detail else kind
            schemas[schema].children.append(
                CatalogItem(name, "type", text, insert_text=_qualified(schema, name))
            )
    return list(schemas.values())


#: Counting a template's rows may take this long in all (seconds); then it stops counting.
COUNT_BUDGET = 30.0


def database_stats(
    conn: psycopg.Connection[Any], progress: ProgressCallback | None = None
) -> dict[str, int]:
    """Object and row counts for a template's manifest (rows counted exactly).

    Counting runs the database's own row-security policies, which a stranger's template
    may make slow on purpose, so it is time-limited (:data:`COUNT_BUDGET`; the manifest
    then has no row count) and ``progress`` returning True cancels it at once.
    """
    counts: dict[str, int] = defaultdict(int)
    tables: list[tuple[str, str]] = []
    for schema in load_catalog(conn):
        counts["schemas"] += 1
        for item in schema.children:
            key = {
                "table": "tables",
                "partitioned table": "tables",
                "view": "views",
                "materialized view": "materialized_views",
                "sequence": "sequences",
                "function": "functions",
                "procedure": "functions",
                "type": "types",
                "foreign table": "tables",
            }[item.kind]
            counts[key] += 1
            counts["indexes"] += sum(1 for child in item.children if child.kind == "index")
            if item.kind == "table":
                tables.append((schema.name, item.name))
    rows = _count_rows(conn, tables, progress)
    if rows is not None:
        counts["rows"] = rows
    return dict(counts)


def _count_rows(
    conn: psycopg.Connection[Any],
    tables: list[tuple[str, str]],
    progress: ProgressCallback | None,
) -> int | None:
    """The rows of ``tables``, or None when counting took longer than the budget."""
    deadline = time.monotonic() + COUNT_BUDGET
    rows = 0
    with conn.cursor() as cur, _cancelling(conn, progress) as cancelled:
        for schema, name in tables:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            cur.execute(f"SET statement_timeout = {max(1, int(left * 1000))}")
            query = sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            try:
                rows += cur.execute(query).fetchone()[0]  # type: ignore[index]
            except psycopg.errors.QueryCanceled as exc:
                if cancelled.is_set():
                    raise DumpError("save cancelled") from exc
                return None
            if cancelled.is_set() or (progress is not None and progress(0, None)):
                raise DumpError("save cancelled")
        cur.execute("SET statement_timeout = 0")
    return rows


@contextmanager
def _cancelling(
    conn: psycopg.Connection[Any], progress: ProgressCallback | None
) -> Iterator[threading.Event]:
    """While the block runs, a thread asks ``progress`` and cancels the running query."""
    cancelled, done = threading.Event(), threading.Event()

    def watch() -> None:
        while progress is not None and not done.wait(0.25):
            if progress(0, None):
                cancelled.set()
                with suppress(psycopg.Error, OSError):
                    conn.cancel_safe(timeout=5.0)
                return

    thread = threading.Thread(target=watch, name="dbplay count watchdog", daemon=True)
    thread.start()
    try:
        yield cancelled
    finally:
        done.set()
        thread.join(1.0)
