"""The files of dbplay's private PostgreSQL cluster: creating it, its password, its settings.

:class:`~dbplay_desktop.servers.postgres.EmbeddedPostgres` starts and stops the server;
this module owns what lives in the data directory before the server ever runs:
``initdb`` into a scratch directory that is moved into place only when complete, the
random password of the ``dbplay`` superuser in a file next to the data (and a new one
when that file was lost), and the settings file dbplay rewrites on every start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

from dbplay_desktop.servers.pg_binaries import PgBinaries, ServerError
from dbplay_desktop.servers.pg_process import (
    PidFile,
    ServiceAccount,
    is_live_postgres,
    last_lines,
    write_private_file,
)

log = logging.getLogger(__name__)

ADMIN_USER = "dbplay"
PASSWORD_FILE = "dbplay-password"
#: The same password as a libpq password file, for other tools (``PGPASSFILE``).
PGPASS_FILE = "dbplay.pgpass"
SETTINGS_FILE = "dbplay.conf"
_SETTINGS = """\
# Written by dbplay on every start; use ALTER SYSTEM for your own settings.
max_connections = 50
shared_buffers = '32MB'
# A restore is one transaction that locks every table, index and sequence it makes; room
# for big templates, and a lock table they cannot fill (restores stop at half of it).
max_locks_per_transaction = 1024
# Sessions of sandbox roles log nothing below FATAL (set on each role); the server's own
# messages stay, and a runaway log is cut at the next start.
log_min_messages = warning
lc_messages = 'C'
log_destination = 'stderr'
logging_collector = off
log_line_prefix = '%m [%p] '
ssl = off
"""


class RunProgram(Protocol):
    """Runs a server program (as the service account when dbplay is root)."""

    def __call__(
        self, command: list[str], *, timeout: float, stdin_text: str | None = None
    ) -> subprocess.CompletedProcess[str]: ...


def cluster_major(data_dir: Path) -> int | None:
    """The major version that created the cluster (``PG_VERSION``), None if none yet."""
    try:
        text = (data_dir / "PG_VERSION").read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise ServerError(f"Cannot read {data_dir}: {error.strerror}") from None
    try:
        return int(text.split(".")[0])
    except ValueError:
        raise ServerError(f"{data_dir}/PG_VERSION is unreadable ({text!r})") from None


# --------------------------------------------------------------------------- settings


def settings_text() -> str:
    """What dbplay's settings file holds on this platform."""
    if os.name == "nt":
        return _SETTINGS + "unix_socket_directories = ''\n"
    return _SETTINGS


def write_settings(data_dir: Path, account: ServiceAccount | None) -> None:
    """Rewrite the settings file when it is missing or differs from this version's."""
    settings = data_dir / SETTINGS_FILE
    if not settings.is_file() or settings.read_text() != settings_text():
        write_private_file(settings, settings_text(), account)


# --------------------------------------------------------------------------- initdb


def create_cluster(
    data_dir: Path, binaries: PgBinaries, account: ServiceAccount | None, run: RunProgram
) -> None:
    """Create the cluster in a scratch directory and move it into place when complete.

    A crash half-way leaves only a scratch directory (removed later), never a data
    directory without its password file; two apps starting at once cannot collide.
    """
    data = data_dir
    if data.exists() and (not data.is_dir() or any(data.iterdir())):
        raise ServerError(
            f"{data} exists but is not a PostgreSQL data directory; "
            "choose an empty or new directory"
        )
    _remove_old_scratch_dirs(data)
    staging = data.parent / f".{data.name}.initdb-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    pw_dir = Path(tempfile.mkdtemp(prefix="dbplay-initdb-"))
    try:
        pw_file = pw_dir / "password"
        pw_file.write_text(password + "\n")
        if account is not None:
            for path in (pw_dir, pw_file):
                os.chown(path, account.uid, account.gid)
        _run_initdb(data, staging, pw_file, binaries, account, run)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(pw_dir, ignore_errors=True)
    conf = staging / "postgresql.conf"
    with conf.open("a", encoding="utf-8") as handle:
        handle.write(f"\n# Added by dbplay\ninclude_if_exists = '{SETTINGS_FILE}'\n")
    write_private_file(staging / PASSWORD_FILE, password + "\n", None)
    try:
        if data.is_dir():
            data.rmdir()  # empty (checked above); Windows cannot rename over a directory
        staging.rename(data)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if cluster_major(data) is None:
            raise
        log.info("another process created %s first; using it", data)


def _run_initdb(
    data_dir: Path,
    staging: Path,
    pw_file: Path,
    binaries: PgBinaries,
    account: ServiceAccount | None,
    run: RunProgram,
) -> None:
    initdb = str(binaries.program("initdb"))
    locales = ["C"] if os.name == "nt" else ["C.UTF-8", "C"]
    error = ""
    for locale in locales:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        if account is not None:
            os.chown(staging, account.uid, account.gid)
        completed = run(
            [
                initdb,
                "-D",
                str(staging),
                f"--username={ADMIN_USER}",
                f"--pwfile={pw_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                f"--locale={locale}",
            ],
            timeout=300,
        )
        if completed.returncode == 0:
            return
        error = last_lines(completed.stderr or completed.stdout)
        if "locale" not in error:
            break
    raise ServerError(f"initdb failed for {data_dir}: {error}")


def _remove_old_scratch_dirs(data_dir: Path) -> None:
    """Scratch directories of initdb runs that crashed (older than ten minutes)."""
    for leftover in data_dir.parent.glob(f".{data_dir.name}.initdb-*"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > 600:
                shutil.rmtree(leftover, ignore_errors=True)


# --------------------------------------------------------------------------- password


def read_password(data_dir: Path) -> str:
    """The ``dbplay`` superuser's password from the password file."""
    try:
        password = (data_dir / PASSWORD_FILE).read_text().strip()
    except OSError as error:
        raise ServerError(f"Cannot read the dbplay password file: {error}") from None
    if not password:
        raise ServerError(f"The dbplay password file {data_dir / PASSWORD_FILE} is empty")
    return password


def reset_password(data_dir: Path, binaries: PgBinaries, run: RunProgram) -> None:
    """Give ``dbplay`` a new password when the password file was lost (server stopped)."""
    pid_file = PidFile.read(data_dir)
    if pid_file is not None and is_live_postgres(pid_file.pid):
        raise ServerError(
            f"The password file {data_dir / PASSWORD_FILE} is missing while the "
            f"server (PID {pid_file.pid}) runs; stop it and start dbplay again"
        )
    password = secrets.token_urlsafe(24)
    completed = run(
        [
            str(binaries.program("postgres")),
            "--single",
            "-D",
            str(data_dir),
            "postgres",
        ],
        timeout=120,
        stdin_text=f"ALTER ROLE {ADMIN_USER} WITH PASSWORD '{password}';\n",
    )
    output = (completed.stdout or "") + (completed.stderr or "")
    if completed.returncode != 0 or "ERROR" in output:
        raise ServerError(f"Could not set a new dbplay password: {last_lines(output)}")
    write_private_file(data_dir / PASSWORD_FILE, password + "\n", None)
    log.warning("the dbplay password file was missing; set a new password")


def write_pgpass(data_dir: Path, password: str) -> None:
    """Keep ``dbplay.pgpass`` (0600, owned by dbplay's user) in step with the password.

    It lets ``psql "postgresql://dbplay@127.0.0.1:PORT/db"`` with ``PGPASSFILE`` set
    log in without the password appearing in a URI, a clipboard or a command line.
    """
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    text = (
        "# Written by dbplay: the embedded server's superuser.\n"
        f"127.0.0.1:*:*:{ADMIN_USER}:{escaped}\n"
    )
    path = data_dir / PGPASS_FILE
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return
    try:
        write_private_file(path, text, None)
    except OSError as error:
        log.warning("could not write %s: %s", path, error)
