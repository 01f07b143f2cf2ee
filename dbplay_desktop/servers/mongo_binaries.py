"""Which MongoDB server program dbplay's private MongoDB runs, and how it is started.

Two kinds of program speak MongoDB's wire protocol here: MongoDB's own ``mongod``
(MongoDB Community Server, installed by the user) and ``secantusd-py``, the launcher of
SecantusDB (GPL-3.0, installed by the ``mongo-embedded`` extra). dbplay only ever runs
either as a separate program; it never imports SecantusDB.

The search order is :data:`PROGRAM_ENV` (a path to either program), then ``mongod`` on
``PATH`` and in the usual install folders, then ``secantusd-py`` next to the running
Python (a virtual environment's ``bin``/``Scripts``) or on ``PATH``. No Qt, no driver.
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dbplay_desktop.servers.pg_binaries import ServerError

__all__ = [
    "INSTALL_HINT",
    "MONGOD_INSTALL_DIRS",
    "PROGRAM_ENV",
    "MongoProgram",
    "ServerError",
    "find_mongo_program",
]

#: Names the server program to run (a ``mongod`` or a ``secantusd-py``).
PROGRAM_ENV = "DBPLAY_MONGOD"

INSTALL_HINT = (
    "install the embedded server with pip install 'dbplay-desktop[mongo-embedded]', "
    "install MongoDB Community Server (mongod), or set DBPLAY_MONGOD to a mongod or "
    "secantusd-py program"
)

_EXE = ".exe" if os.name == "nt" else ""

#: Where MongoDB's installers put ``mongod`` besides ``PATH``.
MONGOD_INSTALL_DIRS: tuple[str, ...] = (
    "/usr/bin",
    "/usr/local/bin",
    "/opt/homebrew/bin",
    "/usr/local/opt/mongodb-community/bin",
    "/opt/homebrew/opt/mongodb-community/bin",
)

#: A WiredTiger cache the size of a playground, not of the machine (mongod's default
#: is half the RAM; SecantusDB's 1 GB).
CACHE_SIZE_MB = 256


@dataclass(frozen=True)
class MongoProgram:
    """A server program: its path and kind (``"mongod"`` or ``"secantus"``)."""

    path: Path
    kind: str

    @property
    def name(self) -> str:
        """For people: "mongod" or "SecantusDB (secantusd-py)"."""
        return "mongod" if self.kind == "mongod" else f"SecantusDB ({self.path.name})"

    def command(self, *, host: str, port: int, db_dir: Path, config_file: Path) -> list[str]:
        """The command line that serves ``db_dir`` on ``host:port`` in the foreground.

        Output goes to stdout/stderr (the caller sends both to the log file).
        ``config_file`` is an empty SecantusDB configuration: passing one turns off its
        search of ``./secantusd.toml`` and ``~/.secantus``, which would let a file of the
        user's change dbplay's server.
        """
        if self.kind == "mongod":
            command = [
                str(self.path),
                "--dbpath", str(db_dir),
                "--port", str(port),
                "--bind_ip", host,
                "--quiet",
                "--wiredTigerCacheSizeGB", f"{CACHE_SIZE_MB / 1024:.2f}",
            ]
            if os.name == "posix":
                command.append("--nounixsocket")
            return command
        return [
            str(self.path),
            "--config", str(config_file),
            "--host", host,
            "--port", str(port),
            "--storage-path", str(db_dir),
            "--log-level", "WARNING",
            "--cache-size", f"{CACHE_SIZE_MB}M",
        ]


def program_kind(path: Path) -> str:
    """``"secantus"`` for a SecantusDB launcher, else ``"mongod"``."""
    return "secantus" if "secantus" in path.name.lower() else "mongod"


def _executable(path: Path) -> bool:
    return path.is_file() and (os.name == "nt" or os.access(path, os.X_OK))


def _windows_mongod_dirs() -> list[str]:
    roots = {os.environ.get(name, "") for name in ("ProgramFiles", "ProgramW6432")}
    roots.add(r"C:\Program Files")
    found: list[str] = []
    for root in sorted(r for r in roots if r):
        # Newest version first: "8.0" sorts after "7.0".
        found.extend(sorted(glob.glob(os.path.join(root, "MongoDB", "Server", "*", "bin")),
                            reverse=True))
    return found


def find_mongo_program(
    environ: Mapping[str, str] | None = None,
    *,
    search_path: str | None = None,
    install_dirs: Iterable[str] | None = None,
    python_dir: Path | None = None,
) -> MongoProgram:
    """The server program to run (see the module's search order).

    The arguments replace, for tests, the process environment, ``PATH``, the install
    folders and the running Python's folder. Raises :class:`ServerError` (one line that
    says how to get a server) when there is none, or when :data:`PROGRAM_ENV` names
    something that is not a program: an explicit choice is never silently replaced.
    """
    env = os.environ if environ is None else environ
    path_value = env.get("PATH", "") if search_path is None else search_path
    configured = (env.get(PROGRAM_ENV) or "").strip()
    if configured:
        candidate = Path(configured).expanduser()
        if candidate.is_dir():
            candidate = next((candidate / f"{name}{_EXE}" for name in ("mongod", "secantusd-py")
                              if _executable(candidate / f"{name}{_EXE}")), candidate)
        if not _executable(candidate):
            raise ServerError(
                f"{PROGRAM_ENV}={configured} is not a MongoDB server program; point it at "
                f"mongod or secantusd-py, or unset it and {INSTALL_HINT}"
            )
        return MongoProgram(candidate, program_kind(candidate))

    dirs = list(MONGOD_INSTALL_DIRS if os.name != "nt" else _windows_mongod_dirs())
    if install_dirs is not None:
        dirs = list(install_dirs)
    mongod = shutil.which(f"mongod{_EXE}", path=path_value) if path_value else None
    if mongod is None:
        mongod = next((str(Path(d) / f"mongod{_EXE}") for d in dirs
                       if _executable(Path(d) / f"mongod{_EXE}")), None)
    if mongod is not None:
        return MongoProgram(Path(mongod), "mongod")

    here = Path(sys.executable).parent if python_dir is None else python_dir
    for candidate in (here / f"secantusd-py{_EXE}", here / "Scripts" / f"secantusd-py{_EXE}"):
        if _executable(candidate):
            return MongoProgram(candidate, "secantus")
    secantus = shutil.which(f"secantusd-py{_EXE}", path=path_value) if path_value else None
    if secantus is not None:
        return MongoProgram(Path(secantus), "secantus")
    raise ServerError(f"No MongoDB server program found: {INSTALL_HINT}")
