"""The engines the load tests use, their templates, large results and leftovers.

Every engine that is available here takes part: PostgreSQL (always: the test cluster),
SQLite (always: the standard library), MongoDB (the test server, when pymongo and a
server program are installed) and Chroma (embedded sandbox folders, when chromadb is
installed). A template of each holds ``rows`` records, built by the engine's own
driver and saved by dbplay; :func:`big_query` is a statement returning that many rows.
:func:`leftovers` lists what a playground could leave behind on each engine: sandbox
databases and ``dbplay_sbx_*`` roles on PostgreSQL, databases and registry entries on
MongoDB, files and folders in the data directory for SQLite and Chroma.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from dbplay_desktop.templates.operations import save_template

#: Template table/collection names: every engine gets the same kind of rows.
TABLE = "items"


@dataclass
class Engines:
    """The servers of this run, by engine name (an engine without one is left out)."""

    pg_admin_uri: str
    mongo_uri: str | None = None
    chroma: bool = False
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = ["postgresql", "sqlite"]
        if self.mongo_uri is not None:
            self.names.append("mongodb")
        if self.chroma:
            self.names.append("chroma")

    @property
    def server_uris(self) -> dict[str, str]:
        uris = {"postgresql": self.pg_admin_uri}
        if self.mongo_uri is not None:
            uris["mongodb"] = self.mongo_uri
        return uris


# --------------------------------------------------------------------------- templates


def make_template(engines: Engines, name: str, rows: int, folder: Path) -> Path:
    """A template of engine ``name`` with a table (collection) of ``rows`` records."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}-{rows}.dbtpl"
    if out.is_file():
        return out
    maker = {"postgresql": _pg_template, "sqlite": _sqlite_template,
             "mongodb": _mongo_template, "chroma": _chroma_template}[name]
    maker(engines, rows, out, folder)
    return out


def _pg_template(engines: Engines, rows: int, out: Path, folder: Path) -> None:
    from dbplay_desktop.engines.registry import engine_for_uri

    engine = engine_for_uri(engines.pg_admin_uri)
    database = engine.create_sandbox()
    try:
        with engine.connect(database) as session:
            sql = (f"CREATE TABLE {TABLE} (id int PRIMARY KEY, label text, doubled bigint);"
                   f"INSERT INTO {TABLE} SELECT g, 'row ' || g, g * 2 "
                   f"FROM generate_series(1, {rows}) g;")
            for result in session.execute(sql):
                if result.error is not None:
                    raise result.error
                result.close()
        save_template(_with_database(engines.pg_admin_uri, database), out, name="Load items")
    finally:
        engine.drop_sandbox(database)


def _sqlite_template(engines: Engines, rows: int, out: Path, folder: Path) -> None:
    source = folder / f"sqlite-{rows}.db"
    source.unlink(missing_ok=True)
    connection = sqlite3.connect(source)
    try:
        with connection:
            connection.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, label TEXT, "
                               "doubled INTEGER)")
            connection.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?)",
                                   ((i, f"row {i}", i * 2) for i in range(1, rows + 1)))
    finally:
        connection.close()
    save_template(f"sqlite://{source}", out, name="Load items")


def _mongo_template(engines: Engines, rows: int, out: Path, folder: Path) -> None:
    import pymongo

    from dbplay_desktop.engines.mongo.engine import MongoEngine

    assert engines.mongo_uri is not None
    engine = MongoEngine(engines.mongo_uri)
    database = engine.create_sandbox()
    try:
        with pymongo.MongoClient(engines.mongo_uri, serverSelectionTimeoutMS=10_000) as client:
            collection = client[database][TABLE]
            for start in range(1, rows + 1, 5000):
                stop = min(rows + 1, start + 5000)
                collection.insert_many([{"_id": i, "label": f"row {i}", "doubled": i * 2}
                                        for i in range(start, stop)])
        save_template(f"{engines.mongo_uri.rstrip('/')}/{database}", out, name="Load items")
    finally:
        engine.drop_sandbox(database)
        engine.close()


def _chroma_template(engines: Engines, rows: int, out: Path, folder: Path) -> None:
    import chromadb

    from dbplay_desktop.engines.chroma.engine import client_settings

    store = folder / f"chroma-{rows}"
    client = chromadb.PersistentClient(path=str(store), settings=client_settings())
    collection = client.create_collection(TABLE, configuration={"hnsw": {"space": "l2"}})
    step = 5000
    for start in range(0, rows, step):
        ids = range(start, min(rows, start + step))
        collection.add(ids=[f"r{i}" for i in ids],
                       embeddings=[[float(i % 97), float(i % 89), 1.0, 0.5] for i in ids],
                       documents=[f"row {i}" for i in ids],
                       metadatas=[{"doubled": i * 2} for i in ids])
    save_template(f"chroma://{store}", out, name="Load items")


def _with_database(uri: str, database: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(uri)._replace(path="/" + database).geturl()


# --------------------------------------------------------------------------- queries


def big_query(name: str, rows: int) -> str:
    """A statement of engine ``name`` that returns ``rows`` rows (its template's table
    for the document and vector engines, generated rows for the SQL ones)."""
    if name == "postgresql":
        return (f"SELECT g AS id, 'row ' || g AS label, g * 2 AS doubled, "
                f"timestamptz '2026-01-01' + g * interval '1 second' AS at "
                f"FROM generate_series(1, {rows}) g;")
    if name == "sqlite":
        return (f"WITH RECURSIVE c(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM c "
                f"WHERE g < {rows}) SELECT g AS id, 'row ' || g AS label, g * 2 AS doubled "
                "FROM c;")
    if name == "mongodb":
        return f"db.{TABLE}.find()"
    return f'{TABLE}.get(include=["documents", "metadatas"])'


def small_query(name: str) -> str:
    """A statement that reads a few rows of the template's table."""
    if name in ("postgresql", "sqlite"):
        return f"SELECT id, label FROM {TABLE} ORDER BY id LIMIT 5;"
    if name == "mongodb":
        return f"db.{TABLE}.find().sort({{_id: 1}}).limit(5)"
    return f'{TABLE}.get(limit=5, include=["documents"])'


# --------------------------------------------------------------------------- leftovers


def leftovers(engines: Engines, data_dir: Path) -> dict[str, set[str]]:
    """What exists now that a playground could leave behind, by kind."""
    found = {"postgresql databases": set(), "postgresql roles": set()}
    import psycopg

    with psycopg.connect(engines.pg_admin_uri, autocommit=True) as connection:
        found["postgresql databases"] = {row[0] for row in connection.execute(
            "SELECT datname FROM pg_database WHERE NOT datistemplate")}
        found["postgresql roles"] = {row[0] for row in connection.execute(
            r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbplay\_sbx\_%'")}
    if engines.mongo_uri is not None:
        import pymongo

        with pymongo.MongoClient(engines.mongo_uri, serverSelectionTimeoutMS=10_000) as client:
            found["mongodb databases"] = set(client.list_database_names())
            registry = client["dbplay_registry"]["sandboxes"]
            found["mongodb registry"] = {str(doc["_id"]) for doc in registry.find({}, {"_id": 1})}
    for kind in ("sqlite", "chroma"):
        folder = data_dir / kind
        found[f"{kind} files"] = ({str(path.relative_to(folder)) for path in folder.rglob("*")}
                                  if folder.is_dir() else set())
    return found


def grown(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """What ``after`` has that ``before`` had not, by kind (only kinds that grew)."""
    return {kind: sorted(after[kind] - before.get(kind, set()))
            for kind in after if after[kind] - before.get(kind, set())}
