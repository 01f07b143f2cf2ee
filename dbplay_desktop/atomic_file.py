"""Files that appear whole or not at all, even when the app is killed while writing them.

A template or an export is written under another name and renamed over the target when
complete, so the target keeps its old content until then. A named temporary file would
still stay behind when the process is killed (``kill -9``, a power cut) before it could
delete it, so:

* where the system allows (Linux ``O_TMPFILE`` on a file system that can name such files
  later), the file being written has no name at all until it is complete: a killed app
  leaves nothing;
* elsewhere a hidden ``.NAME.XXXX.part`` beside the target is used, and noted in the
  data directory (``pending-files/``) while it is written. The next dbplay to write a
  file, or to start, removes the ones whose process is gone (:func:`remove_abandoned`).

Work that fills a file or a folder of its own before moving it into place (a restore of
a file database, of a store's folder) notes it the same way with
:func:`noted_while_written`, so a kill mid-way leaves nothing once dbplay starts again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["PENDING_FOLDER", "PendingFile", "noted_while_written", "remove_abandoned"]

#: What a temporary file of SQLite's leaves beside it (its journal, write-ahead log).
_SIDE_FILES = ("-journal", "-wal", "-shm")

#: The folder of the data directory where named temporary files are noted while written.
PENDING_FOLDER = "pending-files"

_BINARY = getattr(os, "O_BINARY", 0)
#: Per file system (device number): whether its unnamed files can be named later.
_names_unnamed_files: dict[int, bool] = {}


class PendingFile:
    """A file being written for ``target``: :meth:`open` to write to it, :meth:`publish`
    to put it in place, :meth:`discard` (safe after publish) to drop it.

    Raises ``OSError`` when the target's folder does not take new files.
    """

    def __init__(self, target: str | os.PathLike[str], mode: int = 0o666) -> None:
        self.target = Path(target)
        self.directory = self.target.parent if str(self.target.parent) else Path(".")
        #: The hidden temporary name, or None while the file has no name.
        self.temp_path: Path | None = None
        self._published = False
        self._note: Path | None = None
        fd = self._open_unnamed(mode)
        if fd is None:
            remove_abandoned()
            fd, self.temp_path = self._open_named(mode)
        self._fd: int | None = fd

    def open(self, mode: str = "wb", **options: object) -> IO:
        """A file object on the pending file (``os.fdopen`` options); closing it leaves
        the file pending: close (or flush) it before :meth:`publish`."""
        assert self._fd is not None, "the file was published or discarded"
        return os.fdopen(self._fd, mode, closefd=False, **options)  # type: ignore[call-overload]

    def _open_unnamed(self, mode: int) -> int | None:
        flag = getattr(os, "O_TMPFILE", 0)
        if not flag or not Path("/proc/self/fd").is_dir():
            return None
        try:
            device = os.stat(self.directory).st_dev
        except OSError:
            return None
        if _names_unnamed_files.get(device) is False:
            return None
        try:
            fd = os.open(self.directory, flag | os.O_WRONLY, mode)
        except OSError:  # a file system without unnamed files (NFS, FAT): use a name
            _names_unnamed_files[device] = False
            return None
        if device not in _names_unnamed_files:
            _names_unnamed_files[device] = self._can_name(fd)
            if not _names_unnamed_files[device]:
                os.close(fd)
                return None
        return fd

    def _can_name(self, fd: int) -> bool:
        """Whether an unnamed file here can be given a name later: some file systems
        (overlays) make them elsewhere and refuse the link. Tried on an empty file."""
        probe = os.open(self.directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
        try:
            name = self._hidden_name()
            os.link(f"/proc/self/fd/{probe}", name, follow_symlinks=True)
        except OSError:
            return False
        finally:
            os.close(probe)
        with contextlib.suppress(OSError):
            os.unlink(name)
        return True

    def _open_named(self, mode: int) -> tuple[int, Path]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
        for _ in range(100):
            temp = self._hidden_name()
            self._note = _note_pending(temp)  # first: a kill right after leaves no orphan
            try:
                return os.open(temp, flags, mode), temp
            except FileExistsError:
                continue
            except BaseException:
                self._forget_note()
                raise
        self._forget_note()
        raise FileExistsError(f"cannot create a temporary file in {self.directory}")

    def _forget_note(self) -> None:
        note, self._note = self._note, None
        if note is not None:
            with contextlib.suppress(OSError):
                note.unlink()

    def _hidden_name(self) -> Path:
        return self.directory / f".{self.target.name}.{secrets.token_hex(4)}.part"

    def publish(self, *, keep_mode: bool = True) -> None:
        """Flush the data to disk and put the file at the target in one rename; a file
        already there is replaced (``keep_mode``: its permissions are kept)."""
        fd = self._fd
        assert fd is not None, "the file was published or discarded"
        if keep_mode:
            with contextlib.suppress(OSError, AttributeError):  # no fchmod on Windows
                os.fchmod(fd, self.target.stat().st_mode & 0o7777)
        os.fsync(fd)  # a full disk may only say so here
        if self.temp_path is None:
            # Give the unnamed file a hidden name first: link() cannot replace a file.
            for _ in range(100):
                temp = self._hidden_name()
                try:
                    os.link(f"/proc/self/fd/{fd}", temp, follow_symlinks=True)
                except FileExistsError:
                    continue
                self.temp_path = temp
                break
            else:
                raise FileExistsError(f"cannot name a temporary file in {self.directory}")
        self._fd = None
        os.close(fd)  # before the rename: Windows cannot rename an open file
        try:
            os.replace(self.temp_path, self.target)
        except BaseException:
            self.discard()
            raise
        self._published = True
        self.temp_path = None
        self._forget_note()
        _sync_directory(self.directory)

    def discard(self) -> None:
        """Drop the file; nothing to do once published."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if self._published or self.temp_path is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)
        self.temp_path = None
        self._forget_note()

    def __enter__(self) -> PendingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); harmless where directories cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- notes


def _pending_folder() -> Path:
    from dbplay_desktop.app_dirs import data_dir

    return data_dir() / PENDING_FOLDER


def _note_pending(temp: Path) -> Path | None:
    """Note ``temp`` as being written by this process; None when the note cannot be
    written (the file is then only removed by this process itself)."""
    from dbplay_desktop.app_dirs import ensure_private_dir

    try:
        folder = ensure_private_dir(_pending_folder())
        note = folder / f"{os.getpid()}-{secrets.token_hex(6)}"
        note.write_text(str(Path(os.path.abspath(temp))), encoding="utf-8")
    except OSError:
        return None
    return note


@contextlib.contextmanager
def noted_while_written(temp: str | os.PathLike[str]) -> Iterator[None]:
    """Note ``temp`` (a hidden file or folder named ``.NAME….part`` that this process
    fills before moving it into place) for the time of the ``with`` block: a kill inside
    it leaves the note, and :func:`remove_abandoned` removes ``temp`` (a folder with all
    it holds, a file with SQLite's journal files) once this process is gone."""
    path = Path(temp)
    if not _ours(path):
        raise ValueError(f"{path.name}: not a name dbplay gives temporary files")
    note = _note_pending(path)
    try:
        yield
    finally:
        if note is not None:
            with contextlib.suppress(OSError):
                note.unlink()


def _ours(temp: Path) -> bool:
    """Only ever a name dbplay gives: hidden, ``.part``, never a target itself."""
    return temp.name.startswith(".") and temp.name.endswith(".part") and len(temp.name) > 6


def _remove(temp: Path) -> bool:
    """Remove a noted temporary file or folder (and SQLite's files beside a file)."""
    if temp.is_dir() and not temp.is_symlink():
        shutil.rmtree(temp, ignore_errors=True)
        return not temp.exists()
    removed = False
    for path in (temp, *(temp.with_name(temp.name + side) for side in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed = removed or path == temp
    return removed


def remove_abandoned() -> list[Path]:
    """Remove the temporary files that dbplay processes which are gone were writing;
    returns them. Cheap: one small folder is read."""
    try:
        notes = list(_pending_folder().iterdir())
    except OSError:
        return []
    if not notes:
        return []
    from dbplay_desktop.processes import process_alive

    removed: list[Path] = []
    for note in notes:
        pid_text = note.name.partition("-")[0]
        if not pid_text.isdigit() or process_alive(int(pid_text)):
            continue
        try:
            temp = Path(note.read_text(encoding="utf-8").strip())
        except OSError:
            continue
        if _ours(temp) and _remove(temp):
            removed.append(temp)
        with contextlib.suppress(OSError):
            note.unlink()
    return removed
