"""One case per registered engine: an engine and the texts the contract tests run.

The ``case`` fixture is parametrised over :func:`engine_names`, so an engine installed
through the ``dbplay.engines`` entry-point group runs the whole suite. An engine that is
registered but has no builder in :data:`BUILDERS` fails every test with a message saying
what to add; it is never skipped.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dbplay_desktop.engines.base import Engine
from dbplay_desktop.engines.registry import engine_names
from tests.helpers import mongo_long_query

#: The rows every case's ``create_script`` leaves in its table, in id order.
ROWS: list[tuple[int, str | None]] = [
    (1, "Rex"), (2, "semi;colon"), (3, None), (4, "héllo ☃"), (5, "it's"),
    (6, "six"), (7, "seven"), (8, "eight"), (9, "nine"), (10, "ten"),
]
TABLE = "pets"
#: How long the MongoDB long query may run on the server after a test let go of it (more
#: than any test waits for it to be cancelled).
MONGO_LONG_QUERY_SECONDS = 60
COLUMNS = ["id", "name"]
#: What ``split`` must make of :data:`SPLIT_TEXT`: each statement's text, line and column.
SPLIT_TEXT = "SELECT 'a;b' AS x;\n  SELECT 2;\nSELECT 3"
SPLIT_EXPECTED = [("SELECT 'a;b' AS x", 1, 1), ("SELECT 2", 2, 3), ("SELECT 3", 3, 1)]


def _values() -> str:
    def literal(value: str | None) -> str:
        return "NULL" if value is None else "'" + value.replace("'", "''") + "'"

    return ",\n  ".join(f"({i}, {literal(name)})" for i, name in ROWS)


@dataclass
class EngineCase:
    """What the contract tests need from one engine, in that engine's own language."""

    name: str
    engine: Engine
    #: creates :data:`TABLE` with :data:`COLUMNS` and :data:`ROWS`
    create_script: str
    #: selects :data:`COLUMNS` of :data:`TABLE` in id order
    select_rows: str
    #: runs far longer than any test waits, unless cancelled
    long_query: str
    #: a script whose statement number ``error_index`` (0-based) is a syntax error
    syntax_error: str
    error_index: int
    error_line: int
    #: a payload (``dump.sql``) the scan must refuse; it would write ``witness``
    hostile_payload: bytes
    witness: Path
    #: makes a database that is not a sandbox, yields its name, removes it afterwards
    foreign_database: Callable[[], AbstractContextManager[str]]
    #: whether a database of that name still exists
    database_exists: Callable[[str], bool]
    # Defaults fit the SQL engines; an engine of another language overrides them.
    #: the columns and rows ``select_rows`` gives (in order)
    columns: list[str] = field(default_factory=lambda: list(COLUMNS))
    rows: list[tuple[object, ...]] = field(default_factory=lambda: list(ROWS))
    #: a text with a statement separator inside a literal, and its statements
    split_text: str = SPLIT_TEXT
    split_expected: list[tuple[str, int, int]] = field(
        default_factory=lambda: list(SPLIT_EXPECTED)
    )
    #: a trivial query (the session still works) and its rows
    probe: str = "SELECT 1"
    probe_rows: list[tuple[object, ...]] = field(default_factory=lambda: [(1,)])
    #: the payload file the hostile payload is written as
    payload_path: str = "dump.sql"
    #: the catalog node ``create_script`` makes, and the names of its children of a kind
    catalog_kind: str = "table"
    catalog_name: str = TABLE
    catalog_child_kind: str = "column"
    catalog_children: list[str] = field(default_factory=lambda: list(COLUMNS))


# --------------------------------------------------------------------------- builders


def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    import psycopg

    engine: Engine = request.getfixturevalue("pg_engine")
    admin_uri: str = request.getfixturevalue("pg_admin_uri")
    witness = tmp_path / "pwned"

    @contextmanager
    def foreign_database() -> Iterator[str]:
        name = f"users_own_{secrets.token_hex(4)}"
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            with psycopg.connect(admin_uri, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def database_exists(name: str) -> bool:
        with psycopg.connect(admin_uri) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return row.fetchone() is not None

    return EngineCase(
        name="postgresql",
        engine=engine,
        create_script=(
            f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, name text);\n"
            f"INSERT INTO {TABLE} VALUES\n  {_values()};\n"
        ),
        select_rows=f"SELECT id, name FROM {TABLE} ORDER BY id",
        long_query="SELECT pg_sleep(600)",
        syntax_error="SELECT 1;\nSELECT *\n  FROM t WHERE a = 2 GROUP wrong;\nSELECT 3;",
        error_index=1,
        error_line=3,
        hostile_payload=(
            "CREATE TABLE t (id integer);\n"
            "INSERT INTO t VALUES (1);\n"
            f"COPY (SELECT 1) TO PROGRAM 'touch {witness}';\n"
        ).encode(),
        witness=witness,
        foreign_database=foreign_database,
        database_exists=database_exists,
    )


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    from dbplay_desktop.engines.sqlite.engine import SqliteEngine

    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    engine = SqliteEngine("sqlite://")
    witness = tmp_path / "victim.db"

    @contextmanager
    def foreign_database() -> Iterator[str]:
        path = tmp_path / "users_own.db"
        path.write_bytes(b"a user's own file")
        try:
            yield str(path)
        finally:
            path.unlink(missing_ok=True)

    def database_exists(name: str) -> bool:
        return engine.path_of(name).exists()

    return EngineCase(
        name="sqlite",
        engine=engine,
        create_script=(
            f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, name TEXT);\n"
            f"INSERT INTO {TABLE} VALUES\n  {_values()};\n"
        ),
        select_rows=f"SELECT id, name FROM {TABLE} ORDER BY id",
        long_query=(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 100000000000) SELECT count(*) FROM n"
        ),
        syntax_error="SELECT 1;\nSELECT *\n  FROM t WHERE a = 2 GROUP wrong;\nSELECT 3;",
        error_index=1,
        error_line=3,
        hostile_payload=(
            "CREATE TABLE t (x);\n"
            "INSERT INTO t VALUES (1);\n"
            f"ATTACH DATABASE '{witness}' AS v;\n"
            "CREATE TABLE v.t (x);\n"
        ).encode(),
        witness=witness,
        foreign_database=foreign_database,
        database_exists=database_exists,
    )


def _kv(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    """The test-only key-value engine (tests/plugin_engine), in its own command language."""
    from dbplay_kv_engine.engine import KvEngine

    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    engine = KvEngine("kv://")
    rows = [(f"{TABLE}:{i:02d}", name or "") for i, name in ROWS]

    @contextmanager
    def foreign_database() -> Iterator[str]:
        path = tmp_path / "users_own.json"
        path.write_text("{}\n")
        try:
            yield str(path)
        finally:
            path.unlink(missing_ok=True)

    return EngineCase(
        name="kv",
        engine=engine,
        create_script="".join(f"SET {shlex.quote(k)} {shlex.quote(v)}\n" for k, v in rows),
        select_rows=f"KEYS {TABLE}:",
        long_query="SLEEP 600",
        syntax_error="KEYS\n# a comment\nSET only-a-key\nKEYS",
        error_index=1,
        error_line=3,
        hostile_payload=f'{{"a": "1", "b": {{"$readfile": "{tmp_path / "pwned"}"}}}}'.encode(),
        witness=tmp_path / "pwned",
        foreign_database=foreign_database,
        database_exists=lambda name: engine.path_of(name).exists(),
        columns=["key", "value"],
        rows=list(rows),
        split_text="SET a 'x;y' # note\n  GET a\n# a comment line\r\nKEYS",
        split_expected=[("SET a 'x;y' # note", 1, 1), ("GET a", 2, 3), ("KEYS", 4, 1)],
        probe="GET nothing",
        probe_rows=[],
        payload_path="data.json",
        catalog_kind="prefix",
        catalog_name=TABLE,
        catalog_child_kind="key",
        catalog_children=[key for key, _value in rows],
    )




def _mongodb(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    import json

    from pymongo import MongoClient

    from dbplay_desktop.engines.mongo.engine import (
        REGISTRY_COLLECTION,
        REGISTRY_DATABASE,
        MongoEngine,
    )

    uri: str = request.getfixturevalue("mongo_uri")
    engine = MongoEngine(uri)
    admin: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=5000)
    request.addfinalizer(admin.close)
    request.addfinalizer(engine.close)

    def literal(value: str | None) -> str:
        return "null" if value is None else json.dumps(value, ensure_ascii=False)

    documents = ", ".join(f"{{_id: {i}, name: {literal(name)}}}" for i, name in ROWS)

    @contextmanager
    def foreign_database() -> Iterator[str]:
        name = f"users_own_{secrets.token_hex(4)}"
        admin[name]["things"].insert_one({"a": 1})
        try:
            yield name
        finally:
            admin.drop_database(name)

    def database_exists(name: str) -> bool:
        if name in admin.list_database_names():
            return True
        return admin[REGISTRY_DATABASE][REGISTRY_COLLECTION].find_one({"_id": name}) is not None

    hostile = {
        "options": {"validator": {"$expr": {"$function": {
            "body": "function() { return true; }", "args": [], "lang": "js"}}}},
        "indexes": [], "collectionName": TABLE, "type": "collection",
    }
    return EngineCase(
        name="mongodb",
        engine=engine,
        create_script=(
            f'db.createCollection("{TABLE}")\n'
            f"db.{TABLE}.insertMany([{documents}])\n"
        ),
        select_rows=f"db.{TABLE}.find().sort({{_id: 1}})",
        long_query=mongo_long_query(uri, MONGO_LONG_QUERY_SECONDS),
        syntax_error=f"db.{TABLE}.countDocuments({{}})\n// a comment\n"
                     f"db.{TABLE}.find({{a: }})\ndb.{TABLE}.find()",
        error_index=1,
        error_line=3,
        hostile_payload=json.dumps(hostile).encode(),
        witness=tmp_path / "pwned",
        foreign_database=foreign_database,
        database_exists=database_exists,
        columns=["_id", "name"],
        split_text='db.a.find({x: "a;b"});\n  db.b.find();\ndb.c.find()',
        split_expected=[('db.a.find({x: "a;b"})', 1, 1), ("db.b.find()", 2, 3),
                        ("db.c.find()", 3, 1)],
        probe=f"db.{TABLE}.countDocuments({{}})",
        probe_rows=[(0,)],
        payload_path=f"{TABLE}.metadata.json",
        catalog_kind="collection",
        catalog_name=TABLE,
        catalog_child_kind="field",
        catalog_children=["_id", "name"],
    )


#: Records in the collection the chroma case's sessions find (see :func:`_chroma`).
CHROMA_LONG_RECORDS = 5000


def _chroma(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    """Chroma in embedded folders (``chroma://``: sandboxes under the data directory).

    Adapted for a store whose calls are atomic: no Chroma call runs long on an empty
    database, and a call in flight cannot be stopped (the session stops between the pages
    of a ``get``). So this case's engine gives every session a collection ``big`` of
    :data:`CHROMA_LONG_RECORDS` records (added through the session's own calls when a
    database does not have it yet) and a batch size of 1, and the long query is a ``get``
    over ``big``: about 5000 round trips, which a cancel stops between two of them.
    Records are collection rows: the id is a string, a record without metadata has no
    ``name`` (MISSING, not None).
    """
    import json

    from dbplay_desktop.engines.chroma.engine import ChromaEngine
    from dbplay_desktop.values import MISSING

    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    seed = (
        'get_or_create_collection("big")\n'
        f"big.add(ids={json.dumps([f'{i:05d}' for i in range(CHROMA_LONG_RECORDS)])}, "
        f"embeddings={[[float(i), 1.0] for i in range(CHROMA_LONG_RECORDS)]})\n"
    )

    class SeededChromaEngine(ChromaEngine):
        def connect(self, database: str | None = None):  # type: ignore[no-untyped-def]
            session = super().connect(database)
            names = [row[0] for result in session.execute("list_collections()")
                     for row in result.fetch_all()]
            if "big" not in names:
                for result in session.execute(seed):
                    assert result.error is None, result.error
            session.batch_size = 1
            return session

    engine = SeededChromaEngine("chroma://")
    witness = tmp_path / "pwned"

    @contextmanager
    def foreign_database() -> Iterator[str]:
        path = tmp_path / "users_own"
        path.mkdir()
        (path / "chroma.sqlite3").write_bytes(b"a user's own store")
        try:
            yield str(path)
        finally:
            import shutil

            shutil.rmtree(path, ignore_errors=True)

    embeddings = [[float(i), 0.0] for i, _name in ROWS]
    metadatas = [None if name is None else {"name": name} for _i, name in ROWS]
    # An embeddings file saved as a pickle: loading it (never done) would run ``touch``.
    hostile = (b"cos\nsystem\n(V" + f"touch {witness}".encode() + b"\ntR.")
    return EngineCase(
        name="chroma",
        engine=engine,
        create_script=(
            f'create_collection("{TABLE}")\n'
            f"{TABLE}.add(ids={json.dumps([str(i) for i, _name in ROWS])},\n"
            f"  embeddings={embeddings},\n"
            f"  metadatas={json.dumps(metadatas, ensure_ascii=False).replace('null', 'None')})\n"
        ),
        select_rows=f'{TABLE}.get(include=["metadatas"])',
        long_query='big.get(include=["metadatas", "documents", "embeddings"])',
        syntax_error=f'count_collections()\n# a comment\n{TABLE}.get(where={{"a": }})\n'
                     f"{TABLE}.count()",
        error_index=1,
        error_line=3,
        hostile_payload=hostile,
        witness=witness,
        foreign_database=foreign_database,
        database_exists=lambda name: engine.path_of(name).exists(),
        columns=["id", "name"],
        rows=[(str(i), MISSING if name is None else name) for i, name in ROWS],
        split_text='pets.get(where={"name": "a;b"});\n  pets.count();\ncount_collections()',
        split_expected=[('pets.get(where={"name": "a;b"})', 1, 1), ("pets.count()", 2, 3),
                        ("count_collections()", 3, 1)],
        probe="count_collections()",
        probe_rows=[(1,)],
        payload_path="collections/0/embeddings.pkl",
        catalog_kind="collection",
        catalog_name=TABLE,
        catalog_child_kind="field",
        catalog_children=["name"],
    )


#: engine name -> builder of its case. A new engine adds one builder here.
BUILDERS: dict[str, Callable[[pytest.FixtureRequest, Path], EngineCase]] = {
    "postgresql": _postgresql,
    "sqlite": _sqlite,
    "kv": _kv,
    "mongodb": _mongodb,
    "chroma": _chroma,
}


@pytest.fixture(params=engine_names())
def case(request: pytest.FixtureRequest, tmp_path: Path) -> EngineCase:
    """The case of one registered engine (fails, never skips, for an unknown engine)."""
    name: str = request.param
    builder = BUILDERS.get(name)
    if builder is None:
        pytest.fail(
            f"engine {name!r} is registered (dbplay.engines entry point) but the "
            f"conformance suite has no case for it: add a builder for {name!r} to BUILDERS "
            "in tests/engines/conformance/conftest.py giving an engine instance, a script "
            f"creating table {TABLE!r} with the rows of ROWS, a query selecting them, a "
            "long-running query, a syntax error with its line, a hostile payload with "
            "the file it would write, and a database that is not a sandbox",
            pytrace=False,
        )
    built = builder(request, tmp_path)
    assert built.engine.name == name, f"the {name!r} case built a {built.engine.name!r} engine"
    return built
