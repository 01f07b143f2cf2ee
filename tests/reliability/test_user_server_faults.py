"""A user's own server that goes away mid-query or stops answering: one clear line, a
session that says it is lost, a reconnect that works, no hang past the timeouts.

Each engine that talks to a server (PostgreSQL, MongoDB, Chroma over HTTP) reaches its
real test server through :class:`FaultProxy`, which resets, blackholes and stalls the
connections on command. The tests wait on events with generous limits; they never
measure time. The connection timeout is set small (``DBPLAY_CONNECT_TIMEOUT``) so a
blackholed connect and an unanswered cancel end within seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from dbplay_desktop.engines.base import Engine, Session, StatementResult
from dbplay_desktop.engines.link import CONNECT_TIMEOUT_ENV
from dbplay_desktop.errors import ConnectionFailed, ConnectionLost, QueryCancelled
from tests.reliability.fault_proxy import FaultProxy

#: The connection timeout of these tests, in seconds (libpq waits at least 2).
TIMEOUT = "2"
#: How long a test waits for something that should take a few seconds at most.
PATIENCE = 60.0


@dataclass
class Target:
    """One engine's server behind a fault proxy, with a sandbox holding 500 records."""

    name: str
    proxy: FaultProxy
    make_engine: Callable[[], Engine]
    database: str
    count: str  # a statement answering one row: the number of records
    stream: str  # a statement returning the 500 records
    secret: str  # what must never appear in a message (a password), or ""

    def count_of(self, result: StatementResult) -> Any:
        assert result.error is None, str(result.error)
        rows = _ROWS[id(result)]
        return rows[0][-1]


def _with_port(uri: str, host: str, port: int) -> str:
    parts = urlsplit(uri)
    netloc = parts.netloc.rsplit("@", 1)
    address = f"{host}:{port}"
    netloc = f"{netloc[0]}@{address}" if len(netloc) == 2 else address
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture(autouse=True)
def small_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, TIMEOUT)


#: The rows :func:`_run` read, by result.
_ROWS: dict[int, list[Any]] = {}


def _run(session: Session, text: str) -> list[StatementResult]:
    """Run ``text``, reading every result's rows (a failure while reading stays in
    ``result.error``)."""
    results = []
    for result in session.execute(text):
        rows: list[Any] = []
        if result.returns_rows and result.error is None:
            try:
                rows = result.fetch_all()
            except Exception:
                pass
        _ROWS[id(result)] = rows
        results.append(result)
    return results


def _postgres(pg_admin_uri: str) -> Iterator[Target]:
    from dbplay_desktop.engines.postgres.engine import PostgresEngine

    parts = urlsplit(pg_admin_uri)
    direct = PostgresEngine(pg_admin_uri)
    database = direct.create_sandbox()
    with direct.connect(database) as session:
        results = _run(session, "CREATE TABLE pets (id int PRIMARY KEY, name text);"
                                "INSERT INTO pets SELECT g, 'pet ' || g "
                                "FROM generate_series(1, 500) g")
        assert all(r.error is None for r in results), [str(r.error) for r in results]
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    uri = _with_port(pg_admin_uri, proxy.host, proxy.port)
    try:
        yield Target("postgresql", proxy, lambda: PostgresEngine(uri), database,
                     "SELECT count(*) FROM pets", "SELECT * FROM pets ORDER BY id",
                     parts.password or "")
    finally:
        proxy.close()
        direct.drop_sandbox(database)


def _mongo(mongo_uri: str) -> Iterator[Target]:
    pytest.importorskip("pymongo")
    from dbplay_desktop.engines.mongo.engine import MongoEngine

    parts = urlsplit(mongo_uri)
    direct = MongoEngine(mongo_uri)
    database = direct.create_sandbox()
    documents = ", ".join(f'{{_id: {i}, name: "pet {i}"}}' for i in range(1, 501))
    with direct.connect(database) as session:
        results = _run(session, f"db.pets.insertMany([{documents}])")
        assert all(r.error is None for r in results), [str(r.error) for r in results]
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 27017)
    uri = _with_port(mongo_uri, proxy.host, proxy.port)
    # One address per server: the proxy's, never the server's own (a replica set's
    # members would be reached around the proxy).
    uri += ("&" if "?" in uri else "?") + "directConnection=true"
    try:
        yield Target("mongodb", proxy, lambda: MongoEngine(uri), database,
                     "db.pets.countDocuments({})", "db.pets.find({}).sort({_id: 1})",
                     parts.password or "")
    finally:
        proxy.close()
        direct.drop_sandbox(database)
        direct.close()


def _chroma(chroma_http_uri: str) -> Iterator[Target]:
    pytest.importorskip("chromadb")
    from dbplay_desktop.engines.chroma.engine import ChromaEngine

    parts = urlsplit(chroma_http_uri)
    direct = ChromaEngine(chroma_http_uri)
    database = direct.create_sandbox()
    ids = [f"p{i:03d}" for i in range(1, 501)]
    embeddings = [[float(i), 1.0, 0.5] for i in range(1, 501)]
    with direct.connect(database) as session:
        results = _run(session, 'create_collection("pets")\n'
                                f"pets.add(ids={ids!r}, embeddings={embeddings!r})")
        assert all(r.error is None for r in results), [str(r.error) for r in results]
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 8000)
    uri = _with_port(chroma_http_uri, proxy.host, proxy.port)
    try:
        yield Target("chroma", proxy, lambda: ChromaEngine(uri), database,
                     "pets.count()", "pets.get()", "")
    finally:
        proxy.close()
        direct.drop_sandbox(database)


@pytest.fixture(params=["postgresql", "mongodb", "chroma"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "postgresql":
        yield from _postgres(request.getfixturevalue("pg_admin_uri"))
    elif request.param == "mongodb":
        yield from _mongo(request.getfixturevalue("mongo_uri"))
    else:
        yield from _chroma(request.getfixturevalue("chroma_http_uri"))


# -- helpers -------------------------------------------------------------------------


class _Worker:
    """Runs ``work`` on a thread of its own; :meth:`wait` returns its answer or raises."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work
        self._done = threading.Event()
        self._answer: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            self._answer = self._work()
        except BaseException as exc:  # handed to the test
            self._error = exc
        finally:
            self._done.set()

    def wait(self, what: str) -> Any:
        assert self._done.wait(PATIENCE), f"{what} did not return"
        if self._error is not None:
            raise self._error
        return self._answer


def _first_result(session: Session, text: str) -> StatementResult:
    """The first result of ``text``, its rows read (a failure while reading is kept)."""
    results = _run(session, text)
    assert results, "no result"
    return results[0]


def _one_line_about(error: BaseException, target: Target) -> str:
    text = str(error)
    assert "\n" not in text and text.strip() == text
    assert target.proxy.address in text, text
    if target.secret:
        assert target.secret not in text
    return text


def _assert_lost(session: Session, result: StatementResult, target: Target) -> None:
    assert isinstance(result.error, ConnectionLost), repr(result.error)
    text = _one_line_about(result.error, target)
    assert text.startswith("lost the connection to"), text
    assert session.connection_lost
    # The session runs nothing more: the next statement says so at once.
    again = _first_result(session, target.count)
    assert isinstance(again.error, ConnectionLost), repr(again.error)
    _Worker(session.close).wait("close() of a lost session")
    session.close()  # twice: still quiet


def _cut_mid_query(target: Target, session: Session) -> StatementResult:
    """Send a statement, reset the link while it waits for the answer."""
    proxy = target.proxy
    proxy.stall()
    running = _Worker(lambda: _first_result(session, target.count))
    assert proxy.held.wait(PATIENCE), "the statement never reached the proxy"
    proxy.refuse()  # whatever the driver opens next is reset too
    proxy.reset_all()
    proxy.release()
    result = running.wait("a statement whose link was reset")
    return result


# -- tests ---------------------------------------------------------------------------


def test_a_reset_mid_query_is_a_lost_connection(target: Target) -> None:
    engine = target.make_engine()
    session = engine.connect(target.database)
    assert not session.connection_lost
    assert target.count_of(_first_result(session, target.count)) == 500
    result = _cut_mid_query(target, session)
    _assert_lost(session, result, target)


def test_a_reset_while_rows_stream_raises_from_batches(target: Target) -> None:
    engine = target.make_engine()
    session = engine.connect(target.database)
    session.batch_size = 20
    results = session.execute(target.stream)
    result = next(results)
    assert result.error is None, str(result.error)
    batches = result.batches()
    first = next(batches)
    assert len(first) == 20
    target.proxy.refuse()
    target.proxy.reset_all()
    with pytest.raises(ConnectionLost) as raised:
        for _batch in batches:
            pass
    assert result.error is raised.value
    _one_line_about(raised.value, target)
    assert session.connection_lost
    results.close()
    _Worker(session.close).wait("close() of a lost session")


def test_after_a_reset_a_new_session_works_and_sandboxes_drop(target: Target) -> None:
    engine = target.make_engine()
    spare = engine.create_sandbox()
    session = engine.connect(target.database)
    _assert_lost(session, _cut_mid_query(target, session), target)
    target.proxy.pass_through()
    again = _Worker(lambda: engine.connect(target.database)).wait("a reconnect")
    try:
        assert not again.connection_lost
        assert target.count_of(_first_result(again, target.count)) == 500
    finally:
        again.close()
    _Worker(lambda: engine.drop_sandbox(spare)).wait("dropping a sandbox after a reset")
    assert spare not in engine.list_databases()


def test_a_blackholed_server_fails_to_connect_within_the_timeout(target: Target) -> None:
    target.proxy.blackhole()
    engine = target.make_engine()
    with pytest.raises(ConnectionFailed) as raised:
        _Worker(lambda: engine.connect(target.database)).wait("connecting to a blackhole")
    assert not isinstance(raised.value, ConnectionLost)
    _one_line_about(raised.value, target)
    target.proxy.pass_through()
    session = _Worker(lambda: engine.connect(target.database)).wait("connecting again")
    session.close()


def test_a_cancel_on_a_stalled_server_returns(target: Target) -> None:
    engine = target.make_engine()
    session = engine.connect(target.database)
    proxy = target.proxy
    proxy.stall()
    running = _Worker(lambda: _first_result(session, target.count))
    assert proxy.held.wait(PATIENCE), "the statement never reached the proxy"
    _Worker(session.cancel).wait("cancel on a stalled server")
    result = running.wait("a cancelled statement on a stalled server")
    proxy.pass_through()
    assert isinstance(result.error, QueryCancelled | ConnectionLost), repr(result.error)
    if isinstance(result.error, ConnectionLost):
        _one_line_about(result.error, target)
    if session.connection_lost:
        _Worker(session.close).wait("close() after a cut")
        session = engine.connect(target.database)
    try:
        assert target.count_of(_first_result(session, target.count)) == 500
    finally:
        session.close()


def test_a_slow_server_answers_in_the_end(target: Target) -> None:
    """A stall shorter than any timeout is only slowness: the answer comes, the session
    stays usable."""
    engine = target.make_engine()
    session = engine.connect(target.database)
    try:
        target.proxy.stall(seconds=1)
        running = _Worker(lambda: _first_result(session, target.count))
        result = running.wait("a statement on a slow server")
        assert target.count_of(result) == 500
        assert not session.connection_lost
    finally:
        session.close()
