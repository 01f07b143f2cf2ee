"""One quit request quits, in every state; SIGTERM and SIGINT end the app cleanly.

Each test runs the real ``dbplay`` window in a subprocess (offscreen) with a data
directory of its own, so it starts its own embedded PostgreSQL; it waits for the state
it wants (by the server's lock file, or by asking the server), sends one real signal,
and checks that the process ended, the server stopped and no playground was left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from dbplay_desktop.servers.pg_process import PidFile, process_alive
from tests.helpers import craft_template

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

#: Generous: CI is a loaded 2-core machine and a first start runs initdb.
_PATIENCE = 120.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = _PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class App:
    """A ``dbplay`` window process with a private data directory."""

    def __init__(self, root: Path, *files: str) -> None:
        self.root = root
        self.cluster = root / "postgresql"
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "DBPLAY_DATA_DIR": str(root),
            "DBPLAY_SETTINGS_DIR": str(root / "settings"),
        }
        env.pop("DBPLAY_PG_DATA", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dbplay_desktop", *files],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def server(self) -> PidFile | None:
        return PidFile.read(self.cluster)

    def server_ready(self) -> bool:
        pid_file = self.server()
        return pid_file is not None and pid_file.ready

    def admin_uri(self) -> str:
        from urllib.parse import quote

        from dbplay_desktop.servers.pg_cluster import ADMIN_USER, read_password

        pid_file = self.server()
        assert pid_file is not None and pid_file.port
        password = quote(read_password(self.cluster), safe="")
        return f"postgresql://{ADMIN_USER}:{password}@127.0.0.1:{pid_file.port}/postgres"

    def quit_with(self, signum: int) -> str:
        """Send one signal; returns the output once the process has ended by itself."""
        pid_file = self.server()
        self.process.send_signal(signum)
        try:
            output, _ = self.process.communicate(timeout=_PATIENCE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            raise AssertionError(
                f"one signal did not end the app: {output.decode(errors='replace')}"
            ) from None
        text = output.decode(errors="replace")
        assert self.process.returncode == 0, text
        if pid_file is not None:
            wait_for(lambda: not process_alive(pid_file.pid), "the server to stop", 30)
        return text


@pytest.fixture
def app_root() -> Iterator[Path]:
    # Under /tmp, not pytest's tmp_path: as root the server runs as another account.
    root = Path(tempfile.mkdtemp(prefix="dbplay-quit-"))
    root.chmod(0o711)  # the server account may pass (dbplay never loosens what it did not make)
    yield root
    pid_file = PidFile.read(root / "postgresql")
    if pid_file is not None and process_alive(pid_file.pid):
        os.kill(pid_file.pid, signal.SIGTERM)
    shutil.rmtree(root, ignore_errors=True)


def leftovers(app: App) -> tuple[list[str], list[str]]:
    """Playground databases and sandbox roles on the app's cluster (restarted to look)."""
    from dbplay_desktop.servers.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(app.cluster)
    server.start(stop_at_exit=True)
    try:
        with psycopg.connect(server.admin_uri, autocommit=True) as conn:
            databases = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'playground_%' "
                "OR shobj_description(oid, 'pg_database') LIKE 'dbplay sandbox%'"
            ).fetchall()
            roles = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'dbplay_sbx_%'"
            ).fetchall()
    finally:
        server.stop()
    return [row[0] for row in databases], [row[0] for row in roles]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_one_signal_quits_with_no_playground_open(app_root, signum):
    app = App(app_root)
    wait_for(app.server_ready, "the embedded server")
    app.quit_with(signum)


def test_one_signal_quits_while_the_server_is_still_starting(app_root):
    app = App(app_root)
    wait_for(lambda: app.cluster.exists(), "the embedded cluster to be made")
    app.quit_with(signal.SIGTERM)


def test_one_signal_quits_while_a_template_is_restoring(app_root):
    template = craft_template(
        app_root / "slow.dbtpl", b"CREATE TABLE t (x int);\nSELECT pg_sleep(120);\n"
    )
    app = App(app_root, str(template))
    wait_for(app.server_ready, "the embedded server")

    def restoring() -> bool:
        try:
            with psycopg.connect(app.admin_uri(), autocommit=True, connect_timeout=5) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'dbplay restore' AND query LIKE '%pg_sleep%'"
                ).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    wait_for(restoring, "the template's restore to run")
    app.quit_with(signal.SIGTERM)
    assert leftovers(app) == ([], [])
