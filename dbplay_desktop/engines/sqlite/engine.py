"""The SQLite engine: files as databases, on the standard library's ``sqlite3``.

Addresses are ``sqlite:///absolute/path.db`` (the user's own file) or ``sqlite://`` (no
file: sandboxes only). A *database* is either an absolute path or the name of a sandbox.

Sandboxes (playgrounds and restore targets without a path) are files in
``<data dir>/sqlite/`` (folder 0700, files 0600), each with a marker file
``<name>.db.dbplay`` that says dbplay made it. :meth:`drop_sandbox` deletes only a file
in that folder that has its marker, so the app can never delete a user's file; a missing
sandbox is already dropped. Sessions and dumps open existing files only (``mode=rw`` /
``mode=ro``), so a mistyped path is an error, not a new empty database.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from dbplay_desktop.app_dirs import PRIVATE_FILE_MODE, data_dir, ensure_private_dir
from dbplay_desktop.engines.base import (
    DumpInfo,
    Engine,
    EngineError,
    Finding,
    PayloadSink,
    PayloadSource,
    ProgressCallback,
    RestoreError,
    Statement,
    UnsupportedUri,
)
from dbplay_desktop.engines.descriptor import redact_uri
from dbplay_desktop.engines.sqlite.script import split_sql

SUFFIX = ".db"
MARK_SUFFIX = ".dbplay"
PLAYGROUND_MARK = "dbplay sandbox (playground)\n"
SANDBOX_MARK = "dbplay sandbox\n"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def sandbox_dir() -> Path:
    """Where sandbox files live (not created until a sandbox is)."""
    return data_dir() / "sqlite"


class SqliteEngine(Engine):
    """SQLite files reached by ``sqlite:///absolute/path.db`` (or ``sqlite://``)."""

    name: ClassVar[str] = "sqlite"

    def __init__(self, uri: str, *, statement_timeout: float | None = None) -> None:
        super().__init__(uri)
        try:
            parts = urlsplit(uri)
        except ValueError as exc:
            raise UnsupportedUri(f"not an SQLite address: {exc}") from exc
        if parts.scheme.lower() != "sqlite":
            raise UnsupportedUri(
                f"not an SQLite address: {redact_uri(uri)!r} (expected sqlite:///path.db)"
            )
        if parts.netloc not in ("", "localhost"):
            raise UnsupportedUri(
                f"SQLite addresses name a local file: sqlite:///absolute/path.db, "
                f"not {redact_uri(uri)!r}"
            )
        path = unquote(parts.path)
        if path.startswith("//"):  # sqlite:////abs/file.db, as SQLAlchemy writes it
            path = "/" + path.lstrip("/")
        if path in ("", "/"):
            self.default_path: str | None = None
        elif not os.path.isabs(path):
            raise UnsupportedUri(f"the SQLite path must be absolute: sqlite:///{path}")
        else:
            self.default_path = os.path.normpath(path)
        if statement_timeout is None and os.environ.get("DBPLAY_STATEMENT_TIMEOUT"):
            try:
                statement_timeout = float(os.environ["DBPLAY_STATEMENT_TIMEOUT"]) or None
            except ValueError as exc:
                raise EngineError("DBPLAY_STATEMENT_TIMEOUT must be a number of seconds") \
                    from exc
        self.statement_timeout = statement_timeout

    @classmethod
    def split(cls, text: str) -> list[Statement]:
        return split_sql(text)

    # -- files -------------------------------------------------------------------------
    def path_of(self, database: str | None) -> Path:
        """The file of ``database``: an absolute path as is, a name in the sandbox folder."""
        if not database:
            if self.default_path is None:
                raise EngineError("this SQLite address names no file: sqlite:///path.db")
            return Path(self.default_path)
        if os.path.isabs(database):
            return Path(os.path.normpath(database))
        if not _NAME.fullmatch(database):
            raise EngineError(f"{database!r} is not a sandbox name (letters, digits, _ . -)")
        return sandbox_dir() / (database + SUFFIX)

    def database_address(self, database: str) -> str:
        return str(self.path_of(database))

    def _sandbox_mark(self, path: Path) -> str | None:
        """The marker's text when ``path`` is a sandbox file dbplay made, else None."""
        if path.parent != sandbox_dir() or path.suffix != SUFFIX:
            return None
        try:
            return path.with_name(path.name + MARK_SUFFIX).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    # -- server ------------------------------------------------------------------------
    def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def list_databases(self) -> list[str]:
        """The sandboxes dbplay made (and the address's own file, when it names one)."""
        found = []
        folder = sandbox_dir()
        if folder.is_dir():
            for path in sorted(folder.glob("*" + SUFFIX)):
                if self._sandbox_mark(path) is not None:
                    found.append(path.name[: -len(SUFFIX)])
        if self.default_path:
            found.insert(0, self.default_path)
        return found

    def connect(self, database: str | None = None):  # type: ignore[override]
        from dbplay_desktop.engines.base import ConnectionFailed
        from dbplay_desktop.engines.sqlite.session import SqliteSession

        path = self.path_of(database)
        if not path.is_file():
            raise ConnectionFailed(f"no SQLite file at {path}")
        mark = path.with_name(path.name + MARK_SUFFIX)
        in_use = str(mark) if self._sandbox_mark(path) is not None else None
        try:
            return SqliteSession(
                str(path), statement_timeout=self.statement_timeout, in_use=in_use
            )
        except sqlite3.Error as exc:
            raise ConnectionFailed(f"cannot open {path}: {exc}") from exc

    # -- sandboxes ---------------------------------------------------------------------
    def create_sandbox(self, name: str | None = None) -> str:
        explicit = name is not None
        name = name or f"playground_{time.strftime('%Y%m%d')}_{secrets.token_hex(3)}"
        path = self.path_of(name)
        if path.parent != sandbox_dir():
            raise EngineError(f"a sandbox is a name, not a path: {name!r}")
        ensure_private_dir(path.parent)
        mark = path.with_name(path.name + MARK_SUFFIX)
        try:
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            raise EngineError(f"sandbox {name!r} already exists") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(SANDBOX_MARK if explicit else PLAYGROUND_MARK)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        except FileExistsError:
            mark.unlink()
            raise EngineError(f"sandbox {name!r} already exists") from None
        return name

    def drop_sandbox(self, database: str) -> None:
        path = self.path_of(database)
        mark = path.with_name(path.name + MARK_SUFFIX)
        if self._sandbox_mark(path) is None:
            if path.parent == sandbox_dir() and not path.exists():
                return  # already dropped
            raise EngineError(f"{database!r} is not a dbplay sandbox; dbplay never deletes "
                              "other files")
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")
        with contextlib.suppress(FileNotFoundError):
            mark.unlink()

    clones_sandboxes: ClassVar[bool] = True

    def clone_sandbox(self, source: str) -> str:
        """A new playground file holding a copy of sandbox ``source`` (SQLite's backup
        API copies pages, so nothing of the file's own runs)."""
        path = self.path_of(source)
        if self._sandbox_mark(path) is None:
            raise EngineError(f"{source!r} is not a dbplay sandbox; dbplay clones only those")
        clone = self.create_sandbox()
        try:
            with contextlib.closing(
                sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            ) as original, contextlib.closing(sqlite3.connect(self.path_of(clone))) as copy:
                original.backup(copy)
        except (sqlite3.Error, OSError) as exc:
            self.drop_sandbox(clone)
            raise EngineError(f"cannot copy sandbox {source!r}: {exc}") from exc
        return clone

    def drop_abandoned_playgrounds(self) -> list[str]:
        """Drop the playgrounds no session holds (a window that crashed left them)."""
        from dbplay_desktop.engines.sqlite.session import is_in_use

        dropped = []
        for name in self.list_databases():
            path = self.path_of(name)
            if self._sandbox_mark(path) != PLAYGROUND_MARK:
                continue
            if is_in_use(str(path.with_name(path.name + MARK_SUFFIX))):
                continue
            try:
                self.drop_sandbox(name)
            except EngineError:
                continue
            dropped.append(name)
        return dropped

    # -- templates ---------------------------------------------------------------------
    def dump(
        self, database: str, sink: PayloadSink, progress: ProgressCallback | None = None
    ) -> DumpInfo:
        from dbplay_desktop.engines.base import DumpError
        from dbplay_desktop.engines.sqlite.dump import write_dump

        path = self.path_of(database)
        if not path.is_file():
            raise DumpError(f"no SQLite file at {path}")
        return write_dump(str(path), sink, progress)

    @staticmethod
    def scan_payload(
        source: PayloadSource, progress: ProgressCallback | None = None
    ) -> list[Finding]:
        """The static scan; needs no file and no engine instance (``template verify``)."""
        from dbplay_desktop.engines.sqlite.restore import scan_payload

        return scan_payload(source, progress)

    def restore(
        self,
        source: PayloadSource,
        database: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> str:
        """Restore into a new file: a new sandbox (no ``database`` or a name), or a path.

        A path must not exist or be an empty file; a sandbox name may be one just made
        by :meth:`create_sandbox` (still empty). On failure nothing this call made is left.
        """
        from dbplay_desktop.engines.sqlite.restore import restore_file

        created = None
        if database is None or not os.path.isabs(database):
            path = self.path_of(database) if database else None
            if path is None or self._sandbox_mark(path) is None:
                database = created = self.create_sandbox(database)
            path = self.path_of(database)
        else:
            path = self.path_of(database)
            if not path.parent.is_dir():
                raise RestoreError(f"cannot restore to {path}: its folder does not exist")
        try:
            restore_file(source, path, progress)
        except BaseException:
            if created is not None:
                with contextlib.suppress(EngineError):
                    self.drop_sandbox(created)
            raise
        return database
