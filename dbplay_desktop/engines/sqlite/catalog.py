"""Read an SQLite file's objects from ``sqlite_schema``: the catalog tree and dump facts.

The tree has the shape of the PostgreSQL one (schema -> tables and views -> columns and
indexes), with one schema, ``main``, and triggers under their table. Only SQLite's own
pragmas are read (``table_list``, ``table_xinfo``, ``index_list``), which run no code of
the database's: views are never queried and generated columns never computed here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from dbplay_desktop.engines.base import CatalogItem


def quote(name: str) -> str:
    """An SQLite identifier, always double-quoted (safe for any name)."""
    return '"' + name.replace('"', '""') + '"'


def insert_name(name: str) -> str:
    """What completion inserts: the name bare when it is a plain identifier."""
    plain = name.isidentifier() and name.isascii() and name.lower() not in _RESERVED
    return name if plain else quote(name)


_RESERVED_WORDS = (
    "select from where table index view trigger order group by insert update delete "
    "create drop alter values default check primary key references join on as and or "
    "not null unique in is case when then else end limit offset union all distinct having"
)
_RESERVED = frozenset(_RESERVED_WORDS.split())


@dataclass(frozen=True)
class TableInfo:
    """One table as the dump needs it."""

    name: str
    sql: str
    without_rowid: bool
    strict: bool
    columns: list[tuple[str, str, int, int]]  # (name, declared type, pk order, hidden)

    @property
    def stored_columns(self) -> list[str]:
        """Columns a row is inserted with: not the generated ones (hidden 2 and 3)."""
        return [name for name, _type, _pk, hidden in self.columns if hidden not in (2, 3)]

    @property
    def rowid_alias(self) -> bool:
        """True when an ``INTEGER PRIMARY KEY`` column is the rowid (it is dumped anyway)."""
        keys = [(name, decl) for name, decl, pk, _hidden in self.columns if pk]
        return len(keys) == 1 and keys[0][1].upper() == "INTEGER"

    def rowid_name(self) -> str | None:
        """A name that reaches the rowid, when it must be dumped explicitly."""
        if self.without_rowid or self.rowid_alias:
            return None
        names = {name.lower() for name, *_ in self.columns}
        return next((n for n in ("rowid", "_rowid_", "oid") if n not in names), None)


def schema_rows(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
    """``(type, name, tbl_name, sql)`` of the user's objects, in creation order."""
    return conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_schema"
        " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
    ).fetchall()


def tables(conn: sqlite3.Connection) -> list[TableInfo]:
    """The user's ordinary tables (no views, no internal ``sqlite_*`` tables)."""
    flags = {
        name: (bool(wr), bool(strict))
        for _schema, name, kind, _ncol, wr, strict in conn.execute("PRAGMA main.table_list")
        if kind == "table"
    }
    found = []
    for kind, name, _tbl, sql in schema_rows(conn):
        if kind != "table" or sql is None:
            continue
        without_rowid, strict = flags.get(name, (False, False))
        columns = [
            (col_name, decl or "", pk, hidden)
            for _cid, col_name, decl, _notnull, _default, pk, hidden in conn.execute(
                "SELECT * FROM pragma_table_xinfo(?, 'main')", (name,)
            )
        ]
        found.append(TableInfo(name, sql, without_rowid, strict, columns))
    return found


def load_catalog(conn: sqlite3.Connection) -> list[CatalogItem]:
    """``main`` -> tables and views (-> columns, indexes, triggers)."""
    schema = CatalogItem("main", "schema", insert_text="main")
    owners: dict[str, CatalogItem] = {}
    rows = schema_rows(conn)
    for kind, name, _tbl, sql in rows:
        if kind not in ("table", "view"):
            continue
        detail = ""
        if sql and kind == "table" and "virtual" in sql[:30].lower():
            detail = "virtual"
        item = CatalogItem(name, kind, detail, insert_name(name))
        for _cid, col, decl, notnull, _default, pk, hidden in conn.execute(
            "SELECT * FROM pragma_table_xinfo(?, 'main')", (name,)
        ):
            if hidden == 1:
                continue
            text = decl or ""
            if pk:
                text += " primary key"
            elif notnull:
                text += " not null"
            if hidden in (2, 3):
                text += " generated"
            item.children.append(CatalogItem(col, "column", text.strip(), insert_name(col)))
        owners[name] = item
        schema.children.append(item)
    for kind, name, table, sql in rows:
        owner = owners.get(table)
        if owner is None or kind not in ("index", "trigger"):
            continue
        detail = _index_detail(conn, name) if kind == "index" else _trigger_detail(sql or "")
        owner.children.append(CatalogItem(name, kind, detail, insert_name(name)))
    return [schema]


def _index_detail(conn: sqlite3.Connection, name: str) -> str:
    columns = [
        col if col is not None else "<expression>"
        for _seq, _cid, col in conn.execute("SELECT * FROM pragma_index_info(?)", (name,))
    ]
    return "(" + ", ".join(columns) + ")"


def _trigger_detail(sql: str) -> str:
    """``after insert`` and the like: the words before ``ON``."""
    words = sql.split()
    lower = [w.lower() for w in words]
    if "on" not in lower:
        return ""
    head = lower[: lower.index("on")]
    when = [w for w in head if w in ("before", "after", "instead", "of", "insert", "update",
                                     "delete")]
    return " ".join(when)


def stats(conn: sqlite3.Connection) -> dict[str, int]:
    """Object counts for a template's manifest (rows are counted by the dump)."""
    counts = {"tables": 0, "views": 0, "indexes": 0, "triggers": 0}
    key = {"table": "tables", "view": "views", "index": "indexes", "trigger": "triggers"}
    for kind, _name, _tbl, _sql in schema_rows(conn):
        if kind in key:
            counts[key[kind]] += 1
    return counts
