"""Shared fixtures: real servers started by the project's own embedded-server code."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _use_test_plugins() -> None:
    """Put the test-only engine distribution (``make test`` installs it into
    ``<venv>/test-plugins``) on this run's path and its subprocesses', and nowhere else."""
    plugins = Path(sys.prefix) / "test-plugins"
    if not plugins.is_dir():
        return
    if str(plugins) not in sys.path:
        sys.path.append(str(plugins))
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(plugins) not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([*paths, str(plugins)])


_use_test_plugins()


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run that tests the bundle starts building it now, beside the other tests."""
    from tests.packaging.early_build import start_if_wanted

    start_if_wanted(session.items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.packaging.early_build import stop

    stop()
    if _OWN_DATA_DIR is not None:
        shutil.rmtree(_OWN_DATA_DIR, ignore_errors=True)


# Whatever a test leaves in dbplay's data directory (the sandbox drop journal, history)
# goes to a folder of the test run's own, never the user's, removed when the run ends.
_OWN_DATA_DIR: str | None = None
if "DBPLAY_DATA_DIR" not in os.environ:
    _OWN_DATA_DIR = tempfile.mkdtemp(prefix="dbplay-test-data-")
    os.environ["DBPLAY_DATA_DIR"] = _OWN_DATA_DIR


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A private PostgreSQL cluster for the whole test run, on a free loopback port.

    Data lives under /tmp (mkdtemp), not pytest's tmp_path: as root the server runs as an
    unprivileged account, which must be able to reach its data directory. dbplay never
    loosens a folder it did not create, so the test lets that account through its own
    mkdtemp folder (search only: it cannot list it).
    """
    from dbplay_desktop.servers.postgres import EmbeddedPostgres

    data_root = Path(tempfile.mkdtemp(prefix="dbplay-test-pg-"))
    data_root.chmod(0o711)
    server = EmbeddedPostgres(data_root / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_uri(pg_server) -> str:
    """A superuser URI on the test cluster (``postgresql://...@127.0.0.1:PORT/postgres``)."""
    return pg_server.admin_uri


@pytest.fixture(scope="session")
def pg_engine(pg_admin_uri):
    """The PostgreSQL engine on the test cluster, as the app's admin connection."""
    from dbplay_desktop.engines.registry import engine_for_uri

    return engine_for_uri(pg_admin_uri)


@pytest.fixture
def pg_sandbox(pg_engine) -> Iterator[str]:
    """A fresh sandbox database, dropped after the test."""
    database = pg_engine.create_sandbox()
    try:
        yield database
    finally:
        pg_engine.drop_sandbox(database)


@pytest.fixture
def pg_session(pg_engine, pg_sandbox):
    """A session on a fresh sandbox, logged in as the sandbox's unprivileged role."""
    session = pg_engine.connect(pg_sandbox)
    try:
        yield session
    finally:
        session.close()


#: A MongoDB server of the user's for the test run; no embedded server is started then.
MONGO_URI_ENV = "DBPLAY_TEST_MONGO_URI"


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[object]:
    """A private MongoDB server (``EmbeddedMongoServer``) for the whole test run.

    Started once on a free loopback port with its data in a /tmp mkdtemp folder, stopped
    at the end. ``None`` when ``$DBPLAY_TEST_MONGO_URI`` names a server to use instead.
    """
    if os.environ.get(MONGO_URI_ENV, "").strip():
        yield None
        return
    pytest.importorskip("pymongo")
    from dbplay_desktop.servers.mongo_local import EmbeddedMongoServer

    data_root = Path(tempfile.mkdtemp(prefix="dbplay-test-mongo-"))
    server = EmbeddedMongoServer(data_root / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_root, ignore_errors=True)


@pytest.fixture(scope="session")
def mongo_uri(mongo_server) -> str:
    """The administrator URI of the test MongoDB server (``mongodb://127.0.0.1:PORT/``)."""
    if mongo_server is None:
        return os.environ[MONGO_URI_ENV].strip()
    return mongo_server.admin_uri


#: A Chroma server of the user's for the test run (``chroma+http://host:port/?tenant=...``);
#: no server is started then.
CHROMA_URI_ENV = "DBPLAY_TEST_CHROMA_URI"


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _chroma_answers(port: int) -> bool:
    import urllib.request

    for version in ("v2", "v1"):
        url = f"http://127.0.0.1:{port}/api/{version}/heartbeat"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            continue
    return False


@pytest.fixture(scope="session")
def chroma_http_uri() -> Iterator[str]:
    """A private Chroma server (``chroma run``) for the whole test run.

    Started once on a free loopback port with its data in a /tmp mkdtemp folder, stopped
    at the end; yields ``chroma+http://127.0.0.1:PORT/?tenant=default_tenant&database=
    default_database``. ``$DBPLAY_TEST_CHROMA_URI`` names a server to use instead.
    """
    override = os.environ.get(CHROMA_URI_ENV, "").strip()
    if override:
        yield override
        return
    import subprocess
    import time

    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        found = shutil.which("chroma")
        if found is None:
            pytest.skip("the chroma command (chromadb) is not installed")
        chroma = Path(found)
    data_root = Path(tempfile.mkdtemp(prefix="dbplay-test-chroma-"))
    port = _free_port()
    log = (data_root / "server.log").open("wb")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(data_root / "data"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 60
        while not _chroma_answers(port):
            if process.poll() is not None:
                output = (data_root / "server.log").read_text(errors="replace")
                raise RuntimeError(f"chroma run exited with {process.returncode}:\n{output}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer on port {port} within 60 s")
            time.sleep(0.2)
        yield (f"chroma+http://127.0.0.1:{port}/"
               "?tenant=default_tenant&database=default_database")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(data_root, ignore_errors=True)
