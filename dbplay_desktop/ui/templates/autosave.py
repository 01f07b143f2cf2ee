"""Autosave of the playgrounds' scripts, so a crash does not lose what the user typed.

Each window run is a *session*: a folder ``unsaved-scripts/<session>/`` in the data
directory, created on the first write, held by a ``QLockFile`` while the window lives, with
one scratch file per playground whose script changed (``<n>.json``: title, template path,
text). Files are written atomically (temporary file, fsync, rename), 0600 in a 0700 folder,
a moment after the last keystroke (debounced), and removed when the script is unchanged
again or the tab is closed normally; the session folder goes when the window closes.

A session folder whose lock nobody holds (the process died: QLockFile knows a dead
owner's lock is stale) is what a crash left behind; :func:`find_unsaved` lists its
scripts so the next start can offer them back.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, QTimer

from dbplay_desktop.app_dirs import data_dir

if TYPE_CHECKING:
    from dbplay_desktop.ui.playground.playground import Playground

FOLDER = "unsaved-scripts"
LOCK_NAME = "session.lock"
_KIND = "dbplay-unsaved-script"
#: Quiet time after the last edit before the script is written.
DEBOUNCE_MS = 1500
#: Scratch files larger than this are not read back (dbplay never writes one that big
#: unless the editor held that much text; a broken file must not stall the start).
MAX_SCRATCH_SIZE = 64 * 1024**2


def autosave_root() -> Path:
    """Where sessions keep their scratch files."""
    return data_dir() / FOLDER


@dataclass(frozen=True)
class UnsavedScript:
    """A script a crashed session left: the tab's title, its template (if any), the text."""

    title: str
    template: Path | None
    text: str
    file: Path


class ScriptAutosave(QObject):
    """Keeps one scratch file per changed playground script of this window."""

    def __init__(self, root: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.root = root if root is not None else autosave_root()
        token = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
        self.session_dir = self.root / token
        self.delay_ms = DEBOUNCE_MS
        self._lock: QLockFile | None = None
        self._files: dict[Playground, Path] = {}
        self._timers: dict[Playground, QTimer] = {}
        self._counter = 0

    # -- tracking ----------------------------------------------------------------------
    def track(self, playground: Playground) -> None:
        """Write ``playground``'s script a moment after each edit."""
        if playground in self._timers:
            return
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(self.delay_ms)
        timer.timeout.connect(lambda: self.write(playground))
        self._timers[playground] = timer
        playground.editor.textChanged.connect(timer.start)
        playground.state_changed.connect(self._on_state_changed)

    def _on_state_changed(self) -> None:
        # A save makes the script unchanged (its scratch file goes); a title may change.
        playground = self.sender()
        timer = self._timers.get(playground)  # type: ignore[call-overload]
        if timer is not None and not timer.isActive():
            timer.start()

    def scratch_file(self, playground: Playground) -> Path | None:
        """The playground's scratch file, when it has one."""
        return self._files.get(playground)

    def write(self, playground: Playground) -> None:
        """Write (or remove) the playground's scratch file now."""
        if playground not in self._timers:
            return
        if not playground.script_changed:
            self._remove(playground)
            return
        path = self._files.get(playground)
        if path is None:
            if not self._start_session():
                return
            self._counter += 1
            path = self.session_dir / f"{self._counter}.json"
        record = {
            "kind": _KIND,
            "version": 1,
            "title": playground.title,
            "template": str(playground.template_path) if playground.template_path else None,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "text": playground.editor.toPlainText(),
        }
        try:
            _write_private(path, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        except OSError:
            return  # autosave is a safety net: a full disk must not break the editor
        self._files[playground] = path

    def forget(self, playground: Playground) -> None:
        """The tab closed normally: stop watching it and delete its scratch file."""
        timer = self._timers.pop(playground, None)
        if timer is not None:
            timer.stop()
            with contextlib.suppress(RuntimeError, TypeError):
                playground.editor.textChanged.disconnect(timer.start)
            timer.deleteLater()
        with contextlib.suppress(RuntimeError, TypeError):
            playground.state_changed.disconnect(self._on_state_changed)
        self._remove(playground)

    def flush(self) -> None:
        """Write every pending change now (e.g. before the window goes away)."""
        for playground, timer in list(self._timers.items()):
            if timer.isActive():
                timer.stop()
                self.write(playground)

    def keep(self) -> None:
        """The window quits without asking (a signal): leave the scratch files for the
        next start, as if it had crashed."""
        self.flush()
        for timer in self._timers.values():
            timer.stop()
        self._timers.clear()
        self._files.clear()
        self._release()

    def finish(self) -> None:
        """The window closed normally: remove this session's folder."""
        for timer in self._timers.values():
            timer.stop()
        self._timers.clear()
        self._files.clear()
        if self._lock is not None:
            shutil.rmtree(self.session_dir, ignore_errors=True)
        self._release()

    # -- internals ---------------------------------------------------------------------
    def _start_session(self) -> bool:
        if self._lock is not None:
            return True
        try:
            _private_dir(self.root)
            _private_dir(self.session_dir)
        except OSError:
            return False
        lock = QLockFile(str(self.session_dir / LOCK_NAME))
        lock.setStaleLockTime(0)  # only a dead owner makes it stale, never its age
        if not lock.tryLock(0):
            return False
        with contextlib.suppress(OSError):
            os.chmod(self.session_dir / LOCK_NAME, 0o600)
        self._lock = lock
        return True

    def _remove(self, playground: Playground) -> None:
        path = self._files.pop(playground, None)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None


# --------------------------------------------------------------------------- recovery


def find_unsaved(root: Path | None = None) -> list[UnsavedScript]:
    """The scripts of sessions that ended without closing (their lock is free)."""
    root = root if root is not None else autosave_root()
    found: list[UnsavedScript] = []
    for session in _stale_sessions(root):
        for file in sorted(session.glob("*.json"), key=_file_number):
            script = _read_scratch(file)
            if script is not None:
                found.append(script)
    return found


def discard_unsaved(scripts: list[UnsavedScript]) -> None:
    """Remove the sessions these scripts came from (restored or refused by the user)."""
    for folder in {script.file.parent for script in scripts}:
        if _is_stale(folder):
            shutil.rmtree(folder, ignore_errors=True)


def _stale_sessions(root: Path) -> list[Path]:
    try:
        folders = sorted(path for path in root.iterdir() if path.is_dir())
    except OSError:
        return []
    stale = []
    for folder in folders:
        if _is_stale(folder):
            stale.append(folder)
    return stale


def _is_stale(folder: Path) -> bool:
    """Whether no live window holds the session's lock (taking and releasing it)."""
    lock = QLockFile(str(folder / LOCK_NAME))
    lock.setStaleLockTime(0)
    if not lock.tryLock(0):
        return False
    lock.unlock()
    return True


def _file_number(path: Path) -> int:
    return int(path.stem) if path.stem.isdigit() else 0


def _read_scratch(path: Path) -> UnsavedScript | None:
    try:
        if path.stat().st_size > MAX_SCRATCH_SIZE:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("kind") != _KIND:
        return None
    text, title, template = record.get("text"), record.get("title"), record.get("template")
    if not isinstance(text, str) or not text.strip():
        return None
    return UnsavedScript(
        title=title if isinstance(title, str) and title else "Untitled playground",
        template=Path(template) if isinstance(template, str) and template else None,
        text=text,
        file=path,
    )


def _private_dir(path: Path) -> None:
    """Create ``path`` 0700 if missing (an existing folder's mode is left alone)."""
    try:
        path.mkdir(mode=0o700, parents=False)
    except FileExistsError:
        return
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the user alone."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
