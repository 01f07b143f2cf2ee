"""Where dbplay keeps its files: one data directory, overridable for tests and portables.

Ground floor: every layer may import it (it needs only platformdirs, imported lazily).
The data directory holds query history, connection profiles and settings, so dbplay
creates it (and any folder it makes on the way) readable by its owner only, and its
files 0600; it never changes the mode of a directory it did not create.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP_NAME = "dbplay"
DATA_DIR_ENV = "DBPLAY_DATA_DIR"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def data_dir() -> Path:
    """The root folder for everything dbplay stores (templates, history, servers)."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing directory is left as is.

    ``mkdir(parents=True, mode=...)`` applies the mode to the last folder only, so each
    missing folder is made here, and the umask cannot widen what dbplay creates.
    """
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            folder.mkdir(mode=PRIVATE_DIR_MODE)
            with contextlib.suppress(OSError):
                os.chmod(folder, PRIVATE_DIR_MODE)  # the umask may have removed bits only
    return Path(path)


def ensure_data_dir() -> Path:
    """The data directory, created 0700 when it does not exist yet."""
    return ensure_private_dir(data_dir())


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (then it is left untouched)."""
    ensure_private_dir(Path(path).parent)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        os.close(fd)
