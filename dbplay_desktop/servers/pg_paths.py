"""Where the embedded cluster lives, and what is known about it without a connection.

No Qt, no psycopg: the command line and the window's tooltip read these.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from dbplay_desktop.servers.pg_binaries import ServerError
from dbplay_desktop.servers.pg_process import (
    ROOT_CLUSTERS_DIR,
    running_as_root,
    service_account,
    unreachable_ancestor,
)

HOST = "127.0.0.1"
DATA_DIR_ENV = "DBPLAY_PG_DATA"
#: The app's data directory (templates, history, settings); the cluster lives inside it.
APP_DATA_DIR_ENV = "DBPLAY_DATA_DIR"
ROOT_DATA_DIR = Path("/var/lib/dbplay/postgresql")


def default_data_dir() -> Path:
    """Where the default cluster lives: ``$DBPLAY_PG_DATA``, else the app's data directory.

    The cluster belongs to one app data directory (``$DBPLAY_DATA_DIR`` or the user's),
    just as the single running window does: two windows with different data directories
    must never share, and stop, one server.

    As root the server runs as an unprivileged account that cannot enter ``/root`` (mode
    0700), so without ``$DBPLAY_DATA_DIR`` the cluster goes to
    ``/var/lib/dbplay/postgresql``: kept across reboots, unlike ``/tmp``, because it holds
    the user's databases. With ``$DBPLAY_DATA_DIR`` that the account cannot reach (dbplay
    makes its data directory 0700 and never loosens folders it did not create), the
    cluster goes to ``/var/lib/dbplay/clusters/<digest of the data directory>``.
    """
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    app_data = os.environ.get(APP_DATA_DIR_ENV, "").strip()
    if app_data:
        return _reachable_cluster_dir(Path(app_data).expanduser())
    if running_as_root():
        return ROOT_DATA_DIR
    import platformdirs

    return Path(platformdirs.user_data_dir("dbplay")) / "postgresql"


def _reachable_cluster_dir(app_data: Path) -> Path:
    """``<app data>/postgresql``, or, as root, a folder dbplay owns when the server
    account could not reach that one."""
    inside = app_data / "postgresql"
    if not running_as_root():
        return inside
    try:
        account = service_account()
    except ServerError:
        return inside  # starting will say why no server can run
    if app_data.is_dir() and unreachable_ancestor(inside, account) is None:
        return inside
    real = os.path.realpath(app_data)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return ROOT_CLUSTERS_DIR / digest / "postgresql"


@dataclass(frozen=True)
class ServerStatus:
    """What ``dbplay server status`` and the window's tooltip say about the cluster."""

    data_dir: Path
    running: bool
    pid: int | None
    host: str
    port: int | None
    #: The major version that created the cluster (None before the first start).
    version: int | None
    socket_dir: Path | None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" if self.port else "-"
