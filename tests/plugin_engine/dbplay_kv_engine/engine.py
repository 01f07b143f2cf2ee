"""The kv engine: a database is a JSON file holding one object of string keys and values.

Addresses are ``kv:///absolute/path.json`` (a user's store) or ``kv://`` (sandboxes only).
Sandboxes are ``<data dir>/kv/<name>.json`` with a marker ``<name>.json.dbplay``; only a
file with its marker is ever dropped. Every write replaces the file atomically.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import string
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from dbplay_desktop.app_dirs import PRIVATE_FILE_MODE, data_dir, ensure_private_dir
from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    ConnectionFailed,
    DumpError,
    DumpInfo,
    Engine,
    EngineError,
    Finding,
    PayloadSink,
    PayloadSource,
    ProgressCallback,
    QueryCancelled,
    QueryError,
    RestoreError,
    Session,
    Statement,
    StatementResult,
    UnsafeContent,
    UnsupportedUri,
)
from dbplay_kv_engine.language import error, parse, split_kv

PAYLOAD = "data.json"
SUFFIX = ".json"
MARK = ".dbplay"
MAX_BYTES = 16 << 20
MAX_KEYS = 100_000
MAX_KEY = 1024
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")


def sandbox_dir() -> Path:
    return data_dir() / "kv"


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Duplicate("a key appears twice")
    return found


def check(raw: bytes, path: str = PAYLOAD) -> tuple[dict[str, str], Finding | None]:
    """``raw`` read as a store, or the reason it is not one (a JSON object of str -> str)."""
    if len(raw) > MAX_BYTES:
        return {}, Finding(path, 1, f"larger than {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, object_pairs_hook=_pairs)
    except UnicodeDecodeError as exc:
        return {}, Finding(path, 1, f"not UTF-8 text ({exc.reason})")
    except json.JSONDecodeError as exc:
        return {}, Finding(path, exc.lineno, f"not JSON: {exc.msg}")
    except (_Duplicate, RecursionError) as exc:
        return {}, Finding(path, 1, str(exc) or "nested too deeply")
    if not isinstance(data, dict):
        return {}, Finding(path, 1, "not a JSON object of keys and values")
    if len(data) > MAX_KEYS:
        return {}, Finding(path, 1, f"more than {MAX_KEYS} keys")
    for key, value in data.items():
        if not isinstance(value, str) or not key or len(key) > MAX_KEY:
            line = text.count("\n", 0, max(0, text.find(json.dumps(key)))) + 1
            what = "value is not a string" if not isinstance(value, str) else "bad key length"
            return {}, Finding(path, line, f"{what}: {key[:40]!r}")
    return data, None


def _read(path: Path) -> dict[str, str]:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise EngineError(f"{path} is larger than {MAX_BYTES} bytes")
        data, finding = check(path.read_bytes(), str(path))
    except OSError as exc:
        raise EngineError(f"cannot read {path}: {exc.strerror}") from None
    if finding is not None:
        raise EngineError(str(finding))
    return data


def _write(path: Path, data: dict[str, str], *, replace: bool = True) -> None:
    """Write ``data`` atomically; without ``replace``, a file that appeared is left alone."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, sort_keys=True, ensure_ascii=False, indent=1)
            out.write("\n")
        if replace:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # never replaces a file that appeared meanwhile
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                os.rename(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _load(source: PayloadSource, progress: ProgressCallback | None) -> tuple[dict[str, str],
                                                                             list[Finding]]:
    paths = list(source.paths())
    findings = [Finding(p, 0, "not a kv payload file") for p in paths if p != PAYLOAD]
    if PAYLOAD not in paths:
        return {}, [*findings, Finding(PAYLOAD, 0, "the payload file is missing")]
    with source.open(PAYLOAD) as stream:
        raw = stream.read(MAX_BYTES + 1)
    if progress is not None and progress(len(raw), source.size(PAYLOAD)):
        raise RestoreError("cancelled")
    data, finding = check(raw)
    return data, [finding, *findings] if finding else findings


def _cancelled(statement: Statement) -> QueryCancelled:
    return QueryCancelled("the statement was cancelled", line=statement.line,
                          column=statement.column)


class KvSession(Session):
    """A session on one store file; ``SLEEP`` waits on an event that ``cancel`` sets."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cancelled = threading.Event()
        self._timeout: float | None = None

    def set_timeout(self, seconds: float | None) -> None:
        self._timeout = seconds or None

    def execute(self, text: str) -> Iterator[StatementResult]:
        self._cancelled.clear()  # on the call: a cancel from now on counts
        return self._execute(split_kv(text))

    def _execute(self, statements: list[Statement]) -> Iterator[StatementResult]:
        for index, statement in enumerate(statements):
            result = self._run(index, statement)
            yield result
            if result.error is not None:
                return

    def _run(self, index: int, statement: Statement) -> StatementResult:
        started = time.perf_counter()
        result = StatementResult(index=index, statement=statement)
        result.changes_state = False
        try:
            if self._cancelled.is_set():
                raise _cancelled(statement)
            command, args = parse(statement)
            result.changes_state = command in ("SET", "DEL")
            if command == "SLEEP":
                self._sleep(args[0], statement)
                result.status = "SLEEP"
            elif command in ("SET", "DEL"):
                data = self._data(statement)
                if command == "SET":
                    if len(args[0]) > MAX_KEY:
                        raise error(f"a key may have at most {MAX_KEY} characters", statement)
                    data[args[0]] = args[1]
                    result.rowcount = 1
                else:
                    result.rowcount = int(data.pop(args[0], None) is not None)
                _write(self.path, data)
                result.status = f"{command} {result.rowcount}"
            else:
                data = self._data(statement)
                if command == "GET":
                    rows = [(args[0], data[args[0]])] if args[0] in data else []
                else:
                    prefix = args[0] if args else ""
                    rows = [(k, v) for k, v in sorted(data.items()) if k.startswith(prefix)]
                result.columns = [Column("key", "text"), Column("value", "text")]
                result.rowcount, result.status = len(rows), f"{command} {len(rows)}"
                result._batches = self._batches(rows, statement)
        except QueryError as exc:
            result.error = exc
        except OSError as exc:
            result.error = error(f"cannot write {self.path}: {exc.strerror}", statement)
        result.elapsed = time.perf_counter() - started
        return result

    def _data(self, statement: Statement) -> dict[str, str]:
        try:
            return _read(self.path)
        except EngineError as exc:
            raise error(exc.message, statement) from None

    def _sleep(self, text: str, statement: Statement) -> None:
        try:
            seconds = float(text)
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds < float("inf"):
            raise error(f"SLEEP takes a number of seconds, not {text!r}", statement)
        limit = min(seconds, self._timeout or seconds)
        if self._cancelled.wait(limit):
            raise _cancelled(statement)
        if limit < seconds:
            raise QueryCancelled(f"statement timeout: longer than {limit:g} s",
                                 line=statement.line, column=statement.column)

    def _batches(self, rows: list[tuple[str, str]],
                 statement: Statement) -> Iterator[list[tuple[Any, ...]]]:
        size = max(1, self.batch_size)
        for start in range(0, len(rows), size):
            if self._cancelled.is_set():
                raise _cancelled(statement)
            yield list(rows[start : start + size])

    def cancel(self) -> None:
        self._cancelled.set()

    def catalog(self) -> list[CatalogItem]:
        """One ``prefix`` node per ``prefix:`` of the keys (holding its keys), then the rest."""
        try:
            data = _read(self.path)
        except EngineError as exc:
            raise QueryError(f"cannot read the catalog: {exc.message}") from None
        groups: dict[str, list[CatalogItem]] = {}
        loose: list[CatalogItem] = []
        for key, value in sorted(data.items()):
            item = CatalogItem(key, "key", detail=value[:40], insert_text=shlex.quote(key))
            prefix, colon, _rest = key.partition(":")
            (groups.setdefault(prefix, []) if colon else loose).append(item)
        return [CatalogItem(prefix, "prefix", f"{len(items)} keys", prefix + ":", items)
                for prefix, items in groups.items()] + loose

    def close(self) -> None:
        self._cancelled.set()


class KvEngine(Engine):
    """Stores reached by ``kv:///absolute/path.json`` (or ``kv://``: sandboxes only)."""

    name: ClassVar[str] = "kv"

    def __init__(self, uri: str, **_options: object) -> None:
        super().__init__(uri)
        try:
            parts = urlsplit(uri)
        except ValueError as exc:
            raise UnsupportedUri(f"not a kv address: {exc}") from exc
        path = unquote(parts.path)
        if parts.scheme.lower() != "kv" or parts.netloc not in ("", "localhost"):
            raise UnsupportedUri(f"not a kv address: {uri!r} (expected kv:///path.json)")
        if path not in ("", "/") and not os.path.isabs(path):
            raise UnsupportedUri(f"the kv path must be absolute: kv:///{path}")
        self.default_path = os.path.normpath(path) if path not in ("", "/") else None

    @classmethod
    def split(cls, text: str) -> list[Statement]:
        return split_kv(text)

    def path_of(self, database: str | None) -> Path:
        """An absolute path as is; a name is a sandbox in :func:`sandbox_dir`."""
        if not database:
            if self.default_path is None:
                raise EngineError("this kv address names no file: kv:///path.json")
            return Path(self.default_path)
        if os.path.isabs(database):
            return Path(os.path.normpath(database))
        if len(database) > 100 or database[0] in ".-" or not set(database) <= _NAME_CHARS:
            raise EngineError(f"{database!r} is not a sandbox name (letters, digits, _ . -)")
        return sandbox_dir() / (database + SUFFIX)

    def database_address(self, database: str) -> str:
        return str(self.path_of(database))

    def _is_sandbox(self, path: Path) -> bool:
        return (path.parent == sandbox_dir() and path.suffix == SUFFIX
                and path.with_name(path.name + MARK).is_file())

    def server_version(self) -> str:
        return "1"

    def list_databases(self) -> list[str]:
        folder = sandbox_dir()
        found = [p.name[: -len(SUFFIX)] for p in sorted(folder.glob("*" + SUFFIX))
                 if self._is_sandbox(p)] if folder.is_dir() else []
        return [self.default_path, *found] if self.default_path else found

    def connect(self, database: str | None = None) -> KvSession:
        path = self.path_of(database)
        if not path.is_file():
            raise ConnectionFailed(f"no kv store at {path}")
        return KvSession(path)

    def create_sandbox(self, name: str | None = None) -> str:
        name = name or f"playground_{time.strftime('%Y%m%d')}_{secrets.token_hex(3)}"
        path = self.path_of(name)
        if path.parent != sandbox_dir():
            raise EngineError(f"a sandbox is a name, not a path: {name!r}")
        mark = path.with_name(path.name + MARK)
        ensure_private_dir(path.parent)
        try:
            os.close(os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
            if path.exists():
                mark.unlink()
                raise FileExistsError(path)
        except FileExistsError:
            raise EngineError(f"sandbox {name!r} already exists") from None
        _write(path, {}, replace=False)
        return name

    def drop_sandbox(self, database: str) -> None:
        path = self.path_of(database)
        if not self._is_sandbox(path):
            if path.parent == sandbox_dir() and not path.exists():
                return  # already dropped
            raise EngineError(f"{database!r} is not a dbplay sandbox; dbplay never deletes "
                              "other files")
        path.unlink(missing_ok=True)
        path.with_name(path.name + MARK).unlink(missing_ok=True)

    def dump(self, database: str, sink: PayloadSink,
             progress: ProgressCallback | None = None) -> DumpInfo:
        try:
            data = _read(self.path_of(database))
        except EngineError as exc:
            raise DumpError(exc.message) from None
        payload = (json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1) + "\n")
        with sink.open(PAYLOAD) as out:
            out.write(payload.encode("utf-8"))
        if progress is not None:
            progress(len(data), len(data))
        return DumpInfo(self.server_version(), {"keys": len(data)})

    @classmethod
    def scan_payload(cls, source: PayloadSource,
                     progress: ProgressCallback | None = None) -> list[Finding]:
        return _load(source, progress)[1]

    def restore(self, source: PayloadSource, database: str | None = None,
                progress: ProgressCallback | None = None) -> str:
        """Into a new sandbox (or an empty one), or a path that is missing or empty."""
        data, findings = _load(source, progress)
        if findings:
            raise UnsafeContent(f"refused: {findings[0]}", line=findings[0].line)
        created = None
        path = self.path_of(database) if database else None
        if path is None or (not os.path.isabs(database or "") and not self._is_sandbox(path)):
            database = created = self.create_sandbox(database)
            path = self.path_of(database)
        elif not path.parent.is_dir():
            raise RestoreError(f"cannot restore to {path}: its folder does not exist")
        if created is None and path.exists() and (not path.is_file() or _read_or(path)):
            raise RestoreError(f"{path} already exists and is not empty; dbplay never "
                               "restores into a store that holds data")
        try:
            _write(path, data, replace=path.exists())
        except BaseException as exc:
            if created is not None:
                self.drop_sandbox(created)
            if isinstance(exc, OSError):
                raise RestoreError(f"cannot write {path}: {exc.strerror}") from None
            raise
        return str(database)


def _read_or(path: Path) -> bool:
    """Whether ``path`` holds data (anything but an empty file or an empty store)."""
    if path.stat().st_size == 0:
        return False
    try:
        return bool(_read(path))
    except EngineError:
        return True
