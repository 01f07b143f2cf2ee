"""A journal of sandboxes that could not be dropped yet, retried until they are gone.

A statement that ignores cancel and terminate requests (some C functions never check for
interrupts) keeps its sandbox database busy for minutes, so ``DROP DATABASE ... WITH
(FORCE)`` fails. Forgetting it would leave a stranger's template and its role on the
server; so the engine writes the sandbox here and retries at the next start and the next
connection to that server. Engine-neutral: entries name a server by a key the engine
chooses, never by a password.

The file is small JSON, rewritten atomically (a crash mid-write keeps the old journal).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

JOURNAL_FILE = "sandbox-drops.json"
log = logging.getLogger(__name__)
_lock = threading.Lock()


@dataclass(frozen=True)
class PendingDrop:
    """One sandbox still to drop: on ``server``, the database and its role (if any)."""

    server: str
    database: str
    role: str | None = None
    since: float = 0.0


def default_path() -> Path:
    from dbplay_desktop.app_dirs import data_dir

    return data_dir() / JOURNAL_FILE


class SandboxJournal:
    """Pending drops kept in one file; safe to share between threads of one process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def add(self, server: str, database: str, role: str | None) -> None:
        with _lock:
            entries = [e for e in self._read() if (e.server, e.database) != (server, database)]
            entries.append(PendingDrop(server, database, role, time.time()))
            self._write(entries)

    def pending(self, server: str) -> list[PendingDrop]:
        with _lock:
            return [entry for entry in self._read() if entry.server == server]

    def remove(self, server: str, database: str) -> None:
        with _lock:
            entries = self._read()
            kept = [e for e in entries if (e.server, e.database) != (server, database)]
            if len(kept) != len(entries):
                self._write(kept)

    # -- file ------------------------------------------------------------------------
    def _read(self) -> list[PendingDrop]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        entries = []
        for item in data if isinstance(data, list) else ():
            if not isinstance(item, dict):
                continue
            server, database = item.get("server"), item.get("database")
            role, since = item.get("role"), item.get("since", 0.0)
            if isinstance(server, str) and isinstance(database, str):
                role = role if isinstance(role, str) else None
                since = since if isinstance(since, int | float) else 0.0
                entries.append(PendingDrop(server, database, role, float(since)))
        return entries

    def _write(self, entries: list[PendingDrop]) -> None:
        if not entries and not self.path.exists():
            return
        from dbplay_desktop.app_dirs import ensure_private_dir

        temporary: str | None = None
        try:
            ensure_private_dir(self.path.parent)
            # mkstemp makes the file 0600: the journal names the user's databases.
            handle, temporary = tempfile.mkstemp(prefix=".journal-", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump([asdict(entry) for entry in entries], out, indent=1)
            os.replace(temporary, self.path)
        except OSError as exc:
            # The old journal stays as it was; say so rather than lose a pending drop quietly.
            log.warning("cannot write the sandbox drop journal %s: %s", self.path, exc)
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
