"""Which database server the window talks to, and the life of the embedded default.

The window needs a server before it can make a single playground. With nothing
configured that is the embedded PostgreSQL cluster (:class:`EmbeddedPostgres`), which
this manager starts on first use -- or adopts, when an earlier dbplay left it running --
and stops when the app exits. A server the user connects to is never started or
stopped here: the manager only remembers its URI.

No Qt here: the window calls :meth:`ServerManager.start_default` on a worker thread,
because ``initdb`` on a first run takes seconds.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from dbplay_desktop.servers.pg_process import PidFile
from dbplay_desktop.servers.postgres import EmbeddedPostgres, ServerError, default_data_dir

__all__ = ["ServerError", "ServerManager"]

log = logging.getLogger(__name__)

EMBEDDED_LABEL = "Embedded PostgreSQL"


class ServerManager:
    """Starts (or reuses) the embedded default server and stops it at exit.

    ``data_dir`` overrides where the embedded cluster lives (default:
    :func:`default_data_dir`). Thread-safe: two workers asking for the default server at
    once get the same one.
    """

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._lock = threading.Lock()
        self._server: EmbeddedPostgres | None = None
        self._admin_uri: str | None = None
        self._cleanup_taken = False

    @property
    def data_dir(self) -> Path:
        return self._data_dir if self._data_dir is not None else default_data_dir()

    @property
    def is_running(self) -> bool:
        return self._admin_uri is not None

    @property
    def admin_uri(self) -> str | None:
        """The embedded server's superuser URI once started, else ``None``."""
        return self._admin_uri

    @property
    def embedded(self) -> EmbeddedPostgres | None:
        """The embedded server once started (its address, data directory, URIs)."""
        return self._server

    def embedded_uri(self, database: str, *, with_password: bool = False) -> str | None:
        """The URI of ``database`` on the embedded server (None before it started).

        Without the password unless asked: it is then in
        :attr:`EmbeddedPostgres.pgpass_file`, for ``PGPASSFILE``.
        """
        server = self._server
        if server is None or self._admin_uri is None:
            return None
        return server.uri(database, with_password=with_password)

    def describe(self) -> str | None:
        """One line for the server's tooltip: address, data directory, PID."""
        server = self._server
        if server is None or self._admin_uri is None:
            return None
        # Called whenever the window's chrome changes: a file read, no process lookup.
        pid_file = PidFile.read(server.data_dir)
        pid = f", PID {pid_file.pid}" if pid_file is not None and pid_file.pid else ""
        return (f"{EMBEDDED_LABEL} on {server.host}:{server.port}{pid}\n"
                f"Data directory: {server.data_dir}\n"
                f"Password file for other tools: PGPASSFILE={server.pgpass_file}")

    def start_default(self) -> str:
        """Start the embedded PostgreSQL if needed and return its admin URI.

        Raises :class:`ServerError` with a one-line message (for example when no
        PostgreSQL server programs are installed).
        """
        with self._lock:
            if self._admin_uri is not None:
                return self._admin_uri
            server = EmbeddedPostgres(self.data_dir)
            server.start(stop_at_exit=True)
            self._server = server
            self._admin_uri = server.admin_uri
            return self._admin_uri

    def take_cleanup_turn(self) -> bool:
        """True once per manager: the first start may clear playgrounds a crash left behind.

        Later starts must not, since this window's own playgrounds may be half-made.
        """
        with self._lock:
            taken, self._cleanup_taken = self._cleanup_taken, True
        return not taken

    def stop(self) -> None:
        """Stop the embedded server if this manager started it; safe to call twice.

        A server adopted from an earlier run is stopped too: dbplay owns that cluster and
        nothing else should keep it running once the window is gone.
        """
        with self._lock:
            server, self._server = self._server, None
            self._admin_uri = None
        if server is None:
            return
        try:
            server.stop()
        except ServerError as exc:  # stopping at exit must never raise into Qt
            log.warning("could not stop the embedded PostgreSQL: %s", exc)
