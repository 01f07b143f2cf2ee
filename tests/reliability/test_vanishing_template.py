"""A ``.dbtpl`` on a vanishing path: a clear one-line error, and no half-made database.

The file (or its folder) is gone before it is read; another process truncates it while
it is being read; the disk fails in the middle of a read (a removable drive unplugged).
Truncation is real (``truncate(1)`` in another process, between two reads of the
reader). The unplugged drive is an ``OSError(EIO)`` raised by the template file's own
reads from a point on: device-mapper's ``error`` target, the real fault, needs a kernel
driver this machine may not have. Each fault goes through what the window and the
command line call: reading the manifest and scripts, ``verify``, and restores into real
PostgreSQL and SQLite sandboxes, which must leave no database behind.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.templates import writer as template_writer
from dbplay_desktop.templates.container import TemplateError, TemplateReader, TemplateWriter
from dbplay_desktop.templates.operations import (
    restore_template,
    template_info,
    verify_template,
)
from dbplay_desktop.templates.reader import read_manifest
from dbplay_desktop.templates.scripts import read_scripts
from tests.helpers import database_exists, drop_sandbox, with_database

#: Rows of random hex: they compress to about half, so the archive is megabytes and is
#: read in many pieces (the faults strike between them).
ROWS = 40_000


def _payload(engine: str) -> bytes:
    rows = [os.urandom(48).hex() for _ in range(ROWS)]
    if engine == "sqlite":
        lines = ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"]
        lines += [f"INSERT INTO t VALUES ({n}, '{row}');" for n, row in enumerate(rows)]
        return ("\n".join(lines) + "\n").encode()
    body = "".join(f"{n}\t{row}\n" for n, row in enumerate(rows))
    return ("CREATE TABLE public.t (id integer, v text);\n"
            f"COPY public.t (id, v) FROM stdin;\n{body}\\.\n").encode()


def _template(path: Path, engine: str = "postgresql", *, zstd: bool = False) -> Path:
    threshold = template_writer.ZSTD_FROM
    template_writer.ZSTD_FROM = 1 << 20 if zstd else 1 << 62
    try:
        with TemplateWriter(path, engine=engine, name="vanishing") as writer:
            with writer.open("dump.sql") as stream:
                stream.write(_payload(engine))
            writer.add_script("playground.sql", "SELECT count(*) FROM t;\n")
            writer.commit("16.2", {"tables": 1})
    finally:
        template_writer.ZSTD_FROM = threshold
    return path


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One template per kind, copied for each test (the tests damage their copy)."""
    folder = tmp_path_factory.mktemp("originals")
    return {
        "postgresql": _template(folder / "pg.dbtpl"),
        "zstd": _template(folder / "zstd.dbtpl", zstd=True),
        "sqlite": _template(folder / "lite.dbtpl", "sqlite"),
    }


@pytest.fixture
def copy_of(originals: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    def make(kind: str) -> Path:
        target = tmp_path / "drive" / "shop.dbtpl"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(originals[kind], target)
        return target

    return make


@pytest.fixture(autouse=True)
def sqlite_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def one_line(error: BaseException) -> str:
    assert isinstance(error, EngineError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert message and "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message
    return message


def _shrink(path: Path) -> None:
    """Another process cuts the file to a third of its size, as a copy being rewritten is."""
    size = path.stat().st_size
    subprocess.run(["truncate", "-s", str(size // 3), str(path)], check=True)


def _once(action: Callable[[], None]) -> Callable[[int, int | None], bool]:
    """A progress callback that runs ``action`` the first time it hears of progress."""
    done = [False]

    def progress(_done: int, _total: int | None) -> bool:
        if not done[0]:
            done[0] = True
            action()
        return False

    return progress


# --------------------------------------------------------------------------- gone


READERS: dict[str, Callable[[Path], object]] = {
    "manifest": read_manifest,
    "info": template_info,
    "scripts": read_scripts,
    "open": TemplateReader,
    "verify": verify_template,
    "restore": lambda path: restore_template(path, "sqlite:///" + str(path) + ".db"),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("gone", ["file", "folder"])
def test_a_template_gone_before_it_is_read(copy_of, reader: str, gone: str) -> None:
    path = copy_of("postgresql")
    if gone == "file":
        path.unlink()
    else:
        shutil.rmtree(path.parent)
    with pytest.raises(TemplateError) as caught:
        READERS[reader](path)
    assert one_line(caught.value) == f"{path}: no such file"


def test_a_template_removed_while_it_is_read_is_read_to_its_end(copy_of) -> None:
    """On POSIX an open file outlives its name: the reader finishes from its handle."""
    path = copy_of("postgresql")
    with TemplateReader(path) as reader:
        path.unlink()
        shutil.rmtree(path.parent)
        assert reader.verify() == []


# --------------------------------------------------------------------------- shrinking


@pytest.mark.parametrize("kind", ["postgresql", "zstd"])
def test_a_template_truncated_while_it_is_read(copy_of, kind: str) -> None:
    path = copy_of(kind)
    with TemplateReader(path) as reader, reader.open("dump.sql") as stream:
        assert stream.read(1 << 20)
        _shrink(path)
        with pytest.raises(TemplateError) as caught:
            while stream.read(1 << 20):
                pass
    message = one_line(caught.value)
    assert message.startswith("shop.dbtpl: the file became shorter while payload file "
                              "dump.sql was being read"), message


def test_verify_of_a_template_truncated_meanwhile(copy_of) -> None:
    path = copy_of("postgresql")
    problems = verify_template(path, progress=_once(lambda: _shrink(path)))
    assert len(problems) == 1, problems
    assert "became shorter" in problems[0] and "\n" not in problems[0]


def test_a_postgres_restore_of_a_template_truncated_meanwhile(copy_of, pg_admin_uri) -> None:
    path = copy_of("postgresql")
    name = f"vanish_{secrets.token_hex(4)}"
    try:
        with pytest.raises(EngineError) as caught:
            restore_template(path, with_database(pg_admin_uri, name),
                             progress=_once(lambda: _shrink(path)))
        assert "became shorter" in one_line(caught.value)
        assert not database_exists(pg_admin_uri, name)
    finally:
        drop_sandbox(pg_admin_uri, name)


def test_a_sqlite_restore_of_a_template_truncated_meanwhile(copy_of, tmp_path) -> None:
    path = copy_of("sqlite")
    target = tmp_path / "out" / "shop.db"
    target.parent.mkdir()
    with pytest.raises(EngineError) as caught:
        restore_template(path, f"sqlite:///{target}", progress=_once(lambda: _shrink(path)))
    assert "became shorter" in one_line(caught.value)
    assert os.listdir(target.parent) == []


# --------------------------------------------------------------------------- unplugged


class _Drive:
    """The template file's reads, failing with EIO once ``budget`` bytes were served:
    the drive was unplugged, and every read from then on fails."""

    def __init__(self, path: Path, budget: int) -> None:
        self.path = str(path)
        self.budget = budget
        self.unplugged = False

    def open(self, real_open: Callable[..., Any]) -> Callable[..., Any]:
        def opener(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            handle = real_open(file, mode, *args, **kwargs)
            if isinstance(file, (str, os.PathLike)) and os.fspath(file) == self.path:
                return _FailingFile(handle, self)
            return handle

        return opener


class _FailingFile(io.RawIOBase):
    def __init__(self, handle: Any, drive: _Drive) -> None:
        self._handle = handle
        self._drive = drive

    def _check(self) -> None:
        if self._drive.unplugged:
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        self._check()
        data = self._handle.read(size)
        self._drive.budget -= len(data)
        if self._drive.budget < 0:
            self._drive.unplugged = True
            self._check()
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._handle.close()
        super().close()


@pytest.fixture
def unplug(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path, int], _Drive]]:
    """``unplug(path, budget)``: reads of ``path`` fail with EIO after ``budget`` bytes."""
    def arm(path: Path, budget: int) -> _Drive:
        drive = _Drive(path, budget)
        monkeypatch.setattr(io, "open", drive.open(io.open))
        return drive

    yield arm


_UNPLUGGED = ("shop.dbtpl: payload file dump.sql could not be read from the disk "
              "(Input/output error); the file or the drive it is on may have gone away")


@pytest.mark.parametrize("kind", ["postgresql", "zstd"])
def test_verify_on_an_unplugged_drive(copy_of, unplug, kind: str) -> None:
    path = copy_of(kind)
    drive = unplug(path, path.stat().st_size // 2)
    assert verify_template(path) == [_UNPLUGGED]
    assert drive.unplugged


def test_reading_the_manifest_on_an_unplugged_drive(copy_of, unplug) -> None:
    path = copy_of("postgresql")
    unplug(path, 0)
    with pytest.raises(TemplateError) as caught:
        read_manifest(path)
    assert one_line(caught.value) == f"{path}: cannot be read (Input/output error)"


def test_a_postgres_restore_from_an_unplugged_drive(copy_of, unplug, pg_engine) -> None:
    """As the window restores: its own reader, the engine's restore, a new sandbox."""
    path = copy_of("postgresql")
    before = set(_databases(pg_engine))
    unplug(path, path.stat().st_size // 2)
    with TemplateReader(path) as reader, pytest.raises(EngineError) as caught:
        pg_engine.restore(reader)
    assert one_line(caught.value) == _UNPLUGGED
    assert set(_databases(pg_engine)) == before


def test_a_sqlite_restore_from_an_unplugged_drive(copy_of, unplug, sqlite_data) -> None:
    from dbplay_desktop.engines.sqlite.engine import SqliteEngine

    path = copy_of("sqlite")
    unplug(path, path.stat().st_size // 2)
    with TemplateReader(path) as reader, pytest.raises(EngineError) as caught:
        SqliteEngine("sqlite://").restore(reader)
    assert one_line(caught.value) == _UNPLUGGED
    folder = sqlite_data / "sqlite"
    assert not folder.exists() or os.listdir(folder) == []


def _databases(engine: Any) -> list[str]:
    with engine._admin() as conn:
        return [row[0] for row in conn.execute("SELECT datname FROM pg_database")]


# --------------------------------------------------------------------------- command line


def _dbplay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dbplay_desktop", *args],
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_the_command_line_on_a_vanished_folder(copy_of, tmp_path) -> None:
    path = copy_of("sqlite")
    shutil.rmtree(path.parent)
    result = _dbplay("template", "restore", str(path), "--target",
                     f"sqlite:///{tmp_path / 'x.db'}")
    assert _error_line(result) == f"error: {path}: no such file"
    assert not (tmp_path / "x.db").exists()


def test_the_command_line_on_a_truncated_template(copy_of) -> None:
    path = copy_of("postgresql")
    _shrink(path)
    result = _dbplay("template", "verify", str(path))
    assert "1 problem found" in _error_line(result)
    assert "shop.dbtpl" in result.stdout and "\n" not in result.stdout.strip()
