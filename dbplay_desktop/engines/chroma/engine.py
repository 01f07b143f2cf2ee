"""The Chroma engine: embedded stores (folders) and Chroma servers, on ``chromadb``.

Addresses:

* ``chroma:///abs/dir`` -- an embedded store (``chromadb.PersistentClient`` on that folder);
  a *database* is a folder: an absolute path, or the name of a sandbox.
* ``chroma://`` -- no folder of the user's: sandboxes only.
* ``chroma+http(s)://host:port/?tenant=T&database=D[&token=...]`` -- a Chroma server
  (``chromadb.HttpClient``); a *database* is a Chroma database of the tenant (default
  ``default_tenant``).

**Embedded sandboxes** are folders ``<data dir>/chroma/<name>/`` (0700), each with a
marker file ``<name>.dbplay`` beside it that says dbplay made it (as SQLite's sandboxes).
:meth:`ChromaEngine.drop_sandbox` deletes only a folder of that directory that has its
marker; a missing one is already dropped. Every session on a sandbox holds a shared
``flock`` on its marker, so :meth:`~ChromaEngine.drop_abandoned_playgrounds` drops the
playgrounds (not the named sandboxes) whose marker no process holds -- a window that
crashed released its locks with its process.

**Server sandboxes** are databases named ``dbplay_<date>_<hex>`` (or the name given),
created with ``AdminClient`` and remembered in a registry: the database
:data:`REGISTRY_DATABASE` of the tenant, collection ``sandboxes``, one record per sandbox
(id = its name, metadata ``{playground, created}``, a one-element dummy embedding). A
database is dropped only when registered; one neither registered nor on the server is
already dropped. A server cannot tell which databases have clients, so abandoned server
playgrounds are never dropped automatically.

**Settings.** ``DBPLAY_CHROMA_MODEL_DIR`` names the folder holding Chroma's default
embedding model (all-MiniLM-L6-v2): what chromadb keeps in
``~/.cache/chroma/onnx_models/all-MiniLM-L6-v2`` -- its ``onnx/`` folder (``model.onnx``,
``tokenizer.json``, ``vocab.txt``, ``config.json``, ``special_tokens_map.json``,
``tokenizer_config.json``) or the ``onnx.tar.gz`` it downloads from
``https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz``. Copy that
folder from a machine that has used Chroma (or download the archive), so
``query_texts``/``documents`` work offline. chromadb's own telemetry is turned off.

**A server that stops answering.** Every HTTP client the engine makes waits at most the
connection timeout (``DBPLAY_CONNECT_TIMEOUT``, :mod:`dbplay_desktop.engines.link`) to
reach the server, and the engine's own clients (the admin and the registry) at most
:data:`ADMIN_READ_TIMEOUT` for an answer; a client that failed on the network is made
again at the next call, so :meth:`connect` and :meth:`drop_sandbox` work as soon as the
server is back (see :mod:`.http_link`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from dbplay_desktop.app_dirs import PRIVATE_FILE_MODE, data_dir, ensure_private_dir
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
from dbplay_desktop.engines.chroma.errors import error_message
from dbplay_desktop.engines.link import connect_timeout

MARK_SUFFIX = ".dbplay"
PLAYGROUND_MARK = "dbplay sandbox (playground)\n"
SANDBOX_MARK = "dbplay sandbox\n"
#: The server database where the engine remembers its sandboxes.
REGISTRY_DATABASE = "dbplay_registry"
REGISTRY_COLLECTION = "sandboxes"
MODEL_DIR_ENV = "DBPLAY_CHROMA_MODEL_DIR"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\Z")
_HTTP_SCHEMES = ("chroma+http", "chroma+https")
#: How long the engine's own calls (databases, the registry) wait for an answer, seconds.
ADMIN_READ_TIMEOUT = 60.0


def sandbox_dir() -> Path:
    """Where embedded sandbox folders live (not created until a sandbox is)."""
    return data_dir() / "chroma"


def apply_model_dir() -> None:
    """Point chromadb's default embedding model at ``DBPLAY_CHROMA_MODEL_DIR`` when set."""
    folder = os.environ.get(MODEL_DIR_ENV, "").strip()
    if not folder:
        return
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    ONNXMiniLM_L6_V2.DOWNLOAD_PATH = Path(folder).expanduser()


def client_settings() -> Any:
    """The settings of every client (the same for all: chromadb shares a system per path)."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def persistent_client(path: Path) -> Any:
    """A client on an embedded folder. chromadb keeps one system per folder and refuses a
    second client with other settings, so a folder this process already has open (by
    another library in the same process, say) is joined with that system's settings."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.get(str(path))
    settings = system.settings.model_copy() if system is not None else client_settings()
    return chromadb.PersistentClient(str(path), settings=settings)


def hold(path: str) -> Any:
    """An open handle holding a shared lock on ``path`` (closing it releases the lock)."""
    import fcntl

    handle = open(path, "rb")  # noqa: SIM115 - kept open by the session
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise
    return handle


def is_in_use(path: str) -> bool:
    """Whether some process holds a lock on ``path``."""
    import fcntl

    try:
        with open(path, "rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def _forget_system(path: Path) -> None:
    """Stop chromadb's cached system of an embedded folder (before deleting it)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        with contextlib.suppress(Exception):
            system.stop()


class ChromaEngine(Engine):
    """Chroma: embedded folders (``chroma:///dir``, ``chroma://``) or a server."""

    name: ClassVar[str] = "chroma"

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri)
        try:
            parts = urlsplit(uri)
            params = dict(parse_qsl(parts.query))
        except ValueError as exc:
            raise UnsupportedUri(f"not a Chroma address: {exc}") from exc
        scheme = parts.scheme.lower()
        self.options = options
        self.default_path: str | None = None
        self.default_database: str | None = None
        if scheme == "chroma":
            if parts.netloc not in ("", "localhost"):
                raise UnsupportedUri("a chroma:// address names a local folder: "
                                     "chroma:///absolute/dir (a server is chroma+http://)")
            path = unquote(parts.path)
            if path not in ("", "/"):
                if not os.path.isabs(path):
                    raise UnsupportedUri(f"the Chroma folder must be absolute: chroma:///{path}")
                self.default_path = os.path.normpath(path)
            self.http = False
        elif scheme in _HTTP_SCHEMES:
            self.http = True
            self.ssl = scheme == "chroma+https"
            self.host = parts.hostname or "localhost"
            try:
                self.port = parts.port or 8000
            except ValueError as exc:
                raise UnsupportedUri(f"not a Chroma address: {exc}") from exc
            self.tenant = params.get("tenant") or "default_tenant"
            self.default_database = params.get("database") or None
            token = params.get("token") or (unquote(parts.password) if parts.password else "")
            self.headers = {"Authorization": f"Bearer {token}"} if token else {}
            self.connect_timeout = connect_timeout()
        else:
            raise UnsupportedUri(f"not a Chroma address: {uri!r} (expected chroma:///dir or "
                                 "chroma+http://host:port/?database=name)")
        self._admin: Any = None
        self._registry_collection: Any = None
        apply_model_dir()

    @classmethod
    def split(cls, text: str) -> list[Statement]:
        from dbplay_desktop.engines.chroma.calls.split import split_calls

        return split_calls(text)

    # -- clients -----------------------------------------------------------------------
    @property
    def address(self) -> str:
        """``host:port`` of the server, for messages."""
        return f"{self.host}:{self.port}" if self.http else "the embedded store"

    def _fail(self, exc: BaseException, what: str) -> EngineError:
        message = error_message(exc) or " ".join(str(exc).split()) or type(exc).__name__
        if self.http and _network(exc):
            # The cached clients may hold a dead link: the next call makes new ones.
            self._forget_clients()
            return ConnectionFailed(f"{what} at {self.address}: {message}")
        return ConnectionFailed(f"{what}: {message}")

    def _forget_clients(self) -> None:
        admin, self._admin, self._registry_collection = self._admin, None, None
        if admin is not None:
            _close(admin)

    def _http_client(self, database: str, *, read: float | None = None,
                     link: Any = None) -> Any:
        """A client on ``database``, after the server answered its heartbeat within the
        connection timeout; answers wait at most ``read`` seconds (None: no limit)."""
        import chromadb

        from dbplay_desktop.engines.chroma.http_link import base_url, harden, probe

        probe(base_url(self.host, self.port, self.ssl), self.headers, self.connect_timeout)
        client = chromadb.HttpClient(host=self.host, port=self.port, ssl=self.ssl,
                                     headers=self.headers, tenant=self.tenant,
                                     database=database, settings=client_settings())
        harden(client, self.connect_timeout, read=read, link=link)
        return client

    def _admin_client(self) -> Any:
        if self._admin is None:
            import chromadb

            from dbplay_desktop.engines.chroma.http_link import harden

            try:
                admin = chromadb.AdminClient(chromadb.Settings(
                    chroma_api_impl="chromadb.api.fastapi.FastAPI",
                    chroma_server_host=self.host, chroma_server_http_port=self.port,
                    chroma_server_ssl_enabled=self.ssl,
                    chroma_server_headers=self.headers or None,
                    anonymized_telemetry=False))
            except Exception as exc:
                raise self._fail(exc, "cannot reach the Chroma server") from exc
            harden(admin, self.connect_timeout, read=max(ADMIN_READ_TIMEOUT,
                                                         self.connect_timeout))
            self._admin = admin
        return self._admin

    def _registry(self) -> Any:
        if self._registry_collection is None:
            admin = self._admin_client()
            names = {_db_name(db) for db in admin.list_databases(tenant=self.tenant)}
            if REGISTRY_DATABASE not in names:
                with contextlib.suppress(Exception):  # another process made it meanwhile
                    admin.create_database(REGISTRY_DATABASE, tenant=self.tenant)
            client = self._http_client(
                REGISTRY_DATABASE, read=max(ADMIN_READ_TIMEOUT, self.connect_timeout))
            self._registry_collection = client.get_or_create_collection(
                REGISTRY_COLLECTION, embedding_function=None)
        return self._registry_collection

    def _registered(self) -> dict[str, dict[str, Any]]:
        got = self._registry().get(include=["metadatas"])
        return {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"], strict=False)}

    def _server_databases(self) -> list[str]:
        admin = self._admin_client()
        found: list[str] = []
        offset = 0
        while True:
            page = admin.list_databases(limit=100, offset=offset, tenant=self.tenant)
            found.extend(_db_name(db) for db in page)
            if len(page) < 100:
                return found
            offset += 100

    # -- folders -----------------------------------------------------------------------
    def path_of(self, database: str | None) -> Path:
        """The folder of an embedded ``database``: an absolute path, or a sandbox name."""
        if not database:
            if self.default_path is None:
                raise EngineError("this Chroma address names no folder: chroma:///absolute/dir")
            return Path(self.default_path)
        if os.path.isabs(database):
            return Path(os.path.normpath(database))
        if not _NAME.fullmatch(database):
            raise EngineError(f"{database!r} is not a sandbox name (letters, digits, _ . -)")
        return sandbox_dir() / database

    def database_address(self, database: str) -> str:
        if self.http:
            return database
        return str(self.path_of(database))

    def _mark_of(self, path: Path) -> Path:
        return path.with_name(path.name + MARK_SUFFIX)

    def _sandbox_mark(self, path: Path) -> str | None:
        """The marker's text when ``path`` is a sandbox folder dbplay made, else None."""
        if path.parent != sandbox_dir():
            return None
        try:
            return self._mark_of(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    # -- server ------------------------------------------------------------------------
    def server_version(self) -> str:
        if not self.http:
            import chromadb

            return f"Chroma {chromadb.__version__}"
        try:
            version = self._http_client(self.default_database or "default_database") \
                .get_version()
        except Exception as exc:
            raise self._fail(exc, "cannot reach the Chroma server") from exc
        return f"Chroma {version}"

    def list_databases(self) -> list[str]:
        if self.http:
            try:
                names = set(self._server_databases())
                names.update(self._registered())
            except EngineError:
                raise
            except Exception as exc:
                raise self._fail(exc, "cannot list the databases") from exc
            names.discard(REGISTRY_DATABASE)
            return sorted(names)
        found = []
        folder = sandbox_dir()
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_dir() and self._sandbox_mark(path) is not None:
                    found.append(path.name)
        if self.default_path:
            found.insert(0, self.default_path)
        return found

    def connect(self, database: str | None = None):  # type: ignore[override]
        from dbplay_desktop.engines.chroma.session import ChromaSession

        apply_model_dir()
        if self.http:
            database = database or self.default_database
            if not database:
                raise ConnectionFailed("this Chroma address names no database: "
                                       "chroma+http://host:port/?database=name")
            from dbplay_desktop.engines.chroma.http_link import Link, harden

            link = Link()
            try:
                client = self._http_client(database, read=self.connect_timeout, link=link)
                client.heartbeat()
                harden(client, self.connect_timeout)  # a call may take its time to answer
            except Exception as exc:
                raise self._fail(exc, f"cannot connect to {database}") from exc
            return ChromaSession(client, database, link=link, address=self.address,
                                 connect_timeout=self.connect_timeout)
        path = self.path_of(database)
        if not path.is_dir():
            raise ConnectionFailed(f"no Chroma folder at {path}")
        in_use = None
        if self._sandbox_mark(path) is not None:
            in_use = hold(str(self._mark_of(path)))
        try:
            client = persistent_client(path)
        except Exception as exc:
            if in_use is not None:
                in_use.close()
            raise self._fail(exc, f"cannot open the Chroma folder {path}") from exc
        return ChromaSession(client, str(path), in_use=in_use)

    # -- sandboxes ---------------------------------------------------------------------
    def create_sandbox(self, name: str | None = None) -> str:
        explicit = name is not None
        if name is None:
            name = f"dbplay_{time.strftime('%Y%m%d')}_{secrets.token_hex(4)}"
        if self.http:
            return self._create_server_sandbox(name, playground=not explicit)
        path = self.path_of(name)
        if path.parent != sandbox_dir():
            raise EngineError(f"a sandbox is a name, not a path: {name!r}")
        ensure_private_dir(path.parent)
        mark = self._mark_of(path)
        try:
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            raise EngineError(f"sandbox {name!r} already exists") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(SANDBOX_MARK if explicit else PLAYGROUND_MARK)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            mark.unlink()
            raise EngineError(f"sandbox {name!r} already exists") from None
        return name

    def _create_server_sandbox(self, name: str, *, playground: bool) -> str:
        if not (3 <= len(name) <= 63) or not _NAME.fullmatch(name) \
                or name == REGISTRY_DATABASE:
            raise EngineError(f"{name!r} cannot be a sandbox: a Chroma sandbox is named with "
                              "letters, digits, _ . - (3 to 63)")
        try:
            if name in self._server_databases():
                raise EngineError(f"database {name!r} already exists")
            self._registry().add(
                ids=[name], embeddings=[[0.0]],
                metadatas=[{"playground": playground,
                            "created": _dt.datetime.now(_dt.timezone.utc).isoformat()}])
            self._admin_client().create_database(name, tenant=self.tenant)
        except EngineError:
            raise
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._registry().delete(ids=[name])
            raise self._fail(exc, f"cannot create the sandbox {name}") from exc
        return name

    def drop_sandbox(self, database: str) -> None:
        if self.http:
            self._drop_server_sandbox(database)
            return
        path = self.path_of(database)
        if self._sandbox_mark(path) is None:
            if path.parent == sandbox_dir() and not path.exists():
                return  # already dropped
            raise EngineError(f"{database!r} is not a dbplay sandbox; dbplay never deletes "
                              "other folders")
        _forget_system(path)
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            raise EngineError(f"cannot delete the sandbox folder {path}")
        with contextlib.suppress(FileNotFoundError):
            self._mark_of(path).unlink()

    def _drop_server_sandbox(self, database: str) -> None:
        try:
            registered = database in self._registered()
            on_server = database in self._server_databases()
            if not registered:
                if not on_server:
                    return  # already dropped
                raise EngineError(f"{database!r} is not a dbplay sandbox; dbplay never drops "
                                  "other databases")
            if on_server:
                self._admin_client().delete_database(database, tenant=self.tenant)
            self._registry().delete(ids=[database])
        except EngineError:
            raise
        except Exception as exc:
            raise self._fail(exc, f"cannot drop the sandbox {database}") from exc

    def drop_abandoned_playgrounds(self) -> list[str]:
        """Embedded: drop the playgrounds whose marker no process holds. Servers: none."""
        if self.http:
            return []
        dropped = []
        for name in self.list_databases():
            if os.path.isabs(name):
                continue
            path = self.path_of(name)
            if self._sandbox_mark(path) != PLAYGROUND_MARK:
                continue
            if is_in_use(str(self._mark_of(path))):
                continue
            try:
                self.drop_sandbox(name)
            except EngineError:
                continue
            dropped.append(name)
        return dropped

    # -- templates ---------------------------------------------------------------------
    def _client_for(self, database: str) -> Any:
        if self.http:
            return self._http_client(database)
        path = self.path_of(database)
        if not path.is_dir():
            raise EngineError(f"no Chroma folder at {path}")
        return persistent_client(path)

    def dump(
        self, database: str, sink: PayloadSink, progress: ProgressCallback | None = None
    ) -> DumpInfo:
        from dbplay_desktop.engines.chroma.dump import write_dump

        try:
            client = self._client_for(database)
        except EngineError as exc:
            raise DumpError(str(exc)) from exc
        try:
            return write_dump(client, sink, progress)
        finally:
            _close(client)

    @staticmethod
    def scan_payload(
        source: PayloadSource, progress: ProgressCallback | None = None
    ) -> list[Finding]:
        """The static scan; needs no store and no engine instance (``template verify``)."""
        from dbplay_desktop.engines.chroma.safety import scan_payload

        return scan_payload(source, progress)

    def restore(
        self,
        source: PayloadSource,
        database: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> str:
        """Scan, then restore into a new sandbox (no ``database`` or a new name), a sandbox
        just made (still empty), or (embedded) an absolute folder that is absent or empty."""
        from dbplay_desktop.engines.chroma.restore import restore_into

        findings = self.scan(source)
        if findings:
            more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
            raise UnsafeContent(f"the template was refused: {findings[0]}{more}")
        created = None
        if self.http:
            if database is None or database not in self.list_databases():
                database = created = self.create_sandbox(database)
        elif database is None or not os.path.isabs(database):
            path = self.path_of(database) if database else None
            if path is None or self._sandbox_mark(path) is None:
                database = created = self.create_sandbox(database)
        else:
            path = self.path_of(database)
            if not path.parent.is_dir():
                raise RestoreError(f"cannot restore to {path}: its folder does not exist")
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise RestoreError(f"cannot restore to {path}: it is not an empty folder")
            if not path.exists():
                self._restore_beside(source, path, progress)
                return database
        client = None
        try:
            client = self._client_for(database)
            restore_into(client, source, progress)
        except BaseException as exc:
            if created is not None:
                with contextlib.suppress(EngineError):
                    self.drop_sandbox(created)
            if isinstance(exc, EngineError) and not isinstance(exc, RestoreError):
                raise RestoreError(str(exc)) from exc
            raise
        finally:
            if client is not None:
                _close(client)
        return database



    def _restore_beside(self, source: PayloadSource, path: Path,
                        progress: ProgressCallback | None) -> None:
        """Restore into a hidden folder beside ``path`` (noted while it fills), then
        rename it into place: a kill mid-way leaves nothing at ``path``, and the next
        start removes the hidden folder."""
        from dbplay_desktop.atomic_file import noted_while_written
        from dbplay_desktop.engines.chroma.restore import restore_into

        temp = path.with_name(f".{path.name}.restoring-{secrets.token_hex(4)}.part")
        with noted_while_written(temp):
            temp.mkdir(mode=0o700)
            client = None
            try:
                client = self._client_for(str(temp))
                restore_into(client, source, progress)
                _close(client)
                client = None
                _forget_system(temp)
                try:
                    os.rename(temp, path)  # an empty folder made meanwhile is replaced
                except OSError as exc:
                    raise RestoreError(f"cannot restore to {path}: "
                                       f"{exc.strerror or exc}") from None
            except BaseException as exc:
                if client is not None:
                    _close(client)
                _forget_system(temp)
                shutil.rmtree(temp, ignore_errors=True)
                if isinstance(exc, EngineError) and not isinstance(exc, RestoreError):
                    raise RestoreError(str(exc)) from exc
                raise


def _network(exc: BaseException) -> bool:
    """Whether ``exc`` is the HTTP client's network failure (not the server's answer)."""
    module = type(exc).__module__ or ""
    if module.startswith("httpx") or module.startswith("httpcore"):
        import httpx

        return isinstance(exc, httpx.TransportError)
    return isinstance(exc, OSError)


def _close(client: Any) -> None:
    """Close a client the engine made for itself (chromadb counts a folder's clients)."""
    with contextlib.suppress(Exception):
        client.close()


def _db_name(database: Any) -> str:
    """A database's name from ``AdminClient.list_databases`` (dicts in chromadb 1.x)."""
    if isinstance(database, dict):
        return str(database["name"])
    return str(database.name)
