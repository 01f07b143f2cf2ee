"""The Chroma engine on a Chroma server (``chroma+http://``), the session's ``chroma run``:
sandboxes are databases of the tenant, calls run there, and a template goes from the server
to an embedded store and back without losing a record, a float or the collection's space."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

pytest.importorskip("chromadb")

import chromadb

from dbplay_desktop.engines.base import ColumnKind, ColumnRole, ResultKind
from dbplay_desktop.engines.chroma.descriptor import DESCRIPTOR
from dbplay_desktop.values import Vector, normalize

CREATE = 'create_collection("docs", configuration={"hnsw": {"space": "l2"}})'
ADD = ('docs.add(ids=["a", "b", "c"],'
       ' embeddings=[[0.1, 0.2, 0.3], [1.0, 1.0, 1.0], [0.1, 0.2, 0.35]],'
       ' documents=["apple", "brick", "apricot"],'
       ' metadatas=[{"color": "red", "n": 1}, {"color": "grey", "n": 2},'
       ' {"color": "orange", "n": 3}])')
GET = 'docs.get(include=["embeddings", "documents", "metadatas"])'
QUERY = "docs.query(query_embeddings=[[0.1, 0.2, 0.3]], n_results=2)"


def _server(uri: str) -> tuple[str, int, str]:
    parts = urlsplit(uri)
    tenant = dict(parse_qsl(parts.query)).get("tenant", "default_tenant")
    return parts.hostname or "127.0.0.1", parts.port or 8000, tenant


def _admin(uri: str):
    from chromadb.config import Settings

    host, port, _tenant = _server(uri)
    return chromadb.AdminClient(Settings(
        chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host=host,
        chroma_server_http_port=port, anonymized_telemetry=False))


def _databases(uri: str) -> set[str]:
    _host, _port, tenant = _server(uri)
    return {d["name"] for d in _admin(uri).list_databases(tenant=tenant)}


def _http_client(uri: str, database: str):
    from chromadb.config import Settings

    host, port, tenant = _server(uri)
    return chromadb.HttpClient(host=host, port=port, tenant=tenant, database=database,
                               settings=Settings(anonymized_telemetry=False))


def _run(session, text: str) -> list[tuple[Any, list[tuple[Any, ...]]]]:
    """Every result of ``text`` with its rows; fails on the first error."""
    done = []
    for result in session.execute(text):
        assert result.error is None, f"{result.statement.text}: {result.error}"
        rows = [row for batch in result.batches() for row in batch]
        result.close()
        done.append((result, rows))
    return done


def _records(result, rows) -> list[dict[str, Any]]:
    names = [column.name for column in result.columns or []]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _column(result, role: ColumnRole) -> str:
    found = [c.name for c in result.columns or [] if c.role == role]
    assert found, f"no {role.value} column in {[c.name for c in result.columns or []]}"
    return found[0]


def _floats(value: Any) -> list[float]:
    value = normalize(value)
    assert isinstance(value, Vector), repr(value)
    return value.tolist()


@pytest.fixture
def engine(chroma_http_uri: str) -> Iterator[object]:
    from dbplay_desktop.engines.chroma.engine import ChromaEngine

    engine = ChromaEngine(chroma_http_uri)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def sandbox(engine) -> Iterator[str]:
    database = engine.create_sandbox()
    try:
        yield database
    finally:
        engine.drop_sandbox(database)


def _fill(engine, database: str) -> None:
    with engine.connect(database) as session:
        _run(session, f"{CREATE}\n{ADD}")


def _uri(server_uri: str, database: str) -> str:
    return DESCRIPTOR.uri_for_database(server_uri, database, with_password=True)


# --------------------------------------------------------------------------- the server


def test_the_test_server_answers_its_heartbeat(chroma_http_uri):
    parts = urlsplit(chroma_http_uri)
    assert parts.scheme in ("chroma+http", "chroma+https")
    scheme = parts.scheme.split("+", 1)[1]
    url = f"{scheme}://{parts.hostname}:{parts.port}/api/v2/heartbeat"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert "nanosecond heartbeat" in json.loads(response.read())


# --------------------------------------------------------------------------- sandboxes


def test_a_sandbox_is_a_database_of_the_tenant_and_drop_deletes_it(engine, chroma_http_uri):
    database = engine.create_sandbox()
    try:
        assert database not in ("", "default_database")
        assert database in _databases(chroma_http_uri)
        with engine.connect(database) as session:
            _run(session, CREATE)
        # The collection is in the sandbox's database, not the default one.
        assert [c.name for c in _http_client(chroma_http_uri, database).list_collections()] \
            == ["docs"]
        default = _http_client(chroma_http_uri, "default_database")
        assert "docs" not in [c.name for c in default.list_collections()]
    finally:
        engine.drop_sandbox(database)
    assert database not in _databases(chroma_http_uri)
    assert "default_database" in _databases(chroma_http_uri)  # nothing else went


def test_two_sandboxes_are_two_databases(engine, chroma_http_uri):
    first, second = engine.create_sandbox(), engine.create_sandbox()
    try:
        assert first != second
        assert {first, second} <= _databases(chroma_http_uri)
    finally:
        engine.drop_sandbox(first)
        engine.drop_sandbox(second)
    assert not {first, second} & _databases(chroma_http_uri)


# --------------------------------------------------------------------------- calls


def test_add_get_and_query_run_on_the_server(engine, sandbox, chroma_http_uri):
    with engine.connect(sandbox) as session:
        created, added = _run(session, f"{CREATE}\n{ADD}")
        assert created[0].changes_state and added[0].changes_state
        [(got, rows)] = _run(session, GET)
        [(queried, hits)] = _run(session, QUERY)

    # get: one row per record, its id, document, metadata keys and embedding.
    assert got.kind == ResultKind.VECTOR_RECORDS
    assert not got.changes_state
    names = [c.name for c in got.columns]
    assert "id" in names and "color" in names and "n" in names
    id_name = next(c.name for c in got.columns if c.kind == ColumnKind.ID)
    document = _column(got, ColumnRole.DOCUMENT)
    embedding = _column(got, ColumnRole.EMBEDDING)
    assert [c.kind for c in got.columns if c.name == embedding] == [ColumnKind.VECTOR]
    records = {r[id_name]: r for r in _records(got, rows)}
    assert set(records) == {"a", "b", "c"}
    assert records["a"][document] == "apple"
    assert records["b"]["color"] == "grey" and records["c"]["n"] == 3
    assert _floats(records["a"][embedding]) == [
        float(Vector([0.1, 0.2, 0.3])[i]) for i in range(3)]  # float32, exactly

    # query: the nearest two by l2, nearest first, with their distances.
    assert not queried.changes_state
    hit_records = _records(queried, hits)
    assert [r[id_name] for r in hit_records] == ["a", "c"]
    distance = _column(queried, ColumnRole.DISTANCE)
    first, second = (float(r[distance]) for r in hit_records)
    assert first == pytest.approx(0.0, abs=1e-6)
    assert second == pytest.approx(0.05 ** 2, rel=1e-3)  # l2 is squared in Chroma

    # The records really are on the server, in the sandbox's database.
    docs = _http_client(chroma_http_uri, sandbox).get_collection("docs")
    assert docs.count() == 3
    assert docs.configuration_json["hnsw"]["space"] == "l2"


def test_a_failing_call_says_why_and_stops(engine, sandbox):
    with engine.connect(sandbox) as session:
        results = list(session.execute('get_collection("nope")\nlist_collections()'))
    assert len(results) == 1 and results[0].error is not None
    assert "nope" in results[0].error.message


# --------------------------------------------------------------------------- templates


def _persistent(path: Path):
    """A client of an embedded store, with the engine's settings (chromadb shares one system
    per folder in a process, and refuses a second client with other settings)."""
    from dbplay_desktop.engines.chroma.engine import client_settings

    return chromadb.PersistentClient(path=str(path), settings=client_settings())


def _embedded_snapshot(path: Path) -> dict[str, Any]:
    return _snapshot(_persistent(path))


def _snapshot(client) -> dict[str, Any]:
    """Every collection's space and records, embeddings as float32 lists (over HTTP Chroma
    sends float32's short text, 0.1, where an embedded store gives the float32 itself,
    0.10000000149011612: both read back to the same float32)."""
    out: dict[str, Any] = {}
    for collection in client.list_collections():
        got = collection.get(include=["embeddings", "documents", "metadatas"])
        records = {
            id_: (document, metadata, Vector([float(x) for x in embedding]).tolist())
            for id_, document, metadata, embedding in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"],
                strict=True)
        }
        space = (collection.configuration_json.get("hnsw") or {}).get("space")
        out[collection.name] = (space, records)
    return out


def _make_embedded_store(path: Path) -> None:
    client = _persistent(path)
    # Not cosine for records: Chroma rescales a cosine collection's vectors as it stores
    # them, so no copy of them can be bit-exact; an empty one still carries its space.
    docs = client.create_collection("docs", configuration={"hnsw": {"space": "ip"}})
    docs.add(ids=["x", "y"], embeddings=[[1 / 3, -2.5e-8, 7.0], [0.5, 0.25, math.pi]],
             documents=["one third", "pi"], metadatas=[{"k": "v", "f": 1.5}, {"k": "w"}])
    client.create_collection("empty", configuration={"hnsw": {"space": "cosine"}})


def test_a_template_goes_from_the_server_to_an_embedded_store(
        engine, sandbox, chroma_http_uri, tmp_path: Path):
    from dbplay_desktop.templates.container import read_manifest
    from dbplay_desktop.templates.operations import restore_template, save_template

    _fill(engine, sandbox)
    expected = _snapshot(_http_client(chroma_http_uri, sandbox))
    assert expected["docs"][0] == "l2" and len(expected["docs"][1]) == 3

    out = tmp_path / "docs.dbtpl"
    save_template(_uri(chroma_http_uri, sandbox), out, name="Docs")
    assert read_manifest(out).engine == "chroma"

    store = tmp_path / "restored"
    restore_template(out, f"chroma://{store}")
    assert _embedded_snapshot(store) == expected


def test_a_template_goes_from_an_embedded_store_to_the_server(
        engine, chroma_http_uri, tmp_path: Path):
    from dbplay_desktop.templates.operations import restore_template, save_template

    source = tmp_path / "store"
    _make_embedded_store(source)
    expected = _embedded_snapshot(source)
    assert set(expected) == {"docs", "empty"}

    out = tmp_path / "store.dbtpl"
    save_template(f"chroma://{source}", out, name="Store")

    # Into a database of the server's that does not exist yet: restore creates it.
    target = f"dbplay_restore_{tmp_path.name[-8:].replace('-', '_')}"
    assert target not in _databases(chroma_http_uri)
    try:
        assert restore_template(out, _uri(chroma_http_uri, target)) == target
        assert target in _databases(chroma_http_uri)
        assert _snapshot(_http_client(chroma_http_uri, target)) == expected
    finally:
        engine.drop_sandbox(target)  # restore made it a sandbox of the engine's
    assert target not in _databases(chroma_http_uri)

    # And into a fresh sandbox through the engine, as a playground would.
    database = engine.create_sandbox()
    try:
        from dbplay_desktop.templates.container import TemplateReader

        with TemplateReader(out) as reader:
            engine.restore(reader, database)
        assert _snapshot(_http_client(chroma_http_uri, database)) == expected
    finally:
        engine.drop_sandbox(database)
