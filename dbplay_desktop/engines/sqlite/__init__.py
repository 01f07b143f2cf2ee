"""The SQLite engine (standard library ``sqlite3``): see :mod:`.engine`.

The payload format a template of this engine carries is described in :mod:`.dump`.
"""

from __future__ import annotations

from dbplay_desktop.engines.sqlite.engine import SqliteEngine

__all__ = ["SqliteEngine"]
