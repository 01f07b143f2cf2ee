"""MongoEngine against a real server: addresses, sandboxes and their registry, abandoned
playgrounds, refusals."""

from __future__ import annotations

import datetime
import os
import re
import secrets
from collections.abc import Iterator

import pytest

pytest.importorskip("pymongo")

import pymongo

from dbplay_desktop.engines.base import ConnectionFailed, EngineError, UnsupportedUri
from dbplay_desktop.engines.mongo.engine import (
    REGISTRY_COLLECTION,
    REGISTRY_DATABASE,
    MongoEngine,
)
from dbplay_desktop.engines.mongo.errors import error_message


@pytest.fixture
def engine(mongo_uri: str) -> Iterator[MongoEngine]:
    engine = MongoEngine(mongo_uri)
    yield engine
    engine.close()


@pytest.fixture
def admin(mongo_uri: str) -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000, tz_aware=True)
    yield client
    client.close()


def registry(admin: pymongo.MongoClient):
    return admin[REGISTRY_DATABASE][REGISTRY_COLLECTION]


def test_addresses() -> None:
    with pytest.raises(UnsupportedUri, match="not a MongoDB address"):
        MongoEngine("postgresql://localhost/db")
    engine = MongoEngine("mongodb://127.0.0.1:1/shop?serverSelectionTimeoutMS=200")
    assert engine.default_database == "shop"
    assert engine.database_address("x") == "x"
    with pytest.raises(ConnectionFailed) as caught:
        engine.server_version()
    assert "\n" not in str(caught.value) and "cannot reach" in str(caught.value)
    engine.close()
    with pytest.raises(UnsupportedUri):
        MongoEngine("mongodb://host:notaport/db")


def test_server_version_and_split(engine: MongoEngine) -> None:
    assert re.fullmatch(r"MongoDB \d+\.\d+(\.\d+)?.*", engine.server_version())
    assert [s.text for s in MongoEngine.split("db.a.find()\ndb.b.find()")] == [
        "db.a.find()", "db.b.find()"]


def test_an_empty_sandbox_lives_in_the_registry(engine: MongoEngine, admin) -> None:
    name = engine.create_sandbox()
    try:
        assert re.fullmatch(r"dbplay_\d{8}_[0-9a-f]{8}", name)
        assert name in engine.list_databases()
        assert name not in admin.list_database_names()  # nothing in it yet
        entry = registry(admin).find_one({"_id": name})
        assert entry["playground"] is True and entry["name"] == name
        assert isinstance(entry["created"], datetime.datetime)
        assert REGISTRY_DATABASE not in engine.list_databases()
        with engine.connect(name) as session:
            for result in session.execute("db.t.insertOne({a: 1})"):
                assert result.error is None, result.error
            assert [item.name for item in session.catalog()] == ["t"]  # no registry inside
        assert name in admin.list_database_names()
    finally:
        engine.drop_sandbox(name)
    assert name not in engine.list_databases()
    assert name not in admin.list_database_names()
    assert registry(admin).find_one({"_id": name}) is None
    engine.drop_sandbox(name)  # idempotent


def test_named_sandboxes_and_refusals(engine: MongoEngine, admin) -> None:
    name = f"shop_{secrets.token_hex(3)}"
    assert engine.create_sandbox(name) == name
    try:
        assert registry(admin).find_one({"_id": name})["playground"] is False
        with pytest.raises(EngineError, match="already exists"):
            engine.create_sandbox(name)
    finally:
        engine.drop_sandbox(name)
    for bad in ("admin", "a/b", "a.b", "x" * 64, ""):
        with pytest.raises(EngineError):
            engine.create_sandbox(bad)
    foreign = f"users_{secrets.token_hex(3)}"
    admin[foreign]["t"].insert_one({})
    try:
        with pytest.raises(EngineError, match="not a dbplay sandbox"):
            engine.drop_sandbox(foreign)
        with pytest.raises(EngineError, match="already exists"):
            engine.create_sandbox(foreign)
        for server_database in ("admin", "local", REGISTRY_DATABASE):
            with pytest.raises(EngineError, match="not a dbplay sandbox"):
                engine.drop_sandbox(server_database)
        assert foreign in admin.list_database_names()
    finally:
        admin.drop_database(foreign)


def test_connect_needs_a_database(mongo_uri: str) -> None:
    engine = MongoEngine(mongo_uri)
    with pytest.raises(ConnectionFailed, match="names no database"):
        engine.connect()
    engine.close()


def test_drop_abandoned_playgrounds(engine: MongoEngine, admin) -> None:
    old = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    abandoned, held, named, mine = (f"dbplay_20200101_{secrets.token_hex(4)}"
                                    for _ in range(4))
    for name, playground in ((abandoned, True), (held, True), (named, False), (mine, True)):
        registry(admin).insert_one({"_id": name, "name": name, "playground": playground,
                                    "created": old})
        admin[name]["t"].insert_one({"a": 1})
    # another process's session on ``held``: a connection that says so by its appname
    other = pymongo.MongoClient(engine.uri, appname=f"dbplay/{held}/0000", maxPoolSize=1)
    other.admin.command("ping")
    session = engine.connect(mine)  # a session of this process
    try:
        dropped = engine.drop_abandoned_playgrounds()
        assert abandoned in dropped
        assert held not in dropped and named not in dropped and mine not in dropped
        assert abandoned not in admin.list_database_names()
        assert registry(admin).find_one({"_id": abandoned}) is None
        assert {held, named, mine} <= set(admin.list_database_names())
    finally:
        session.close()
        other.close()
        for name in (held, named, mine):
            engine.drop_sandbox(name)
    # a fresh playground of this process is never taken for abandoned
    fresh = engine.create_sandbox()
    try:
        assert fresh not in engine.drop_abandoned_playgrounds()
    finally:
        engine.drop_sandbox(fresh)


def test_error_message_is_one_line() -> None:
    failure = pymongo.errors.OperationFailure(
        "boom\nsecond line", code=2, details={"errmsg": "bad\nvalue", "codeName": "BadValue"})
    assert error_message(failure) == "bad value (BadValue)"
    assert error_message(ValueError("x")) is None
    assert error_message(pymongo.errors.AutoReconnect("lost\nit")) == "lost it"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _secantus(port: int, storage: str, *extra: str):
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    program = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    if not Path(program).exists():
        pytest.skip("SecantusDB (secantusd-py) is not installed")
    process = subprocess.Popen(
        [program, "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage,
         "--log-level", "WARNING", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=500)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.admin.command("hello")
            break
        except pymongo.errors.PyMongoError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("SecantusDB did not start")
            time.sleep(0.2)
    client.close()
    return process


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(30)
    except Exception:
        process.kill()
        process.wait(10)


def test_a_user_who_may_not_create_databases_gets_a_clear_error(tmp_path) -> None:
    """On a server with authentication, a read-only user: one-line errors, nothing made."""
    if os.environ.get("DBPLAY_TEST_MONGO_URI", "").strip():
        pytest.skip("needs the embedded server program")
    port = _free_port()
    storage = str(tmp_path / "auth")
    process = _secantus(port, storage)
    try:
        with pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/") as setup:
            setup.admin.command("createUser", "reader", pwd="pw",
                                roles=[{"role": "read", "db": "shop"}])
    finally:
        _stop(process)
    process = _secantus(port, storage, "--auth")
    try:
        engine = MongoEngine(f"mongodb://reader:pw@127.0.0.1:{port}/shop?authSource=admin")
        try:
            assert engine.server_version().startswith("MongoDB ")
            with pytest.raises(EngineError, match="may not create databases") as caught:
                engine.create_sandbox()
            assert "\n" not in str(caught.value)
            with engine.connect("shop") as session:
                (result,) = list(session.execute("db.t.insertOne({a: 1})"))
                assert "not authorized" in str(result.error)
        finally:
            engine.close()
        wrong = MongoEngine(f"mongodb://reader:bad@127.0.0.1:{port}/shop?authSource=admin")
        try:
            with pytest.raises(ConnectionFailed, match="refused the credentials"):
                wrong.server_version()
        finally:
            wrong.close()
    finally:
        _stop(process)
