"""``dbplay server status|uri|start|stop`` and ``embedded[/DBNAME]`` sources, on a real
embedded cluster of the test's own (``DBPLAY_PG_DATA``), driven as a script would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbplay_desktop.servers.pg_binaries import find_postgres_bin_dirs
from dbplay_desktop.servers.postgres import EmbeddedPostgres
from tests.helpers import craft_template

pytestmark = pytest.mark.skipif(
    not find_postgres_bin_dirs(), reason="no PostgreSQL server programs on this machine"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Path]:
    """Where the embedded server of these tests lives (a folder the test lets the server
    account pass, as dbplay never loosens folders it did not create)."""
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-cli-"))
    root.chmod(0o711)
    data = root / "postgresql"
    try:
        yield data
    finally:
        if (data / "PG_VERSION").exists():
            EmbeddedPostgres(data).stop()
        shutil.rmtree(root, ignore_errors=True)


def dbplay(cluster: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DBPLAY_PG_DATA": str(cluster), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "dbplay_desktop", *args], capture_output=True, text=True,
        timeout=180, env=env, stdin=subprocess.DEVNULL,
    )


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_start_status_uri_stop(cluster: Path) -> None:
    stopped = dbplay(cluster, "server", "status")
    assert stopped.returncode == 3, stopped.stderr
    assert "not running" in stopped.stdout and str(cluster) in stopped.stdout
    missing = dbplay(cluster, "server", "uri")
    assert missing.returncode == 1
    assert "dbplay server start" in one_error_line(missing.stderr)

    started = dbplay(cluster, "server", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started: embedded PostgreSQL")
    try:
        status = dbplay(cluster, "server", "status", "--json")
        assert status.returncode == 0, status.stderr
        info = json.loads(status.stdout)
        assert info["running"] and info["data_directory"] == str(cluster)
        assert info["pid"] > 0 and info["port"] > 0 and info["version"]
        human = dbplay(cluster, "server", "status").stdout
        assert f"127.0.0.1:{info['port']}" in human and f"{info['pid']}" in human
        # Which PostgreSQL programs run it (there can be several on a machine).
        assert info["programs"] and Path(info["programs"], "postgres").is_file()
        assert f"programs:       {info['programs']} (" in human

        plain = dbplay(cluster, "server", "uri", "--database", "template1")
        assert plain.returncode == 0, plain.stderr
        uri = plain.stdout.strip()
        assert uri == f"postgresql://dbplay@127.0.0.1:{info['port']}/template1"
        passfile = re.search(r"PGPASSFILE=(\S+)", plain.stderr)
        assert passfile, plain.stderr
        with psycopg.connect(uri, passfile=passfile.group(1)) as connection:
            assert connection.execute("select current_database()").fetchone() == ("template1",)
        secret = dbplay(cluster, "server", "uri", "--with-password").stdout.strip()
        assert secret.startswith("postgresql://dbplay:") and secret.endswith("/postgres")
        with psycopg.connect(secret) as connection:
            assert connection.execute("select current_user").fetchone() == ("dbplay",)

        again = dbplay(cluster, "server", "start")
        assert again.returncode == 0 and again.stdout.startswith("already running")
        assert f"PID {info['pid']}" in again.stdout
    finally:
        done = dbplay(cluster, "server", "stop")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stopped")
    assert dbplay(cluster, "server", "status").returncode == 3
    assert "not running" in dbplay(cluster, "server", "stop").stdout


def test_embedded_sources_start_the_server_for_the_command(
    cluster: Path, tmp_path: Path
) -> None:
    template = craft_template(tmp_path / "t.dbtpl")
    restored = dbplay(cluster, "template", "restore", str(template), "--target",
                      "embedded/cli_copy")
    assert restored.returncode == 0, restored.stderr
    assert "cli_copy" in restored.stdout
    # It was not running: started for the command, then stopped again.
    assert dbplay(cluster, "server", "status").returncode == 3

    query = dbplay(cluster, "query", "--source", "embedded/cli_copy", "--format", "json",
                   "select current_database() as db")
    assert query.returncode == 0, query.stderr
    assert json.loads(query.stdout)["rows"] == [["cli_copy"]]
    default = dbplay(cluster, "query", "--source", "embedded", "--format", "csv",
                     "select current_database()")
    assert default.stdout.splitlines()[1] == "postgres"

    out = tmp_path / "copy.dbtpl"
    saved = dbplay(cluster, "template", "save", "--source", "embedded/cli_copy",
                   "--out", str(out))
    assert saved.returncode == 0, saved.stderr
    assert re.search(r", 1 payload file\)$|, \d+ payload files\)$", saved.stdout.strip())
    assert "(s)" not in saved.stdout
    assert dbplay(cluster, "server", "status").returncode == 3

    # A server already running (the window's, or 'dbplay server start') stays running.
    assert dbplay(cluster, "server", "start").returncode == 0
    try:
        assert dbplay(cluster, "query", "--source", "embedded", "select 1").returncode == 0
        assert dbplay(cluster, "server", "status").returncode == 0
    finally:
        dbplay(cluster, "server", "stop")


def test_embedded_without_a_database_name_is_a_usage_error(cluster: Path,
                                                          tmp_path: Path) -> None:
    template = craft_template(tmp_path / "t.dbtpl")
    result = dbplay(cluster, "template", "restore", str(template), "--target", "embedded")
    assert result.returncode == 2
    assert "embedded/NAME" in result.stderr and "Traceback" not in result.stderr
    assert not (cluster / "PG_VERSION").exists() or dbplay(
        cluster, "server", "status").returncode == 3
