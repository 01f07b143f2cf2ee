"""Templates and exports appear whole or not at all: killed writers and full disks leave
the destination as it was (an older file there untouched) and nothing beside it.

Real processes, real signals; a full disk is a file-size limit (``RLIMIT_FSIZE``) on the
writing process, which fails its writes the way a full disk does, without root or a
small file system.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dbplay_desktop.app_dirs import DATA_DIR_ENV
from dbplay_desktop.atomic_file import PendingFile, remove_abandoned

REPO = Path(__file__).resolve().parents[2]
POSIX = os.name == "posix"
needs_posix = pytest.mark.skipif(not POSIX, reason="signals and resource limits are POSIX")


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path_factory, monkeypatch) -> Path:
    """A data directory of the test's own (where named temporary files are noted)."""
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    return folder


def unnamed_files_work(folder: Path) -> bool:
    with PendingFile(folder / "probe") as probe:
        return probe.temp_path is None

OLD_CONTENT = b"the older file, which must survive\n"


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def python(code: str, *args: str, file_limit: int | None = None,
           **popen: object) -> subprocess.Popen[str]:
    """Run ``code`` in a child Python with the project importable; with ``file_limit``
    its writes past that many bytes fail as on a full disk."""
    def limit() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], text=True,
                            env=env, preexec_fn=limit if file_limit else None, **popen)


# --------------------------------------------------------------------------- PendingFile


def test_the_target_keeps_its_content_until_the_new_file_is_published(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(OLD_CONTENT)
    target.chmod(0o640)
    pending = PendingFile(target)
    with pending.open("wb") as out:
        out.write(b"new\n")
    assert target.read_bytes() == OLD_CONTENT
    pending.publish()
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640  # the replaced file's permissions
    assert listing(tmp_path) == {"out.csv": b"new\n"}


def test_a_discarded_file_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "out.csv").write_bytes(OLD_CONTENT)
    before = listing(tmp_path)
    for unnamed in (True, False):
        if not unnamed:  # a file system without unnamed files: a hidden name is used
            monkeypatch.setattr(PendingFile, "_open_unnamed", lambda self, mode: None)
        with PendingFile(tmp_path / "out.csv") as pending, pending.open("wb") as out:
            out.write(b"half")
        assert listing(tmp_path) == before


def test_a_hidden_name_is_published_too(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(PendingFile, "_open_unnamed", lambda self, mode: None)
    pending = PendingFile(tmp_path / "new.json")
    assert pending.temp_path is not None and pending.temp_path.name.startswith(".new.json.")
    with pending.open("w", encoding="utf-8") as out:
        out.write("[]\n")
    pending.publish()
    assert listing(tmp_path) == {"new.json": b"[]\n"}


@needs_posix
@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed", "hidden-name"])
def test_a_writer_killed_midway_leaves_nothing(tmp_path: Path, unnamed: bool) -> None:
    target = tmp_path / "out.dbtpl"
    target.write_bytes(OLD_CONTENT)
    if unnamed and not unnamed_files_work(tmp_path):
        pytest.skip("this file system cannot name unnamed files later")
    child = python("""
        import sys
        from dbplay_desktop.atomic_file import PendingFile
        if sys.argv[2] == "hidden-name":
            PendingFile._open_unnamed = lambda self, mode: None
        pending = PendingFile(sys.argv[1])
        with pending.open("wb") as out:
            out.write(b"x" * 4_000_000)
        print("written", flush=True)
        sys.stdin.read()
    """, str(target), "unnamed" if unnamed else "hidden-name",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout.readline().strip() == "written"  # type: ignore[union-attr]
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(60)
    assert child.returncode == -signal.SIGKILL
    if not unnamed:  # the hidden file stays until the next dbplay removes it
        assert len(listing(tmp_path)) == 2
        assert next(p.name for p in remove_abandoned()).startswith(".out.dbtpl.")
    assert listing(tmp_path) == {"out.dbtpl": OLD_CONTENT}
    assert remove_abandoned() == []


def test_a_file_being_written_by_a_live_process_is_left_alone(tmp_path: Path,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(PendingFile, "_open_unnamed", lambda self, mode: None)
    with PendingFile(tmp_path / "out.csv") as pending:
        assert remove_abandoned() == []
        assert pending.temp_path is not None and pending.temp_path.exists()


# --------------------------------------------------------------------------- full disks


@needs_posix
def test_an_export_on_a_full_disk_fails_in_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "rows.csv"
    target.write_bytes(OLD_CONTENT)
    child = python("""
        import sys
        from dbplay_desktop.ui.results.export import export_file
        rows = ((i, "some text " * 5) for i in range(100_000))
        try:
            export_file(sys.argv[1], "csv", ["id", "text"], rows)
        except OSError as error:
            print(error.strerror)
        else:
            print("no error")
    """, str(target), file_limit=64 * 1024, stdout=subprocess.PIPE)
    out, _ = child.communicate(timeout=120)
    assert out.strip() == os.strerror(27)  # EFBIG: "File too large", as ENOSPC would be
    assert listing(tmp_path) == {"rows.csv": OLD_CONTENT}
@needs_posix
def test_a_template_save_on_a_full_disk_fails_in_one_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    database = tmp_path / "source" / "big.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as connection:
        connection.execute("create table t (id integer primary key, s text)")
        connection.executemany("insert into t (s) values (?)",
                               ((os.urandom(100).hex(),) for _ in range(20_000)))
    out_dir = tmp_path / "templates"
    out_dir.mkdir()
    target = out_dir / "big.dbtpl"
    target.write_bytes(OLD_CONTENT)
    child = python(
        "from dbplay_desktop.cli import main; raise SystemExit(main())",
        "template", "save", "--source", f"sqlite://{database}", "--out", str(target),
        file_limit=256 * 1024, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = child.communicate(timeout=300)
    assert child.returncode != 0, out
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    assert listing(out_dir) == {"big.dbtpl": OLD_CONTENT}
