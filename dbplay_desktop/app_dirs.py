"""Where dbplay keeps its files: one data directory, overridable for tests and portables.

Ground floor: every layer may import it (it needs only platformdirs, imported lazily).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "dbplay"
DATA_DIR_ENV = "DBPLAY_DATA_DIR"


def data_dir() -> Path:
    """The root folder for everything dbplay stores (templates, history, servers)."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
