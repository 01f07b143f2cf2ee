"""The embedded default PostgreSQL: a private cluster that dbplay creates, starts and stops.

With nothing configured, dbplay needs a server to make sandbox databases in. This module
runs one from the PostgreSQL programs installed on the machine (see
:mod:`dbplay_desktop.servers.pg_binaries`): ``initdb`` on first use, a free loopback port
on every start, a superuser ``dbplay`` whose random password is kept in a file next to
the data, and recovery after crashes (stale lock files are cleared, a server left running
by a crashed app is adopted instead of started twice). What goes into the data directory
before the first start (initdb, the password file, the settings) is in
:mod:`dbplay_desktop.servers.pg_cluster`.

PostgreSQL refuses to run as root, so when dbplay runs as root (CI, containers) the server
programs run as the ``postgres`` account (or ``nobody``) while dbplay itself stays root.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from dbplay_desktop.servers.pg_binaries import (
    PgBinaries,
    ServerError,
    find_client_program,
    find_postgres_bin_dirs,
    select_postgres_binaries,
)
from dbplay_desktop.servers.pg_cluster import (
    ADMIN_USER,
    PASSWORD_FILE,
    PGPASS_FILE,
    SETTINGS_FILE,
    cluster_major,
    create_cluster,
    read_password,
    reset_password,
    write_pgpass,
    write_settings,
)
from dbplay_desktop.servers.pg_paths import (
    APP_DATA_DIR_ENV,
    DATA_DIR_ENV,
    HOST,
    ROOT_DATA_DIR,
    ServerStatus,
    default_data_dir,
)
from dbplay_desktop.servers.pg_process import (
    DEFAULT_MEMORY_LIMIT,
    PidFile,
    ServiceAccount,
    free_loopback_port,
    is_live_postgres,
    last_lines,
    make_reachable,
    memory_limit_bytes,
    memory_limit_prefix,
    process_alive,
    read_log_from,
    run_program,
    service_account,
    stop_by_signals,
)
from dbplay_desktop.servers.users import ServerUsers

__all__ = [
    "ADMIN_USER",
    "APP_DATA_DIR_ENV",
    "DATA_DIR_ENV",
    "DEFAULT_MEMORY_LIMIT",
    "LOG_FILE",
    "PASSWORD_FILE",
    "PGPASS_FILE",
    "ROOT_DATA_DIR",
    "SETTINGS_FILE",
    "EmbeddedPostgres",
    "ServerError",
    "ServerStatus",
    "default_data_dir",
    "find_postgres_bin_dirs",
    "memory_limit_bytes",
    "memory_limit_prefix",
    "select_postgres_binaries",
]

log = logging.getLogger(__name__)

LOG_FILE = "dbplay-server.log"
_LOG_ROTATE_BYTES = 5 * 1024 * 1024
# A unix socket path is "<dir>/.s.PGSQL.<port>" and must stay below ~100 characters.
_MAX_SOCKET_DIR_LEN = 100 - len("/.s.PGSQL.65535") - 1
_SAFE_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@")
# Messages in the server log that mean "try again" rather than "broken" (lc_messages is C).
_RETRYABLE_START_FAILURES = (
    "Address already in use",
    "could not create any TCP/IP sockets",
    "pre-existing shared memory block",
    "already exists",  # a lock file of a server that is starting or stopping right now
)


class EmbeddedPostgres:
    """A private PostgreSQL cluster in ``data_dir``, listening on 127.0.0.1 only.

    ``bin_dir`` pins the server programs (else ``$DBPLAY_PG_BIN`` or a search, see
    :func:`select_postgres_binaries`); ``search_system=False`` limits the search to
    binaries shipped with the app.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        bin_dir: str | Path | None = None,
        search_system: bool = True,
        start_timeout: float = 60.0,
    ) -> None:
        self._data_dir = Path(os.path.realpath(Path(data_dir or default_data_dir()).expanduser()))
        self._configured_bin_dir = bin_dir
        self._search_system = search_system
        self._start_timeout = start_timeout
        self._binaries_cache: PgBinaries | None = None
        self._password: str | None = None
        self._port: int | None = None
        self._socket_dir: Path | None = None
        self.adopted = False
        """True when :meth:`start` found this cluster already running and took it over."""
        self.users = ServerUsers(self._data_dir)
        """The dbplay processes using this cluster (the last one out stops it)."""

    # ------------------------------------------------------------------ properties

    @functools.cached_property
    def _account(self) -> ServiceAccount | None:
        return service_account()

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise ServerError(f"The PostgreSQL server for {self._data_dir} is not started")
        return self._port

    @property
    def socket_dir(self) -> Path | None:
        """The directory of the server's unix socket (``None`` on Windows or before start)."""
        return self._socket_dir

    @property
    def bin_dir(self) -> Path:
        return self._binaries().bin_dir

    @property
    def version(self) -> int:
        """The PostgreSQL major version of the server programs (e.g. 16)."""
        return self._binaries().major

    @property
    def password(self) -> str:
        if self._password is None:
            self._password = read_password(self._data_dir)
        return self._password

    @property
    def admin_uri(self) -> str:
        """A superuser URI: ``postgresql://dbplay:<password>@127.0.0.1:<port>/postgres``."""
        return self.uri(with_password=True)

    def uri(self, database: str = "postgres", *, with_password: bool = False) -> str:
        """The superuser's URI for ``database``, without the password unless asked.

        Sandbox roles cannot log in (dbplay enables them only for its own sessions), so
        this is the address other tools use. Without the password, libpq finds it in
        :attr:`pgpass_file` (``PGPASSFILE``), which only the owner can read.
        """
        user = ADMIN_USER + (":" + quote(self.password, safe="") if with_password else "")
        return f"postgresql://{user}@{HOST}:{self.port}/{quote(database, safe='')}"

    @property
    def pgpass_file(self) -> Path:
        """A libpq password file for this server (``PGPASSFILE=...``), written at start."""
        return self._data_dir / PGPASS_FILE

    def status(self) -> ServerStatus:
        """Running or not, PID, address and version, read from the cluster's files."""
        pid_file = PidFile.read(self._data_dir)
        running = pid_file is not None and is_live_postgres(pid_file.pid)
        try:
            version = self._cluster_major()
        except ServerError:
            version = None
        return ServerStatus(
            data_dir=self._data_dir,
            running=running,
            pid=pid_file.pid if running and pid_file else None,
            host=HOST,
            port=(pid_file.port if running and pid_file else None) or None,
            version=version,
            socket_dir=pid_file.socket_dir if running and pid_file else None,
        )

    def server_version(self) -> str:
        """The running server's full version (``SHOW server_version``)."""
        psycopg = _psycopg()
        try:
            with psycopg.connect(self.admin_uri, connect_timeout=5) as connection:
                row = connection.execute("SHOW server_version").fetchone()
        except psycopg.Error as error:
            message = last_lines(str(error), 1)
            raise ServerError(f"PostgreSQL on port {self.port}: {message}") from None
        return str(row[0]) if row else ""

    def pg_dump_path(self) -> Path:
        """``pg_dump`` at least as new as the server (it refuses newer servers)."""
        return find_client_program(
            "pg_dump", self.version, self.bin_dir, search_system=self._search_system
        )

    def psql_path(self) -> Path:
        """``psql`` at least as new as the server."""
        return find_client_program(
            "psql", self.version, self.bin_dir, search_system=self._search_system
        )

    def is_running(self) -> bool:
        """Whether a live PostgreSQL process holds this data directory's lock file."""
        pid_file = PidFile.read(self._data_dir)
        return pid_file is not None and is_live_postgres(pid_file.pid)

    # ------------------------------------------------------------------ start / stop

    def attach(self, timeout: float = 15.0) -> bool:
        """Use this cluster's server if one runs already, without starting or creating it.

        False when none runs (or the cluster does not exist yet); a server that runs but
        refuses dbplay's password raises :class:`ServerError`.
        """
        if self._cluster_major() is None or not (self._data_dir / PASSWORD_FILE).is_file():
            return False
        if not self._adopt_running(time.monotonic() + timeout):
            return False
        write_pgpass(self._data_dir, self.password)
        return True

    def start(self, *, stop_at_exit: bool = True, timeout: float | None = None) -> None:
        """Create the cluster if needed, then start it or adopt the one already running.

        ``stop_at_exit`` stops the server when this Python process exits normally.
        Raises :class:`ServerError` with the tail of the server log when it cannot start.
        """
        running = PidFile.read(self._data_dir)
        if running and running.port == self._port and is_live_postgres(running.pid):
            return  # started (or adopted) by this object already
        wait = timeout or self._start_timeout
        deadline = time.monotonic() + wait
        # Another dbplay starting this cluster right now (the window and a CLI command)
        # finishes first; this one then adopts its server instead of racing it.
        with self.users.starting(wait):
            self._prepare()
            while not self._adopt_running(deadline):
                try:
                    self._port = self._launch(deadline)
                    self.adopted = False
                    break
                except _RetryStart as retry:
                    if time.monotonic() > deadline:
                        raise ServerError(f"PostgreSQL did not start: {retry}") from None
                    log.info("retrying PostgreSQL start: %s", retry)
                    time.sleep(0.3)
            self._check_connection(deadline)
            self.users.join()
        if stop_at_exit:
            atexit.unregister(self._stop_at_exit)  # once, also after a restart
            atexit.register(self._stop_at_exit)

    def release(self, timeout: float = 30.0) -> bool:
        """This process is done with the server: stop it unless another dbplay process
        still uses it (a window, a CLI command); returns whether it was stopped."""
        atexit.unregister(self._stop_at_exit)
        self.users.leave()
        others = self.users.others()
        if others:
            log.info("leaving PostgreSQL running for dbplay process %s", others[0])
            self._port = None
            return False
        self.stop(timeout)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server of this data directory (fast shutdown, then signals), whoever
        uses it; :meth:`release` is the polite way."""
        atexit.unregister(self._stop_at_exit)
        self.users.leave()
        self._port = None
        pid_file = PidFile.read(self._data_dir)
        if pid_file is None or not is_live_postgres(pid_file.pid):
            return
        try:
            pg_ctl = str(self._binaries().program("pg_ctl"))
        except ServerError:
            pg_ctl = None
        if pg_ctl is not None:
            for mode, wait in (("fast", timeout), ("immediate", 10.0)):
                self._run(
                    [
                        pg_ctl,
                        "stop",
                        "-D",
                        str(self._data_dir),
                        "-m",
                        mode,
                        "-w",
                        "-s",
                        "-t",
                        str(max(1, int(wait))),
                    ],
                    timeout=wait + 15,
                )
                if not process_alive(pid_file.pid):
                    break
        if process_alive(pid_file.pid):
            stop_by_signals(pid_file.pid, timeout)
        if process_alive(pid_file.pid):
            raise ServerError(f"Could not stop PostgreSQL (PID {pid_file.pid}) of {self._data_dir}")
        self._remove_temporary_socket_dir(pid_file.socket_dir)

    def _stop_at_exit(self) -> None:
        try:
            self.release()
        except Exception as error:  # nothing left to report to at exit
            log.warning("could not stop PostgreSQL at exit: %s", error)

    # ------------------------------------------------------------------ preparation

    def programs(self) -> PgBinaries | None:
        """The server programs this cluster runs with (None when none fit): which
        PostgreSQL a user gets is worth showing, as there can be several."""
        try:
            return self._binaries()
        except ServerError:
            return None

    def _binaries(self) -> PgBinaries:
        if self._binaries_cache is None:
            self._binaries_cache = select_postgres_binaries(
                self._configured_bin_dir,
                search_system=self._search_system,
                required_major=self._cluster_major(),
            )
        return self._binaries_cache

    def _cluster_major(self) -> int | None:
        """The major version that created the cluster (``PG_VERSION``), None if none yet."""
        return cluster_major(self._data_dir)

    def _prepare(self) -> None:
        """Everything before launching: binaries, reachable directories, cluster, password."""
        self._binaries()
        make_reachable(self._data_dir.parent, self._account)
        if self._cluster_major() is None:
            create_cluster(self._data_dir, self._binaries(), self._account, self._run)
        if not (self._data_dir / PASSWORD_FILE).is_file():
            reset_password(self._data_dir, self._binaries(), self._run)
        self._password = read_password(self._data_dir)
        write_pgpass(self._data_dir, self._password)
        write_settings(self._data_dir, self._account)

    # ------------------------------------------------------------------ running

    def _adopt_running(self, deadline: float) -> bool:
        """Take over a server of this data directory that is already running.

        A lock file whose process is gone, or is not PostgreSQL, is stale and removed.
        A live PostgreSQL that is starting or stopping is waited for.
        """
        while True:
            pid_file = PidFile.read(self._data_dir)
            if pid_file is None:
                return False
            if not is_live_postgres(pid_file.pid):
                log.info("removing stale %s (PID %s)", pid_file.path, pid_file.pid)
                with contextlib.suppress(FileNotFoundError):
                    pid_file.path.unlink()
                return False
            if pid_file.ready and pid_file.port:
                problem = self._probe(pid_file.port)
                if problem is None:
                    log.info("adopting running PostgreSQL (PID %s)", pid_file.pid)
                    self._port, self._socket_dir = pid_file.port, pid_file.socket_dir
                    self.adopted = True
                    return True
                if PidFile.read(self._data_dir) != pid_file:
                    continue  # it began to stop (or restarted) meanwhile: look again
                raise ServerError(
                    f"A PostgreSQL server (PID {pid_file.pid}) runs on {self._data_dir} "
                    f"but dbplay cannot use it: {problem}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"A PostgreSQL server (PID {pid_file.pid}) holds {self._data_dir} but is "
                    f"not ready ({pid_file.status or 'no status'}); stop it and try again"
                )
            time.sleep(0.2)

    def _launch(self, deadline: float) -> int:
        """Start the server with ``pg_ctl`` on a free port; returns the port it listens on."""
        port = free_loopback_port()
        self._socket_dir = self._choose_socket_dir()
        options = f"-p {port} -c listen_addresses={HOST}"
        if self._socket_dir is not None:
            options += f" -k {shlex.quote(str(self._socket_dir))}"
        log_file = self._data_dir / LOG_FILE
        with contextlib.suppress(OSError):
            if log_file.stat().st_size > _LOG_ROTATE_BYTES:
                os.replace(log_file, log_file.with_suffix(".log.old"))
        offset = log_file.stat().st_size if log_file.exists() else 0
        wait = max(1.0, deadline - time.monotonic())
        completed = self._run(
            [
                *memory_limit_prefix(),
                str(self._binaries().program("pg_ctl")),
                "start",
                "-D",
                str(self._data_dir),
                "-l",
                str(log_file),
                "-w",
                "-s",
                "-t",
                str(int(wait) + 1),
                "-o",
                options,
            ],
            timeout=wait + 30,
        )
        if completed.returncode == 0:
            pid_file = PidFile.read(self._data_dir)
            return pid_file.port if pid_file and pid_file.port else port
        self._remove_temporary_socket_dir(self._socket_dir)
        server_log = read_log_from(log_file, offset)
        if any(marker in server_log for marker in _RETRYABLE_START_FAILURES):
            raise _RetryStart(last_lines(server_log))
        details = last_lines(server_log) or last_lines(completed.stderr or completed.stdout)
        raise ServerError(f"PostgreSQL did not start (log: {log_file}): {details}")

    def _choose_socket_dir(self) -> Path | None:
        """The data directory when its path is short and plain, else a private temp dir."""
        if os.name == "nt":
            return None
        data = str(self._data_dir)
        if len(data) <= _MAX_SOCKET_DIR_LEN and set(data) <= _SAFE_PATH_CHARS:
            return self._data_dir
        short = Path(tempfile.mkdtemp(prefix="dbplay-pg-"))
        if len(str(short)) > _MAX_SOCKET_DIR_LEN:
            short.rmdir()
            short = Path(tempfile.mkdtemp(prefix="dbplay-pg-", dir="/tmp"))
        if self._account is not None:
            os.chown(short, self._account.uid, self._account.gid)
        return short

    def _remove_temporary_socket_dir(self, socket_dir: Path | None) -> None:
        if socket_dir is not None and socket_dir.name.startswith("dbplay-pg-"):
            with contextlib.suppress(OSError):
                socket_dir.rmdir()  # only when empty: the server removes its socket on exit

    def _probe(self, port: int) -> str | None:
        """Connect as ``dbplay``; None when this is our cluster, else what is wrong."""
        psycopg = _psycopg()
        try:
            with psycopg.connect(
                host=HOST,
                port=port,
                user=ADMIN_USER,
                password=self.password,
                dbname="postgres",
                connect_timeout=5,
            ) as connection:
                row = connection.execute("SHOW data_directory").fetchone()
        except psycopg.Error as error:
            return last_lines(str(error), 1)
        served = os.path.realpath(row[0]) if row else ""
        if served != str(self._data_dir):
            return f"it serves {served}, not {self._data_dir}"
        return None

    def _check_connection(self, deadline: float) -> None:
        """Wait until the server accepts dbplay's credentials, or explain why not."""
        while True:
            problem = self._probe(self.port)
            if problem is None:
                return
            if time.monotonic() > deadline:
                tail = last_lines(read_log_from(self._data_dir / LOG_FILE, 0))
                raise ServerError(f"PostgreSQL does not accept connections: {problem}; log: {tail}")
            time.sleep(0.2)

    def _run(
        self, command: list[str], *, timeout: float, stdin_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a server program (as the service account when dbplay is root)."""
        parent = self._data_dir.parent
        return run_program(
            command,
            self._account,
            cwd=parent if parent.is_dir() else None,
            timeout=timeout,
            stdin_text=stdin_text,
        )


class _RetryStart(Exception):
    """A start failed for a passing reason (port taken, old processes still exiting)."""


def _psycopg():  # type: ignore[no-untyped-def]
    try:
        import psycopg
    except ImportError:
        raise ServerError(
            "The embedded PostgreSQL needs psycopg: pip install 'dbplay-desktop[postgres]'"
        ) from None
    return psycopg
