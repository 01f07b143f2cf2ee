"""Two dbplay processes on one embedded PostgreSQL: one start, and the last one out stops it.

Real processes and a real cluster: a child Python process plays the other dbplay (the
window, or a CLI command in a terminal).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbplay_desktop.servers.pg_process import PidFile
from dbplay_desktop.servers.postgres import EmbeddedPostgres, find_postgres_bin_dirs
from dbplay_desktop.servers.users import ServerUsers

needs_postgres = pytest.mark.skipif(
    not find_postgres_bin_dirs(), reason="no PostgreSQL server programs on this machine"
)

REPO = Path(__file__).resolve().parents[2]

# The other dbplay: starts the cluster, says how, then waits for "release" on stdin.
OTHER_PROCESS = textwrap.dedent("""
    import json, sys
    from dbplay_desktop.servers.postgres import EmbeddedPostgres
    server = EmbeddedPostgres(sys.argv[1])
    server.start(stop_at_exit=False)
    print(json.dumps({"adopted": server.adopted}), flush=True)
    if sys.stdin.readline().strip() == "release":
        print(json.dumps({"stopped": server.release()}), flush=True)
""")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="dbplay-test-users-"))
    root.chmod(0o711)
    try:
        yield root / "data"
    finally:
        if (root / "data" / "PG_VERSION").exists():
            EmbeddedPostgres(root / "data").stop()
        shutil.rmtree(root, ignore_errors=True)


def other_dbplay(data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(data_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )


def answer(process: subprocess.Popen[str]) -> dict:
    line = process.stdout.readline()  # type: ignore[union-attr]
    assert line, f"the other process ended (exit {process.wait(60)})"
    return json.loads(line)


def test_users_are_noted_and_the_dead_do_not_count(tmp_path: Path) -> None:
    users = ServerUsers(tmp_path / "data")
    assert users.others() == []
    users.join()
    assert (users.folder / str(os.getpid())).exists()
    assert users.others() == []  # this process is not an "other"

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(60)
    (users.folder / str(gone.pid)).write_text("")
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        (users.folder / str(alive.pid)).write_text("")
        assert users.others() == [alive.pid]
        assert not (users.folder / str(gone.pid)).exists()  # a dead user's note is removed
    finally:
        alive.communicate(timeout=60)
    assert users.others() == []
    users.leave()
    assert not (users.folder / str(os.getpid())).exists()


@needs_postgres
def test_the_server_stays_up_while_another_dbplay_uses_it(data_dir: Path) -> None:
    other = other_dbplay(data_dir)
    try:
        assert answer(other) == {"adopted": False}  # the other one launched it
        mine = EmbeddedPostgres(data_dir)
        mine.start(stop_at_exit=False)
        assert mine.adopted
        assert mine.release() is False  # the other still uses it
        assert mine.is_running()

        other.stdin.write("release\n")  # type: ignore[union-attr]
        other.stdin.flush()  # type: ignore[union-attr]
        assert answer(other) == {"stopped": True}  # the last one out stops it
        assert not EmbeddedPostgres(data_dir).is_running()
    finally:
        other.kill()
        other.wait(60)


@needs_postgres
def test_a_killed_user_does_not_keep_the_server_up(data_dir: Path) -> None:
    other = other_dbplay(data_dir)
    try:
        assert answer(other)["adopted"] is False
    finally:
        other.kill()  # killed while using the server: it never says it is done
        other.wait(60)
    mine = EmbeddedPostgres(data_dir)
    mine.start(stop_at_exit=False)
    assert mine.adopted
    assert mine.release() is True
    assert not mine.is_running()


@needs_postgres
def test_two_starts_at_once_give_one_server(data_dir: Path) -> None:
    EmbeddedPostgres(data_dir).start(stop_at_exit=False)  # create the cluster first
    EmbeddedPostgres(data_dir).stop()
    first, second = other_dbplay(data_dir), other_dbplay(data_dir)
    try:
        answers = [answer(first), answer(second)]
        assert sorted(a["adopted"] for a in answers) == [False, True]
        pid = PidFile.read(data_dir).pid
        assert pid and EmbeddedPostgres(data_dir).is_running()
    finally:
        for process in (first, second):
            process.kill()
            process.wait(60)
