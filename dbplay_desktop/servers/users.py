"""Which dbplay processes use a private server: one start at a time, the last one out stops it.

The window and a ``dbplay query --source embedded`` in a terminal may want the same
private server at the same moment. Without coordination both launch it (one fails and
adopts the other's), and whichever launched it stops it when *it* is done -- under the
other's feet. So every process that uses the server leaves a small file named by its PID
in a folder beside the data directory while it does, starts are serialised by a file
lock, and a process that is done stops the server only when no live process is left in
that folder. A file whose process has died (killed, crashed) counts for nothing and is
removed when seen. Nothing here knows an engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from dbplay_desktop.servers.pg_process import process_alive

__all__ = ["ServerUsers"]

log = logging.getLogger(__name__)


class ServerUsers:
    """The users of the server of ``data_dir``, kept beside it (``.<name>.users/``)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        parent, name = self.data_dir.parent, self.data_dir.name
        self.folder = parent / f".{name}.users"
        self.lock_file = parent / f".{name}.start-lock"
        self._pid = os.getpid()

    @contextlib.contextmanager
    def starting(self, timeout: float) -> Iterator[None]:
        """Hold the start lock: another process starting the same server waits here and
        then finds it running (and adopts it) instead of launching a second one."""
        from filelock import FileLock, Timeout

        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_file), timeout=max(1.0, timeout))
        try:
            lock.acquire()
        except Timeout:
            # Another process has held it for the whole start timeout (hung); go on:
            # the server's own lock file still keeps two servers off one directory.
            log.warning("the start lock %s is held by another process; starting anyway",
                        self.lock_file)
            yield
            return
        try:
            yield
        finally:
            lock.release()

    def join(self) -> None:
        """This process uses the server from now on (safe to call twice)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / str(self._pid)).write_text("")
        except OSError as exc:  # only coordination is lost; the server works as before
            log.warning("cannot note this process as a user of %s: %s", self.data_dir, exc)

    def leave(self) -> None:
        """This process is done with the server."""
        with contextlib.suppress(OSError):
            (self.folder / str(self._pid)).unlink()

    def others(self) -> list[int]:
        """The live processes other than this one that use the server; the files of
        processes that are gone are removed."""
        try:
            names = [entry.name for entry in self.folder.iterdir()]
        except OSError:
            return []
        alive: list[int] = []
        for name in names:
            try:
                pid = int(name)
            except ValueError:
                continue  # not ours
            if pid == self._pid:
                continue
            if process_alive(pid):
                alive.append(pid)
            else:
                with contextlib.suppress(OSError):
                    (self.folder / name).unlink()
        return sorted(alive)
