"""The private servers the window starts itself, one per engine, and their lives.

The window needs a server before it can make a playground of a server engine. With
nothing configured for that engine it is the engine's *local server* (for PostgreSQL the
embedded cluster), which this manager starts on first use -- or adopts, when an earlier
dbplay left it running -- and stops when the app exits. A server the user connects to is
never started or stopped here: the window keeps its URI itself.

The manager knows no engine: the window resolves an engine descriptor's
``local_server`` reference and passes the factory (``(data_dir) -> LocalServer``, see
:mod:`dbplay_desktop.servers.local`) to :meth:`ServerManager.start`. No Qt here: the
window calls :meth:`ServerManager.start` on a worker thread, because ``initdb`` on a
first run takes seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from dbplay_desktop.errors import EngineError
from dbplay_desktop.servers.local import LocalServer, LocalServerFactory

__all__ = ["ServerManager"]

log = logging.getLogger(__name__)


class ServerManager:
    """Starts (or reuses) each engine's local server once, and stops them all at exit.

    ``data_dirs`` maps an engine name to where its local server keeps its data (tests
    point the PostgreSQL one at the shared test cluster); an engine not in it gets its
    server's default place. Thread-safe: two workers asking for the same engine's server
    at once get the same one, and a slow start of one engine does not hold up another.
    """

    def __init__(self, data_dirs: Mapping[str, str | Path] | None = None) -> None:
        self._data_dirs = {name: Path(path) for name, path in (data_dirs or {}).items()}
        self._lock = threading.Lock()
        self._engine_locks: dict[str, threading.Lock] = {}
        self._servers: dict[str, LocalServer] = {}
        self._admin_uris: dict[str, str] = {}
        self._cleanup_taken: set[str] = set()
        self._stopped = False  # the app is quitting: nothing starts any more

    def data_dir(self, name: str) -> Path | None:
        """Where engine ``name``'s local server keeps its data (None: its default)."""
        return self._data_dirs.get(name)

    def is_running(self, name: str) -> bool:
        return name in self._admin_uris

    def started(self) -> list[str]:
        """The engines whose local server this manager started (or adopted)."""
        return list(self._admin_uris)

    def admin_uri(self, name: str) -> str | None:
        """The local server's administrator URI once started, else ``None``."""
        return self._admin_uris.get(name)

    def server(self, name: str) -> LocalServer | None:
        """Engine ``name``'s local server once started (its address, data, URIs)."""
        return self._servers.get(name) if name in self._admin_uris else None

    def uri(self, name: str, database: str, *, with_password: bool = False) -> str | None:
        """The URI of ``database`` on engine ``name``'s local server (None before it
        started); without the password unless asked (see ``LocalServer.uri_note``)."""
        server = self.server(name)
        return server.uri(database, with_password=with_password) if server else None

    def describe(self, name: str) -> str | None:
        """A few lines for the server label's tooltip (None before it started)."""
        server = self.server(name)
        return server.describe() if server is not None else None

    def start(self, name: str, factory: LocalServerFactory) -> str:
        """Start engine ``name``'s local server if needed; returns its admin URI.

        Raises the server's one-line error (for example when no server programs are
        installed); a later call tries again.
        """
        with self._lock:
            engine_lock = self._engine_locks.setdefault(name, threading.Lock())
        with engine_lock:
            if self._stopped:
                raise EngineError("dbplay is quitting: the local server is not started")
            known = self._admin_uris.get(name)
            if known is not None:
                return known
            # After a death (:meth:`forget`) the same server object starts again: it
            # knows its data directory, port and exit hooks.
            server = self._servers.get(name) or factory(self.data_dir(name))
            uri = server.start()
            with self._lock:
                self._servers[name] = server
                self._admin_uris[name] = uri
            return uri

    def alive(self, name: str) -> bool | None:
        """Whether engine ``name``'s local server still runs (None: not started here).

        A process lookup, cheap enough for the window to ask every second: a server
        killed under open playgrounds is noticed within seconds.
        """
        server = self.server(name)
        if server is None:
            return None
        try:
            return bool(server.is_alive())
        except OSError:
            return True  # cannot tell: the playgrounds' own errors will say

    def forget(self, name: str) -> None:
        """Engine ``name``'s local server died: the next :meth:`start` starts it again
        (the same server object, so its data directory and port are kept)."""
        with self._lock:
            self._admin_uris.pop(name, None)

    def take_cleanup_turn(self, name: str) -> bool:
        """True once per engine: the first start may clear playgrounds a crash left behind.

        Later starts must not, since this window's own playgrounds may be half-made.
        """
        with self._lock:
            taken = name in self._cleanup_taken
            self._cleanup_taken.add(name)
        return not taken

    def stop(self) -> None:
        """Stop every local server this manager started (waiting for one still starting)
        and start none afterwards; safe to call twice.

        A server adopted from an earlier run is stopped too: dbplay owns it and nothing
        else should keep it running once the window is gone.
        """
        # A server still starting on a worker (initdb takes seconds) is waited for, then
        # stopped with the others; a start asked for afterwards (its worker had not got
        # that far yet) is refused: a quit during the start must not leave it running.
        with self._lock:
            self._stopped = True
            engine_locks = list(self._engine_locks.values())
        for engine_lock in engine_locks:
            with engine_lock:
                pass
        with self._lock:
            servers = list(self._servers.items())
            self._servers.clear()
            self._admin_uris.clear()
        for name, server in servers:
            try:
                server.stop()
            except (EngineError, OSError) as exc:  # stopping at exit must never raise
                log.warning("could not stop the local %s server: %s", name, exc)
