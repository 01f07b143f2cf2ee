"""The server manager: one local server per engine, started once, stopped together.

The servers here are small in-process implementations of the LocalServer protocol (the
real embedded PostgreSQL is covered by tests/ui/test_server_address.py, which adopts the
test cluster through the manager).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dbplay_desktop.errors import ConnectionFailed, EngineError
from dbplay_desktop.servers.local import LocalServer
from dbplay_desktop.servers.manager import ServerManager


class CountingServer:
    """A LocalServer that only counts: starts, stops, and where it was told to live."""

    label = "Counting server"
    starts = 0

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.stopped = 0
        self.started = threading.Event()

    def start(self) -> str:
        type(self).starts += 1
        self.started.set()
        return f"count://admin:secret@here/{self.data_dir}"

    def stop(self) -> None:
        self.stopped += 1

    def describe(self) -> str:
        return f"{self.label} in {self.data_dir}"

    def uri(self, database: str, *, with_password: bool = False) -> str:
        return f"count://admin{':secret' if with_password else ''}@here/{database}"

    def uri_note(self) -> str:
        return ""

    def is_alive(self) -> bool:
        return self.stopped == 0


class BrokenServer(CountingServer):
    def start(self) -> str:
        raise ConnectionFailed("no server programs here")


def test_each_engine_starts_once_and_all_stop_together(tmp_path: Path):
    CountingServer.starts = 0
    made: list[CountingServer] = []

    def factory(data_dir: Path | None) -> CountingServer:
        made.append(CountingServer(data_dir))
        return made[-1]

    manager = ServerManager({"one": tmp_path / "one"})
    assert manager.describe("one") is None and manager.uri("one", "db") is None
    threads = [threading.Thread(target=manager.start, args=("one", factory)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert CountingServer.starts == 1 and len(made) == 1
    assert isinstance(made[0], LocalServer)
    assert made[0].data_dir == tmp_path / "one"
    assert manager.start("two", factory).endswith("/None")  # no override: its default
    assert manager.started() == ["one", "two"]
    assert manager.admin_uri("one") == f"count://admin:secret@here/{tmp_path / 'one'}"
    assert manager.uri("one", "db") == "count://admin@here/db"
    assert manager.describe("two") == "Counting server in None"
    assert manager.server("one") is made[0]

    assert manager.take_cleanup_turn("one") and not manager.take_cleanup_turn("one")
    assert manager.take_cleanup_turn("two")

    manager.stop()
    manager.stop()  # twice is fine
    assert [server.stopped for server in made] == [1, 1]
    assert manager.started() == [] and manager.server("one") is None


def test_a_failed_start_is_an_error_and_may_be_tried_again():
    manager = ServerManager()
    with pytest.raises(ConnectionFailed, match="no server programs"):
        manager.start("one", BrokenServer)
    assert not manager.is_running("one")
    assert manager.start("one", CountingServer).startswith("count://")
    assert manager.is_running("one")
    manager.stop()


def test_stop_waits_for_a_server_still_starting_and_stops_it() -> None:
    """A quit while a worker is still starting a server (initdb takes seconds) must not
    leave that server running once the start completes."""
    release = threading.Event()
    made: list[CountingServer] = []

    class SlowServer(CountingServer):
        def start(self) -> str:
            made.append(self)
            self.started.set()
            release.wait(60)
            return super().start()

    manager = ServerManager()
    starter = threading.Thread(target=manager.start, args=("slow", SlowServer))
    starter.start()
    while not made:  # the worker is inside start()
        threading.Event().wait(0.01)
    made[0].started.wait(60)
    stopper = threading.Thread(target=manager.stop)
    stopper.start()
    release.set()
    starter.join(60)
    stopper.join(60)
    assert made[0].stopped == 1
    assert manager.admin_uri("slow") is None


def test_a_start_asked_for_after_the_stop_is_refused(tmp_path):
    """The app quits while a start is still waiting for its worker: the stop must not be
    followed by a server nobody will stop."""
    made: list[CountingServer] = []

    def factory(data_dir: Path | None) -> CountingServer:
        made.append(CountingServer(data_dir))
        return made[-1]

    manager = ServerManager({"one": tmp_path / "one"})
    manager.stop()
    with pytest.raises(EngineError, match="quitting"):
        manager.start("one", factory)
    assert made == [] and manager.started() == []
