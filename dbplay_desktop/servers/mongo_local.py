"""The embedded MongoDB: a private server that dbplay starts, adopts and stops.

The MongoDB engine's descriptor names :class:`EmbeddedMongoServer` as its local server
(see :mod:`dbplay_desktop.servers.local`). It runs ``mongod`` or SecantusDB's
``secantusd-py`` (see :mod:`dbplay_desktop.servers.mongo_binaries`) as a separate
process on a free loopback port, with its data in ``<dbplay data dir>/mongodb``.

The data directory holds::

    db/                   the server's own files (--dbpath / --storage-path)
    dbplay-mongo.json     PID, port and program of the running server (ours)
    dbplay-mongo.log      the server's output
    secantusd.toml        an empty SecantusDB configuration (no user file applies)

Crash recovery: a state file whose process is gone is stale and cleared (with a
``mongod.lock`` it left); a live server of this data directory -- it answers on the
recorded port and ``serverStatus`` names the recorded PID -- is adopted instead of
started twice. A server dbplay started or adopted is stopped at exit. No Qt; pymongo is
imported inside the functions that talk to the server.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

from dbplay_desktop import app_dirs
from dbplay_desktop.servers.mongo_binaries import MongoProgram, ServerError, find_mongo_program
from dbplay_desktop.servers.pg_process import (
    free_loopback_port,
    last_lines,
    process_alive,
    process_name,
    read_log_from,
)

__all__ = [
    "DATA_DIR_ENV",
    "EMBEDDED_LABEL",
    "HOST",
    "LOG_FILE",
    "STATE_FILE",
    "EmbeddedMongoServer",
    "ServerError",
    "default_data_dir",
]

log = logging.getLogger(__name__)

EMBEDDED_LABEL = "Embedded MongoDB"
HOST = "127.0.0.1"
#: Overrides where the default server keeps its data.
DATA_DIR_ENV = "DBPLAY_MONGO_DATA"
STATE_FILE = "dbplay-mongo.json"
LOG_FILE = "dbplay-mongo.log"
CONFIG_FILE = "secantusd.toml"
DB_DIR = "db"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
_LOG_ROTATE_BYTES = 5 * 1024 * 1024
_PORT_TAKEN = ("Address already in use", "EADDRINUSE", "address in use", "Errno 98",
               "Errno 48", "10048")


def default_data_dir() -> Path:
    """``$DBPLAY_MONGO_DATA``, else ``mongodb`` in dbplay's data directory."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return app_dirs.data_dir() / "mongodb"


def _require_driver() -> None:
    try:
        import pymongo  # noqa: F401
    except ImportError:
        raise ServerError(
            "Talking to the MongoDB server needs pymongo: pip install 'dbplay-desktop[mongo]'"
        ) from None


def _ping(port: int, timeout: float) -> int | None:
    """The PID the server on ``port`` reports (0 when it does not say), None: no answer."""
    try:
        with socket.create_connection((HOST, port), timeout=min(timeout, 1.0)):
            pass
    except OSError:
        return None
    _require_driver()
    import pymongo
    from pymongo.errors import PyMongoError

    ms = max(100, int(timeout * 1000))
    client = pymongo.MongoClient(
        HOST, port, directConnection=True, serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms, socketTimeoutMS=ms, appname="dbplay-server-check",
    )
    try:
        client.admin.command("ping")
        try:
            status = client.admin.command({"serverStatus": 1, "repl": 0, "metrics": 0})
        except PyMongoError:
            return 0
        pid = status.get("pid", 0)
        return int(pid) if isinstance(pid, int) else 0
    except PyMongoError:
        return None
    finally:
        client.close()


def _serves(pid: int, db_dir: Path) -> bool:
    """Whether live process ``pid`` may be a server of ``db_dir`` (not a reused PID).

    On Linux its command line must name ``db_dir``; elsewhere its program name must
    look like a MongoDB server (or be unknown).
    """
    if not process_alive(pid):
        return False
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _looks_like_mongo(pid)
    return os.fsencode(str(db_dir)) in arguments


def _looks_like_mongo(pid: int) -> bool:
    name = process_name(pid)
    if name is None:
        return True
    name = name.lower()
    return any(word in name for word in ("mongod", "secantus", "python"))


class EmbeddedMongoServer:
    """dbplay's private MongoDB server in ``data_dir`` (default: :func:`default_data_dir`).

    :meth:`start` returns the administrator URI ``mongodb://127.0.0.1:PORT/`` (the server
    has no users: it listens on the loopback interface only). A server an earlier dbplay
    left running on this data directory is adopted (:attr:`adopted`) and, like one
    started here, stopped at exit.
    """

    label = EMBEDDED_LABEL

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.port: int | None = None
        self.pid: int | None = None
        self.program: MongoProgram | None = None
        self.adopted = False
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._at_exit = False

    # -- files -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return HOST

    @property
    def db_dir(self) -> Path:
        return self.data_dir / DB_DIR

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    @property
    def admin_uri(self) -> str:
        if self.port is None:
            raise ServerError(f"The MongoDB server for {self.data_dir} is not started")
        return f"mongodb://{HOST}:{self.port}/"

    def read_state(self) -> dict | None:
        """The state file's content (pid, port, program, kind), None when absent or bad."""
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict):
            return None
        if not isinstance(state.get("pid"), int) or not isinstance(state.get("port"), int):
            return None
        return state

    def _write_state(self, program: MongoProgram, pid: int, port: int) -> None:
        state = {"pid": pid, "port": port, "program": str(program.path), "kind": program.kind}
        temp = self.state_file.with_name(f".{STATE_FILE}.{os.getpid()}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, app_dirs.PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(state, stream)
        os.replace(temp, self.state_file)

    def _clear_state(self, pid: int | None = None) -> None:
        state = self.read_state()
        if pid is None or state is None or state.get("pid") == pid:
            with contextlib.suppress(FileNotFoundError):
                self.state_file.unlink()

    # -- start -------------------------------------------------------------------------

    def start(self) -> str:
        """Start (or adopt) the server; returns ``mongodb://127.0.0.1:PORT/``.

        Raises :class:`ServerError` (one line) when no server program is installed or
        the server does not come up (then with the last lines of its log).
        """
        with self._lock:
            if self.port is not None and self.pid is not None and process_alive(self.pid):
                return self.admin_uri
            _require_driver()  # before a server runs that could not be checked
            try:
                app_dirs.ensure_private_dir(self.data_dir)
            except OSError as error:
                reason = error.strerror or error
                raise ServerError(f"Cannot create {self.data_dir}: {reason}") from None
            if not self._adopt():
                self._launch()
            if not self._at_exit:
                atexit.register(self._stop_at_exit)
                self._at_exit = True
            return self.admin_uri

    def _adopt(self) -> bool:
        """Adopt a live server of this data directory; clear a stale state file."""
        state = self.read_state()
        if state is None:
            if self.state_file.exists():
                self._clear_state()
            return False
        pid, port = state["pid"], state["port"]
        try:  # a server started moments ago may still be coming up: wait for it
            written = self.state_file.stat().st_mtime
        except OSError:
            written = 0.0
        deadline = time.monotonic() + max(0.0, START_TIMEOUT - (time.time() - written))
        while _serves(pid, self.db_dir):
            answered = _ping(port, 1.0)
            if answered is not None and answered in (pid, 0):
                self.pid, self.port, self.adopted = pid, port, True
                kind = state.get("kind")
                kind = kind if kind in ("mongod", "secantus") else "mongod"
                self.program = MongoProgram(Path(str(state.get("program", kind))), kind)
                log.info("adopted the MongoDB server %s on port %s", pid, port)
                return True
            if answered is not None or time.monotonic() > deadline:
                # Its PID answers as another server, or it never comes up: not ours to use.
                raise ServerError(
                    f"A MongoDB server (PID {pid}) holds {self.data_dir} but does not answer "
                    f"on port {port}; stop it or remove {self.state_file}"
                )
            time.sleep(0.1)  # still starting (another dbplay is bringing it up)
        log.info("clearing the stale MongoDB state file of PID %s", pid)
        self._clear_state(pid)
        with contextlib.suppress(FileNotFoundError):
            (self.db_dir / "mongod.lock").unlink()  # left by a crashed mongod
        return False

    def _rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log_file.stat().st_size > _LOG_ROTATE_BYTES:
                os.replace(self.log_file, self.log_file.with_suffix(".log.1"))

    def _launch(self) -> None:
        program = find_mongo_program()
        app_dirs.ensure_private_dir(self.db_dir)
        config = self.data_dir / CONFIG_FILE
        if not config.exists():
            app_dirs.create_private_file(config)
        self._rotate_log()
        for attempt in range(3):
            port = free_loopback_port()
            command = program.command(host=HOST, port=port, db_dir=self.db_dir,
                                      config_file=config)
            offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            with self.log_file.open("ab") as log_stream:
                with contextlib.suppress(OSError):
                    os.chmod(self.log_file, app_dirs.PRIVATE_FILE_MODE)
                try:
                    process = subprocess.Popen(
                        command, stdin=subprocess.DEVNULL, stdout=log_stream,
                        stderr=subprocess.STDOUT, cwd=self.data_dir,
                        start_new_session=os.name == "posix",
                        creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
                    )
                except OSError as error:
                    reason = error.strerror or error
                    raise ServerError(f"Cannot run {program.path}: {reason}") from None
            self._write_state(program, process.pid, port)
            outcome = self._wait_ready(process, port)
            if outcome == "ready":
                self._process, self.program = process, program
                self.pid, self.port, self.adopted = process.pid, port, False
                return
            self._clear_state(process.pid)
            tail = last_lines(read_log_from(self.log_file, offset))
            if outcome == "exited" and attempt < 2 and any(s in tail for s in _PORT_TAKEN):
                continue  # the port was taken between the probe and the start: another
            if outcome == "timeout":
                self._terminate(process.pid, process)
                raise ServerError(f"{program.name} did not answer within {START_TIMEOUT:.0f} s "
                                  f"(log: {self.log_file}): {tail or 'no output'}")
            raise ServerError(f"{program.name} did not start (exit code {process.returncode}, "
                              f"log: {self.log_file}): {tail or 'no output'}")

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return "exited"
            if _ping(port, 2.0) is not None:
                return "ready"
            time.sleep(0.05)
        return "timeout"

    def is_alive(self) -> bool:
        """Whether the server process started (or adopted) here still runs; a child that
        died is reaped here, so a killed server never lingers as a zombie."""
        with self._lock:
            process, pid = self._process, self.pid
        if pid is None:
            return False
        if process is not None:
            return process.poll() is None
        return process_alive(pid)

    # -- stop --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the server (gracefully, then by force); safe to call twice."""
        with self._lock:
            pid, process = self.pid, self._process
            self.pid = self.port = None
            self._process = None
            self.adopted = False
            if self._at_exit:
                atexit.unregister(self._stop_at_exit)
                self._at_exit = False
            if pid is None:
                return
            try:
                self._terminate(pid, process)
            except ServerError as exc:  # stopping at exit must never raise into Qt
                log.warning("could not stop the embedded MongoDB: %s", exc)
                return
            self._clear_state(pid)

    def _stop_at_exit(self) -> None:
        self._at_exit = False
        self.stop()

    def _terminate(self, pid: int, process: subprocess.Popen[bytes] | None) -> None:
        def gone(wait: float) -> bool:
            end = time.monotonic() + wait
            while True:
                if process is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=0.05)
                    if process.returncode is not None:
                        return True
                elif not process_alive(pid):
                    return True
                else:
                    time.sleep(0.05)
                if time.monotonic() > end:
                    return False

        if gone(0):
            return
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)  # mongod and SecantusDB shut down cleanly
            if gone(STOP_TIMEOUT):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if gone(5.0):
                return
        else:
            self._shutdown_command()
            if gone(STOP_TIMEOUT):
                return
            with contextlib.suppress(OSError):
                if process is not None:
                    process.kill()
                else:
                    os.kill(pid, signal.SIGTERM)  # TerminateProcess
            if gone(5.0):
                return
        raise ServerError(f"Could not stop the MongoDB server (PID {pid}) of {self.data_dir}")

    def _shutdown_command(self) -> None:
        """Ask the server to shut down over the wire (Windows has no SIGTERM)."""
        if self.port is None and (state := self.read_state()) is not None:
            port = state["port"]
        else:
            port = self.port
        if port is None:
            return
        import pymongo
        from pymongo.errors import PyMongoError

        client = pymongo.MongoClient(HOST, port, directConnection=True,
                                     serverSelectionTimeoutMS=2000)
        with contextlib.suppress(PyMongoError):
            client.admin.command("shutdown")  # the server closes the connection
        client.close()

    # -- for other tools ---------------------------------------------------------------

    def uri(self, database: str, *, with_password: bool = False) -> str:
        """``mongodb://127.0.0.1:PORT/<database>`` (there is no password to leave out)."""
        base = self.admin_uri
        return f"{base}{quote(database, safe='')}" if database else base

    def uri_note(self) -> str:
        return ""

    def describe(self) -> str:
        # Called whenever the window's chrome changes: no process lookup, no connection.
        program = self.program.name if self.program is not None else "not started"
        address = f"{HOST}:{self.port}" if self.port is not None else "not started"
        pid = f", PID {self.pid}" if self.pid else ""
        adopted = " (adopted from an earlier run)" if self.adopted else ""
        return (f"{self.label} ({program}) on {address}{pid}{adopted}\n"
                f"Data directory: {self.data_dir}\n"
                f"Log: {self.log_file}")
