"""The operating-system side of running PostgreSQL: accounts, lock files, processes.

PostgreSQL refuses to run as root, so under root (CI, containers) its programs run as
an unprivileged service account; these helpers switch to it, hand it directories, read
the server's lock file and tell a live server from a stale PID. No Qt, no psycopg.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dbplay_desktop.processes import process_alive
from dbplay_desktop.servers.pg_binaries import ServerError


def running_as_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


@dataclass(frozen=True)
class ServiceAccount:
    """The unprivileged account that runs the server programs when dbplay runs as root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    command_prefix: tuple[str, ...]


def service_account() -> ServiceAccount | None:
    """``postgres`` (else ``nobody``) when dbplay runs as root, else None.

    PostgreSQL refuses to run as root. ``setpriv`` is preferred over ``runuser``: it
    switches user without a PAM session and keeps the environment as it is.
    """
    if not running_as_root():
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        break
    else:
        raise ServerError(
            "PostgreSQL cannot run as root and there is no 'postgres' or 'nobody' account; "
            "create one (useradd postgres) or run dbplay as a normal user"
        )
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/bin", "/usr/sbin", "/sbin"])
    setpriv, runuser = shutil.which("setpriv", path=search), shutil.which("runuser", path=search)
    if setpriv:
        prefix = (setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups")
    elif runuser:
        prefix = (runuser, "-u", name, "--")
    else:
        raise ServerError(
            "Running PostgreSQL as root needs 'setpriv' or 'runuser' (util-linux); "
            "install util-linux or run dbplay as a normal user"
        )
    groups = tuple(os.getgrouplist(name, entry.pw_gid))
    return ServiceAccount(name, entry.pw_uid, entry.pw_gid, groups, prefix)


#: Where clusters go, as root, when the account cannot reach the app's data directory.
ROOT_CLUSTERS_DIR = Path("/var/lib/dbplay/clusters")


def unreachable_ancestor(directory: Path, account: ServiceAccount | None) -> Path | None:
    """The first existing folder on the way to ``directory`` that ``account`` cannot enter.

    None when the account can reach it (or there is no account: dbplay's own user runs
    the server). Folders that do not exist yet are not judged: whoever creates them
    decides their mode.
    """
    if account is None:
        return None
    for ancestor in reversed([directory, *directory.parents]):
        try:
            info = ancestor.stat()
        except FileNotFoundError:
            return None
        except OSError:
            return ancestor
        if not _can_enter(info, account):
            return ancestor
    return None


def make_reachable(directory: Path, account: ServiceAccount | None) -> None:
    """Create ``directory`` and its missing parents, so that the server can enter it.

    Directories created here belong to the service account. An existing folder the
    account cannot enter is an error: dbplay never changes the permissions of a
    directory it did not create (a private mkdtemp folder, a home directory).
    """
    blocked = unreachable_ancestor(directory, account)
    if blocked is not None and account is not None:
        raise ServerError(
            f"The '{account.name}' account that runs PostgreSQL (dbplay runs as root) cannot "
            f"enter {blocked} (mode {_mode(blocked)}), so the cluster {directory} cannot be "
            "used; dbplay does not change the permissions of folders it did not create: "
            f"choose a data directory it can reach (for example under {ROOT_CLUSTERS_DIR}), "
            f"let it pass (chmod o+x {blocked}), or run dbplay as a normal user"
        )
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(exist_ok=True)
            if account is not None:
                os.chown(path, account.uid, account.gid)
        except OSError as error:
            raise ServerError(f"Cannot create {path}: {error.strerror or error}") from None


def _can_enter(info: os.stat_result, account: ServiceAccount) -> bool:
    if info.st_uid == account.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in account.groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _mode(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return "unreadable"
    return f"{stat.S_IMODE(info.st_mode):04o}"


def write_private_file(path: Path, text: str, owner: ServiceAccount | None) -> None:
    """Atomically write a file readable only by its owner (the service account if given)."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if owner is not None:
            os.chown(temp_name, owner.uid, owner.gid)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class PidFile:
    """A cluster's ``postmaster.pid``: server PID, port, socket directory and state."""

    path: Path
    pid: int
    port: int | None
    socket_dir: Path | None
    status: str

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @classmethod
    def read(cls, data_dir: Path) -> PidFile | None:
        """The lock file's content, or None when there is none (server not running)."""
        path = data_dir / "postmaster.pid"
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        fields = [*(line.strip() for line in lines), *[""] * 8]
        return cls(
            path=path,
            pid=int(fields[0]) if fields[0].isdigit() else 0,
            port=int(fields[3]) if fields[3].isdigit() else None,
            socket_dir=Path(fields[4]) if fields[4] else None,
            status=fields[7],
        )


def process_name(pid: int) -> str | None:
    """The program name of process ``pid``, None when the platform cannot tell."""
    try:
        if sys.platform.startswith("linux"):
            return Path(f"/proc/{pid}/comm").read_text().strip()
        if os.name == "nt":
            command = ["tasklist", "/FI", f"PID eq {pid}", "/FO", "CSV", "/NH"]
        else:
            command = ["ps", "-p", str(pid), "-o", "comm="]
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return os.path.basename(out.split(",")[0].strip('"')) if out else None


def is_live_postgres(pid: int) -> bool:
    """Whether ``pid`` is a running PostgreSQL process (not a reused PID of another program)."""
    if not process_alive(pid):
        return False
    name = process_name(pid)
    return name is None or "postgres" in name.lower() or "postmaster" in name.lower()


def stop_by_signals(pid: int, timeout: float) -> None:
    """Last resort when ``pg_ctl`` cannot stop a server: fast, then immediate, then kill."""
    if os.name == "nt":
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)  # TerminateProcess
        return
    for signum, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not process_alive(pid):
                return
            time.sleep(0.1)


def run_program(
    command: list[str],
    account: ServiceAccount | None,
    *,
    cwd: Path | None,
    timeout: float,
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program, as ``account`` when given, with output captured.

    ``PG*`` variables of the user's shell are dropped so that they cannot redirect the
    programs to another cluster, and messages are forced to English because callers
    look for known phrases in them. The program gets its own session, so Ctrl+C in
    dbplay's terminal does not reach a server it starts.
    """
    prefix = list(account.command_prefix) if account is not None else []
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    try:
        return subprocess.run(
            prefix + command,
            input=stdin_text,
            stdin=None if stdin_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
            check=False,
            start_new_session=os.name == "posix",
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ServerError(f"{Path(command[0]).name} failed: {error}") from None


def read_log_from(path: Path, offset: int) -> str:
    """A log file's text from byte ``offset`` on ("" when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def last_lines(text: str, count: int = 5) -> str:
    """The last non-empty lines of program output, joined into one line for a message."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return " | ".join(lines[-count:])


#: Address space each server process may use (``DBPLAY_SERVER_MEMORY_LIMIT``, ``0``: none).
DEFAULT_MEMORY_LIMIT = "2G"
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_limit_bytes() -> int | None:
    """The per-process memory ceiling of the embedded server, in bytes (None: none).

    PostgreSQL has no ceiling a session cannot raise for ``work_mem``; a template's
    ``SET work_mem = '8GB'`` and a big sort would take the user's memory. An address-space
    limit on the server's processes makes such a backend fail with "out of memory"
    instead (PostgreSQL reports a failed allocation as an ordinary error).
    """
    text = (os.environ.get("DBPLAY_SERVER_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT).strip().upper()
    text = text.removesuffix("B").removesuffix("I")
    unit = text[-1] if text and text[-1] in _SIZE_UNITS else ""
    try:
        value = float(text[: len(text) - len(unit)]) * _SIZE_UNITS[unit]
    except ValueError:
        raise ServerError(
            f"DBPLAY_SERVER_MEMORY_LIMIT must be a size such as 2G or 0, not {text!r}"
        ) from None
    return int(value) or None


def memory_limit_prefix() -> list[str]:
    """``sh -c 'ulimit -v ...'`` in front of ``pg_ctl`` (POSIX; the server inherits it)."""
    limit = memory_limit_bytes()
    if limit is None or os.name != "posix":
        return []
    kilobytes = max(1, limit // 1024)
    return ["/bin/sh", "-c", f'ulimit -v {kilobytes} 2>/dev/null; exec "$@"', "sh"]
