"""The embedded PostgreSQL cluster as a :class:`~dbplay_desktop.servers.local.LocalServer`.

A thin face on :class:`~dbplay_desktop.servers.postgres.EmbeddedPostgres`: the PostgreSQL
engine's descriptor names :class:`EmbeddedPostgresServer` as its local server, and the
window's :class:`~dbplay_desktop.servers.manager.ServerManager` starts it on first need.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dbplay_desktop.servers.pg_process import PidFile, is_live_postgres
from dbplay_desktop.servers.postgres import EmbeddedPostgres, ServerError, default_data_dir

__all__ = ["EMBEDDED_LABEL", "EmbeddedPostgresServer"]

log = logging.getLogger(__name__)

EMBEDDED_LABEL = "Embedded PostgreSQL"


class EmbeddedPostgresServer:
    """dbplay's private PostgreSQL cluster in ``data_dir`` (default: :func:`default_data_dir`).

    Started with ``stop_at_exit``; a cluster an earlier dbplay left running is adopted
    (:attr:`adopted`) and stopped at the end too: dbplay owns it.
    """

    label = EMBEDDED_LABEL

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.embedded = EmbeddedPostgres(Path(data_dir) if data_dir is not None
                                         else default_data_dir())

    @property
    def adopted(self) -> bool:
        return self.embedded.adopted

    @property
    def data_dir(self) -> Path:
        return self.embedded.data_dir

    @property
    def pgpass_file(self) -> Path:
        return self.embedded.pgpass_file

    def start(self) -> str:
        self.embedded.start(stop_at_exit=True)
        return self.embedded.admin_uri

    def stop(self) -> None:
        """Done with the server: stopped unless a dbplay command still uses it."""
        try:
            self.embedded.release()
        except ServerError as exc:  # stopping at exit must never raise into Qt
            log.warning("could not stop the embedded PostgreSQL: %s", exc)

    def is_alive(self) -> bool:
        """Whether the postmaster that holds the data directory's lock file still runs."""
        pid_file = PidFile.read(self.embedded.data_dir)
        return pid_file is not None and is_live_postgres(pid_file.pid)

    def uri(self, database: str, *, with_password: bool = False) -> str:
        """Its superuser's URI (sandbox roles cannot log in from outside)."""
        return self.embedded.uri(database, with_password=with_password)

    def uri_note(self) -> str:
        return f"PGPASSFILE={self.embedded.pgpass_file}"

    def describe(self) -> str:
        server = self.embedded
        # Called whenever the window's chrome changes: a file read, no process lookup.
        pid_file = PidFile.read(server.data_dir)
        pid = f", PID {pid_file.pid}" if pid_file is not None and pid_file.pid else ""
        return (f"{self.label} on {server.host}:{server.port}{pid}\n"
                f"Data directory: {server.data_dir}\n"
                f"Password file for other tools: PGPASSFILE={server.pgpass_file}")
