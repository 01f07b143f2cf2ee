"""Saving a PostgreSQL database as template payload with ``pg_dump``.

pg_dump refuses to dump a server newer than itself, and a machine often has several
PostgreSQL installations, so :func:`find_pg_dump` picks the closest version that can.
:func:`write_dump` streams pg_dump's plain-SQL output straight into the template, without
owners, grants or other server-level objects, so the payload restores into any sandbox.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from dbplay_desktop.engines.base import DumpError, PayloadSink, ProgressCallback
from dbplay_desktop.servers.pg_binaries import find_postgres_bin_dirs, program_version

#: The one payload file of a PostgreSQL template.
PAYLOAD_PATH = "dump.sql"

#: What pg_dump leaves out: everything that belongs to the server rather than the database.
PG_DUMP_OPTIONS = (
    "--format=plain",
    "--no-owner",
    "--no-privileges",
    "--no-publications",
    "--no-subscriptions",
    "--no-security-labels",
    "--no-tablespaces",
    "--encoding=UTF8",
    # A sandbox session holding a lock must not make a save wait forever.
    "--lock-wait-timeout=60s",
)


def write_dump(
    pg_dump: Path,
    info: dict[str, Any],
    sink: PayloadSink,
    progress: ProgressCallback | None = None,
) -> None:
    """Run ``pg_dump`` on the database of the connection ``info`` into ``sink``.

    The password goes through the environment, never the command line. Raises
    :class:`DumpError` with pg_dump's last message when it fails, or when ``progress``
    asks to stop.
    """
    command = [
        str(pg_dump),
        *PG_DUMP_OPTIONS,
        "--dbname",
        libpq_string({k: v for k, v in info.items() if k != "password"}),
    ]
    env = dict(os.environ)
    if info.get("password"):
        env["PGPASSWORD"] = str(info["password"])
    env.pop("PGSERVICE", None)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    chunks: queue.Queue[bytes] = queue.Queue(maxsize=64)
    done = threading.Event()
    reader = threading.Thread(
        target=_pump, args=(process, chunks, done), name="dbplay pg_dump reader", daemon=True
    )
    reader.start()
    written = 0
    try:
        with sink.open(PAYLOAD_PATH) as out:
            while True:
                try:
                    chunk = chunks.get(timeout=_POLL)
                except queue.Empty:
                    # pg_dump is quiet (waiting for a lock, or a slow server): still
                    # listen for a cancel request.
                    if progress is not None and progress(written, None):
                        raise DumpError("save cancelled") from None
                    continue
                if not chunk:
                    break
                out.write(chunk)
                written += len(chunk)
                if progress is not None and progress(written, None):
                    raise DumpError("save cancelled")
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        if process.wait() != 0:
            lines = [line for line in stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit code {process.returncode}"
            reason = reason.removeprefix("pg_dump: ")
            if NO_TLS_MESSAGE in stderr:
                reason += f" ({pg_dump} has no TLS; {TLS_HINT})"
            raise DumpError(f"pg_dump failed: {reason}")
    finally:
        done.set()
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(2.0)


#: What libpq says when a server needs TLS and it was built without (as the programs
#: shipped with the app are).
NO_TLS_MESSAGE = "SSL support is not compiled in"
TLS_HINT = "set DBPLAY_PG_BIN to the bin folder of a PostgreSQL installation with TLS"

#: How often a quiet pg_dump is checked for a cancel request, in seconds.
_POLL = 0.25


def _pump(
    process: subprocess.Popen[bytes], chunks: queue.Queue[bytes], done: threading.Event
) -> None:
    """Read pg_dump's output on a thread; an empty chunk marks the end."""
    assert process.stdout is not None
    try:
        while chunk := process.stdout.read(1 << 16):
            if not _put(chunks, chunk, done):
                return
    except (OSError, ValueError):
        pass
    _put(chunks, b"", done)


def _put(chunks: queue.Queue[bytes], chunk: bytes, done: threading.Event) -> bool:
    """Hand a chunk on unless the reading side has given up."""
    while not done.is_set():
        try:
            chunks.put(chunk, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def libpq_string(info: dict[str, Any]) -> str:
    """Connection parameters as a libpq ``key=value`` string (``None`` values left out)."""
    import psycopg

    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


# --------------------------------------------------------------------------- finding pg_dump


def find_pg_dump(
    server_major: int, bin_dir: Path | None = None, *, search_system: bool = True
) -> Path:
    """A pg_dump whose major version is >= the server's (the closest one wins).

    Looks in ``bin_dir``, ``$DBPLAY_PG_BIN`` and the PostgreSQL installations the
    embedded server would use; ``search_system=False`` leaves out the system-wide
    installations and PATH, as in :func:`servers.pg_binaries.find_postgres_bin_dirs`.
    """
    exe = "pg_dump.exe" if os.name == "nt" else "pg_dump"
    candidates: list[Path] = []
    if bin_dir is not None:
        candidates.append(bin_dir / exe)
    if os.environ.get("DBPLAY_PG_BIN"):
        candidates.append(Path(os.environ["DBPLAY_PG_BIN"]) / exe)
    candidates.extend(
        directory / exe for directory in find_postgres_bin_dirs(search_system=search_system)
    )
    on_path = shutil.which(exe) if search_system else None
    if on_path:
        candidates.append(Path(on_path))
    found: list[tuple[int, Path]] = []
    for path in dict.fromkeys(candidates):
        version = program_version(path) if path.is_file() else None
        if version is not None:
            found.append((version[0], path))
    usable = sorted((major, path) for major, path in found if major >= server_major)
    if usable:
        return usable[0][1]
    if found:
        newest = max(major for major, _ in found)
        raise DumpError(
            f"pg_dump {newest} cannot dump a PostgreSQL {server_major} server; install the "
            f"PostgreSQL {server_major} client tools (or newer) or set DBPLAY_PG_BIN"
        )
    raise DumpError(
        "pg_dump was not found; install the PostgreSQL client tools or set DBPLAY_PG_BIN"
    )


def hardened_options(info: dict[str, Any]) -> str:
    """libpq ``options`` for connections with the admin's privileges to a sandbox.

    A sandbox's owner may set its database's ``search_path`` (and put functions and
    operators in ``public``) or ``local_preload_libraries``: an admin connection resolves
    only ``pg_catalog`` and loads no library, whatever the database says (as pg_dump does
    for its own queries).
    """
    hardened = "-c search_path= -c local_preload_libraries="
    given = str(info.get("options") or "").strip()
    return f"{given} {hardened}".strip()
