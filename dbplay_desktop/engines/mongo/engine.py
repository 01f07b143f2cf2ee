"""The MongoDB engine: a server reached by ``mongodb://`` or ``mongodb+srv://``.

**Sandboxes.** A MongoDB database exists only once it holds a collection, so a fresh,
empty sandbox cannot mark itself. dbplay keeps a registry on the server instead, outside
every sandbox (a collection inside one would appear in its dumps and its catalog): the
database :data:`REGISTRY_DATABASE`, collection ``sandboxes``, one document per sandbox,
``{_id: name, name, playground, created}``. A sandbox exists while its registry entry
does, with or without data; :meth:`list_databases` lists the server's databases and the
registered sandboxes (the registry itself left out). :meth:`drop_sandbox` drops only a
registered database (then its entry); a name neither registered nor on the server is
already dropped; a database on the server that is not registered is refused.

**Abandoned playgrounds.** Every session's client says ``appname=dbplay/<database>/<hex>``,
so ``currentOp`` with ``$all`` (idle connections too) tells which databases have live
connections. A registered playground (not a named sandbox) older than this process with
no such connection is dropped. When ``currentOp`` is refused, only playgrounds created
before this process started and that no session of this process holds are dropped.

**A server that goes away.** The engine's own client reconnects by itself (pymongo finds
the server again on the next call), so :meth:`connect` and :meth:`drop_sandbox` work
again as soon as the server answers. Reaching the server waits at most the connection
timeout (``DBPLAY_CONNECT_TIMEOUT``, :mod:`dbplay_desktop.engines.link`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import secrets
import threading
import time
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from pymongo import MongoClient
from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

from dbplay_desktop.engines.base import (
    ConnectionFailed,
    DumpError,
    DumpInfo,
    Engine,
    EngineError,
    Finding,
    PayloadSink,
    PayloadSource,
    ProgressCallback,
    RestoreError,
    Statement,
    UnsafeContent,
    UnsupportedUri,
)
from dbplay_desktop.engines.mongo.errors import error_message
from dbplay_desktop.engines.mongo.session import REGISTRY_DATABASE, MongoSession, client_options

REGISTRY_COLLECTION = "sandboxes"
#: Databases that belong to the server, never to a user or a sandbox.
SERVER_DATABASES = frozenset({"admin", "local", "config", REGISTRY_DATABASE})
_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")
_UNAUTHORIZED = {13, 8000}  # Unauthorized, AtlasError
_STARTED = _dt.datetime.now(_dt.timezone.utc)
_OPEN_SESSIONS: dict[str, int] = {}  # database -> sessions of this process
_OPEN_LOCK = threading.Lock()


class _TrackedSession(MongoSession):
    """A session counted in :data:`_OPEN_SESSIONS` while it is open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with _OPEN_LOCK:
            _OPEN_SESSIONS[self.database] = _OPEN_SESSIONS.get(self.database, 0) + 1

    def close(self) -> None:
        if not self._closed:
            with _OPEN_LOCK:
                left = _OPEN_SESSIONS.get(self.database, 1) - 1
                if left > 0:
                    _OPEN_SESSIONS[self.database] = left
                else:
                    _OPEN_SESSIONS.pop(self.database, None)
        super().close()


class MongoEngine(Engine):
    """A MongoDB server (mongod, Atlas, or the embedded SecantusDB)."""

    name: ClassVar[str] = "mongodb"

    def __init__(self, uri: str, *, statement_timeout: float | None = None,
                 **options: Any) -> None:
        super().__init__(uri)
        try:
            parts = urlsplit(uri)
        except ValueError as exc:
            raise UnsupportedUri(f"not a MongoDB address: {exc}") from exc
        if parts.scheme.lower() not in ("mongodb", "mongodb+srv"):
            raise UnsupportedUri(
                "not a MongoDB address (expected mongodb://host:port/database or "
                "mongodb+srv://host/database)")
        self.default_database = unquote(parts.path.lstrip("/")) or None
        if statement_timeout is None:
            import os

            raw = os.environ.get("DBPLAY_STATEMENT_TIMEOUT", "").strip()
            if raw:
                try:
                    statement_timeout = float(raw) or None
                except ValueError as exc:
                    raise EngineError("DBPLAY_STATEMENT_TIMEOUT must be a number of seconds") \
                        from exc
        self.statement_timeout = statement_timeout
        self._options = {**client_options(), **options}
        try:
            self._client: MongoClient = MongoClient(uri, appname="dbplay", **self._options)
        except (ConfigurationError, ValueError, TypeError) as exc:
            message = error_message(exc) if isinstance(exc, PyMongoError) else str(exc)
            raise UnsupportedUri(f"invalid MongoDB address: {message}") from exc

    @classmethod
    def split(cls, text: str) -> list[Statement]:
        from dbplay_desktop.engines.mongo.shell.split import split_shell

        return split_shell(text)

    # -- helpers -----------------------------------------------------------------------
    def _fail(self, exc: PyMongoError, what: str) -> EngineError:
        message = error_message(exc) or str(exc)
        if isinstance(exc, OperationFailure) and exc.code == 18:  # AuthenticationFailed
            return ConnectionFailed(f"the MongoDB server refused the credentials: {message}")
        if isinstance(exc, OperationFailure) and exc.code in _UNAUTHORIZED:
            return EngineError(f"{what}: the MongoDB user is not allowed to ({message})")
        if isinstance(exc, OperationFailure):
            return EngineError(f"{what}: {message}")
        if message.startswith("cannot reach"):
            from dbplay_desktop.engines.mongo.session import _address

            address = _address(self.uri)  # "No servers found yet" names no server
            if address and address != "the MongoDB server" and address not in message:
                message = message.replace("the MongoDB server", f"the MongoDB server at "
                                          f"{address}", 1)
            return ConnectionFailed(message)
        return ConnectionFailed(f"{what}: {message}")

    @property
    def _registry(self) -> Any:
        return self._client[REGISTRY_DATABASE][REGISTRY_COLLECTION]

    def _registered(self) -> dict[str, dict[str, Any]]:
        return {doc["_id"]: doc for doc in self._registry.find({})}

    def _entry(self, database: str) -> dict[str, Any] | None:
        return self._registry.find_one({"_id": database})

    def _server_databases(self) -> list[str]:
        listing = self._client.list_databases(nameOnly=True, authorizedDatabases=True)
        return [entry["name"] for entry in listing]

    # -- server ------------------------------------------------------------------------
    def server_version(self) -> str:
        try:
            info = self._client.server_info()
        except PyMongoError as exc:
            raise self._fail(exc, "cannot reach the MongoDB server") from exc
        return f"MongoDB {info.get('version', '?')}"

    def list_databases(self) -> list[str]:
        """The server's databases and the registered sandboxes (empty ones too)."""
        try:
            names = set(self._server_databases())
            names.update(self._registered())
        except PyMongoError as exc:
            raise self._fail(exc, "cannot list the databases") from exc
        names.discard(REGISTRY_DATABASE)
        return sorted(names)

    def connect(self, database: str | None = None) -> MongoSession:
        database = database or self.default_database
        if not database:
            raise ConnectionFailed("this MongoDB address names no database: "
                                   "mongodb://host:port/database")
        session = None
        try:
            session = _TrackedSession(self.uri, database,
                                      statement_timeout=self.statement_timeout)
            session._client.admin.command("ping")
        except PyMongoError as exc:
            if session is not None:
                session.close()
            raise self._fail(exc, f"cannot connect to {database}") from exc
        return session

    # -- sandboxes ---------------------------------------------------------------------
    def create_sandbox(self, name: str | None = None, *, while_restoring: bool = False) -> str:
        """A new registered sandbox (a playground when unnamed). ``while_restoring``
        registers a named one as a playground until its restore is complete, so a
        restore killed half-way leaves a database the next start's cleanup drops."""
        playground = name is None or while_restoring
        if name is None:
            name = f"dbplay_{time.strftime('%Y%m%d')}_{secrets.token_hex(4)}"
        if not _NAME.match(name) or name in SERVER_DATABASES:
            raise EngineError(f"{name!r} cannot be a sandbox: a MongoDB sandbox is named "
                              "with letters, digits, _ and - (at most 63)")
        try:
            if name in self._server_databases():
                raise EngineError(f"database {name!r} already exists")
            self._registry.insert_one({
                "_id": name, "name": name, "playground": playground,
                "created": _dt.datetime.now(_dt.timezone.utc),
            })
        except OperationFailure as exc:
            if exc.code == 11000:
                raise EngineError(f"sandbox {name!r} already exists") from None
            if exc.code in _UNAUTHORIZED:
                raise EngineError(
                    "the MongoDB user may not create databases: dbplay needs a user with "
                    f"readWriteAnyDatabase (or dbAdminAnyDatabase) to make sandboxes "
                    f"({error_message(exc)})") from None
            raise self._fail(exc, "cannot create a sandbox") from exc
        except PyMongoError as exc:
            raise self._fail(exc, "cannot create a sandbox") from exc
        return name

    def drop_sandbox(self, database: str) -> None:
        try:
            entry = self._entry(database)
            if entry is None:
                if database in SERVER_DATABASES or database in self._server_databases():
                    raise EngineError(f"{database!r} is not a dbplay sandbox; dbplay never "
                                      "drops other databases")
                return  # already dropped
            self._client.drop_database(database)
            self._registry.delete_one({"_id": database})
        except PyMongoError as exc:
            raise self._fail(exc, f"cannot drop {database}") from exc

    def drop_abandoned_playgrounds(self) -> list[str]:
        try:
            playgrounds = [doc for doc in self._registry.find({"playground": True})]
        except PyMongoError:
            return []
        live = self._live_databases()
        dropped = []
        for doc in playgrounds:
            name = doc["_id"]
            created = doc.get("created")
            if isinstance(created, _dt.datetime) and created.tzinfo is None:
                created = created.replace(tzinfo=_dt.timezone.utc)
            if not isinstance(created, _dt.datetime) or created >= _STARTED:
                continue  # made by this process (or a newer one): not abandoned
            with _OPEN_LOCK:
                if name in _OPEN_SESSIONS:
                    continue
            if live is not None and name in live:
                continue
            with contextlib.suppress(EngineError):
                self.drop_sandbox(name)
                dropped.append(name)
        return dropped

    def _live_databases(self) -> set[str] | None:
        """Databases some dbplay session is connected to (``None``: cannot tell)."""
        try:
            listing = self._client.admin.command({"currentOp": 1, "$all": True})
        except PyMongoError:
            return None
        live = set()
        for op in listing.get("inprog") or []:
            name = op.get("appName")
            metadata = op.get("clientMetadata")
            if not name and isinstance(metadata, dict):
                name = (metadata.get("application") or {}).get("name")
            if isinstance(name, str) and name.startswith("dbplay/"):
                live.add(name.split("/")[1])
        return live

    # -- templates ---------------------------------------------------------------------
    def dump(self, database: str, sink: PayloadSink,
             progress: ProgressCallback | None = None) -> DumpInfo:
        from dbplay_desktop.engines.mongo.dump import write_dump

        try:
            return write_dump(self._client, database, sink, progress)
        except PyMongoError as exc:
            raise DumpError(f"cannot save {database}: {error_message(exc)}") from exc

    @staticmethod
    def scan_payload(source: PayloadSource,
                     progress: ProgressCallback | None = None) -> list[Finding]:
        from dbplay_desktop.engines.mongo.safety import scan_payload

        return scan_payload(source, progress)

    def restore(self, source: PayloadSource, database: str | None = None,
                progress: ProgressCallback | None = None) -> str:
        """Scan, then restore into a new sandbox, or into ``database`` when it is empty
        (a registered sandbox just made, or a name not yet on the server, which becomes a
        named sandbox). On failure a database this call made is dropped."""
        from dbplay_desktop.engines.mongo.restore import restore_into

        findings = self.scan_payload(source)
        if findings:
            raise UnsafeContent(f"the template was refused: {findings[0]}")
        created = None
        named = database is not None
        try:
            if database is None:
                database = created = self.create_sandbox()
            elif self._entry(database) is None:
                if database in self._server_databases():
                    if self._client[database].list_collection_names():
                        raise RestoreError(f"cannot restore into {database}: it is not empty")
                else:
                    database = created = self.create_sandbox(database, while_restoring=True)
            elif self._client[database].list_collection_names():
                raise RestoreError(f"cannot restore into {database}: it is not empty")
        except PyMongoError as exc:
            raise RestoreError(f"cannot restore: {error_message(exc)}") from exc
        except RestoreError:
            raise
        except EngineError as exc:
            raise RestoreError(str(exc)) from exc
        try:
            restore_into(self._client, database, source, progress)
        except BaseException as exc:
            if created is not None:
                with contextlib.suppress(EngineError):
                    self.drop_sandbox(created)
            else:  # the user's empty database: leave it empty again
                with contextlib.suppress(PyMongoError):
                    for name in self._client[database].list_collection_names():
                        self._client[database].drop_collection(name)
            if isinstance(exc, PyMongoError):
                raise RestoreError(f"restore failed: {error_message(exc)}") from exc
            raise
        if created is not None and named:
            self._keep_restored(created)
        return database

    def _keep_restored(self, database: str) -> None:
        """A named sandbox's restore is complete: registered as kept, not a playground."""
        try:
            self._registry.update_one({"_id": database}, {"$set": {"playground": False}})
        except PyMongoError as exc:
            raise RestoreError(f"cannot register {database}: {error_message(exc)}") from exc

    def close(self) -> None:
        self._client.close()
