"""A Chroma session: the client's calls, parsed (never evaluated), run through chromadb.

Each statement the splitter cut is parsed on its own (so an error in statement 3 comes
after the results of 1 and 2) into a :class:`~.calls.commands.ChromaCall` and run as the
chromadb method it names.

**Results.** Records (``get``, ``peek``, ``query``) are :attr:`ResultKind.VECTOR_RECORDS`,
one row per record: ``id``; for a query ``query`` (which query embedding or text, from 0)
and ``distance`` (role distance); ``document`` (role document) when documents are
included; one column per metadata key in the order keys are first seen (role metadata;
values as Chroma keeps them: int, float, bool, str, list; :data:`MISSING` for a key a
record does not have); ``embedding`` (role embedding, a float32
:class:`~dbplay_desktop.values.Vector`, exactly what Chroma returns) when included.
Metadata keys found in later batches are appended with :meth:`StatementResult.add_columns`
(so they may come after ``embedding``). ``get`` pages through the collection with
``limit``/``offset``, ``batch_size`` records a round trip (within the call's own limit
and offset); a query's answer comes whole from Chroma and is handed on in batches.
Collection listings and counts are plain rows; writes give a status (``added 3
records``) and a row count, collection changes a status.

**Embeddings.** ``documents`` without ``embeddings`` and ``query_texts`` are embedded
here with the collection's own embedding function before the call; when it cannot load
(Chroma's default model downloads on first use, which fails offline) the call fails at
once with one line saying so (see ``DBPLAY_CHROMA_MODEL_DIR`` in :mod:`.engine`).

**Cancel.** A chromadb call cannot be stopped once sent. ``cancel()`` (any thread) sets a
flag that is checked before each call, between the pages of a ``get``, between the
batches handed on from a query, and between the chunks of a write larger than the
store's largest batch; the call in flight finishes and the result then ends with
:class:`QueryCancelled` (raised by ``batches()`` when rows were streaming). A write
cancelled between chunks keeps the chunks already written. On a server, a call still
waiting for its answer one connection timeout after the cancel has its connection shut
(:mod:`.http_link`): the server stopped answering, and the session is lost.

**A lost connection.** On a server, a call whose HTTP link fails (reset, closed, the
server gone) ends with a :class:`~dbplay_desktop.errors.ConnectionLost` naming
``host:port``, and :attr:`connection_lost` stays True.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    ColumnKind,
    ColumnRole,
    ConnectionLost,
    EngineError,
    LineIndex,
    QueryCancelled,
    QueryError,
    ResultKind,
    Session,
    StatementResult,
)
from dbplay_desktop.engines.chroma.calls.commands import CLIENT, ChromaCall
from dbplay_desktop.engines.chroma.errors import error_message, one_line
from dbplay_desktop.engines.link import ServerCalls, connect_timeout, lost, one_reason
from dbplay_desktop.values import MISSING, Vector

_DEFAULT_MODEL = "all-MiniLM-L6-v2"
_GET_INCLUDE = ("metadatas", "documents")
_QUERY_INCLUDE = ("metadatas", "documents", "distances")


class _Cancelled(Exception):
    """Raised inside the session when the cancel flag is found set."""


@dataclass
class _Outcome:
    """What a call gave: rows to stream (with their columns), or a status."""

    status: str = ""
    rowcount: int = -1
    kind: ResultKind = ResultKind.ROWS
    columns: list[Column] | None = None
    rows: Iterator[list[tuple[Any, ...]]] | None = None
    records: _Records | None = None
    notices: list[str] = field(default_factory=list)


def model_name(function: Any) -> str:
    """The name of an embedding function's model, for messages."""
    if function is None:
        return "none"
    kind = type(function).__name__
    if kind in ("DefaultEmbeddingFunction", "ONNXMiniLM_L6_V2"):
        return _DEFAULT_MODEL
    for attribute in ("model_name", "MODEL_NAME", "_model_name"):
        value = getattr(function, attribute, None)
        if isinstance(value, str) and value:
            return value
    name = getattr(function, "name", None)
    if callable(name):
        try:
            return str(name())
        except Exception:
            pass
    return kind


def embedding_function_name(collection: Any) -> str:
    function = getattr(collection, "_embedding_function", None)
    if function is None:
        return "none"
    name = getattr(function, "name", None)
    try:
        return str(name()) if callable(name) else type(function).__name__
    except Exception:
        return type(function).__name__


def to_vector(embedding: Any) -> Vector:
    """A float32 vector of what Chroma returned (float32 values held in float64 arrays)."""
    import numpy as np

    return Vector.from_bytes(np.asarray(embedding, dtype=np.float32).tobytes(), "f")


class _Records:
    """Turns Chroma's column-wise answers into rows, growing the metadata columns."""

    def __init__(self, include: list[str], query: bool) -> None:
        self.query = query
        self.columns: list[Column] = [Column("id", "id", ColumnKind.ID)]
        if query:
            self.columns.append(Column("query", "int"))
            if "distances" in include:
                self.columns.append(Column("distance", "float", ColumnKind.SCALAR,
                                           ColumnRole.DISTANCE))
        self.documents = "documents" in include
        if self.documents:
            self.columns.append(Column("document", "str", ColumnKind.SCALAR,
                                       ColumnRole.DOCUMENT))
        self.uris = "uris" in include
        if self.uris:
            self.columns.append(Column("uri", "str"))
        self.metadatas = "metadatas" in include
        self.embeddings = "embeddings" in include
        self._fixed_tail = self.embeddings
        self.slots: list[tuple[str, str]] = []  # (what, metadata key) per column
        for column in self.columns:
            self.slots.append((column.name, ""))
        self.keys: set[str] = set()
        self._first = True

    def new_columns(self, metadatas: list[Any]) -> list[Column]:
        """Columns for the metadata keys not seen yet (and, the first time, the embedding)."""
        added: list[Column] = []
        for metadata in metadatas:
            for key, value in (metadata or {}).items():
                if key in self.keys:
                    continue
                self.keys.add(key)
                kind = ColumnKind.JSON if isinstance(value, (list, dict)) else ColumnKind.SCALAR
                added.append(Column(key, type(value).__name__, kind, ColumnRole.METADATA))
                self.slots.append(("metadata", key))
        if self._first:
            self._first = False
            if self.embeddings:
                # the embedding follows the first batch's metadata keys
                added.append(Column("embedding", "float32[]", ColumnKind.VECTOR,
                                    ColumnRole.EMBEDDING))
                self.slots.append(("embedding", ""))
        self.columns.extend(added)
        return added

    def rows(self, answer: dict[str, Any], positions: list[tuple[int, int]] | None = None,
             ) -> list[tuple[Any, ...]]:
        """The rows of a ``get`` answer (``positions`` None) or of a query's hits
        ``[(query, hit), ...]``."""
        rows = []
        if positions is None:
            positions = [(-1, i) for i in range(len(answer["ids"]))]
        for query, hit in positions:
            def pick(key: str, query: int = query, hit: int = hit) -> Any:
                values = answer.get(key)
                if values is None:
                    return None
                if query >= 0:
                    values = values[query]
                return values[hit]

            metadata = pick("metadatas") if self.metadatas else None
            row: list[Any] = []
            for what, key in self.slots:
                if what == "id":
                    row.append(pick("ids"))
                elif what == "query":
                    row.append(query)
                elif what == "distance":
                    row.append(float(pick("distances")))
                elif what == "document":
                    row.append(pick("documents"))
                elif what == "uri":
                    row.append(pick("uris"))
                elif what == "metadata":
                    row.append(metadata[key] if metadata and key in metadata else MISSING)
                elif what == "embedding":
                    embedding = pick("embeddings")
                    row.append(None if embedding is None else to_vector(embedding))
            rows.append(tuple(row))
        return rows


class ChromaSession(Session):
    """A client on one Chroma database (an embedded folder, or a server's database)."""

    def __init__(self, client: Any, database: str, *, in_use: Any = None, link: Any = None,
                 address: str | None = None, connect_timeout: float | None = None) -> None:
        """``link`` (a :class:`~.http_link.Link`) and ``address`` (``host:port``) are a
        server session's: the sockets a cancel may shut, the server messages name."""
        self._client = client
        self.database = database
        self._in_use = in_use
        self._cancelled = threading.Event()
        self._open: StatementResult | None = None
        self._closed = False
        self._link = link
        self.address = address
        self._link_timeout = _timeout(connect_timeout)
        self._calls = ServerCalls()
        self._lost: ConnectionLost | None = None

    @property
    def connection_lost(self) -> bool:
        return self._lost is not None

    # -- running -----------------------------------------------------------------------
    def execute(self, text: str) -> Iterator[StatementResult]:
        self._cancelled.clear()  # now, not at the first next(): a later cancel counts
        return self._execute(text)

    def _execute(self, text: str) -> Iterator[StatementResult]:
        from dbplay_desktop.engines.chroma.calls.parse import _Reader
        from dbplay_desktop.engines.chroma.calls.split import split_calls

        index = LineIndex(text)
        number = 0
        for statement in split_calls(text):
            try:
                calls = _Reader(statement, index).calls()
            except QueryError as exc:
                self._close_open()
                error: QueryError = exc
                if self._cancelled.is_set():
                    error = QueryCancelled("the statement was cancelled before it started",
                                           line=statement.line, column=statement.column)
                elif error.line is None:
                    error.line, error.column = statement.line, statement.column
                yield StatementResult(index=number, statement=statement, error=error,
                                      changes_state=False)
                return
            for call in calls:
                self._close_open()
                if self._cancelled.is_set():
                    cancelled = QueryCancelled("the statement was cancelled before it started",
                                               line=call.line, column=call.column)
                    yield StatementResult(index=number, statement=statement, error=cancelled,
                                          changes_state=False)
                    return
                if self._lost is not None:
                    gone = lost(self.address or "", f"{self._lost.reason}; reconnect to run "
                                "more", line=call.line, column=call.column)
                    yield StatementResult(index=number, statement=statement, error=gone,
                                          changes_state=False)
                    return
                result = self._run(number, call)
                number += 1
                yield result
                if result.error is not None:
                    return
        self._close_open()

    def _close_open(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def _run(self, number: int, call: ChromaCall) -> StatementResult:
        from dbplay_desktop.engines.chroma.calls.allow import changes_state

        statement = call.statement
        changes = changes_state(call)
        started = time.perf_counter()
        try:
            with self._calls.call():
                outcome = self._dispatch(call)
                first = next(outcome.rows, None) if outcome.rows is not None else None
        except Exception as exc:
            return StatementResult(index=number, statement=statement, changes_state=changes,
                                   kind=ResultKind.VECTOR_RECORDS if call.target != CLIENT
                                   else ResultKind.ROWS,
                                   error=self._error(exc, call),
                                   elapsed=time.perf_counter() - started)
        elapsed = time.perf_counter() - started
        if outcome.rows is None:
            return StatementResult(index=number, statement=statement, status=outcome.status,
                                   rowcount=outcome.rowcount, elapsed=elapsed,
                                   changes_state=changes, kind=outcome.kind,
                                   notices=outcome.notices)
        stream = _Stream(self, call, outcome, first, started)
        result = StatementResult.streaming(
            number, statement, list(outcome.columns or []), stream.batches(),
            on_close=stream.close, kind=outcome.kind, changes_state=changes,
            elapsed=elapsed, notices=outcome.notices,
        )
        stream.result = result
        self._open = result
        return result

    def _error(self, exc: BaseException, call: ChromaCall) -> EngineError:
        where = {"line": call.line, "column": call.column}
        if self.address is not None and _network(exc):
            reason = self._calls.cut_reason or one_reason(error_message(exc) or str(exc))
            reason = reason.removeprefix("cannot reach the Chroma server: ")
            error = lost(self.address, reason or type(exc).__name__, **where)
            if self._lost is None:
                self._lost = error
            return error
        if isinstance(exc, _Cancelled) or (self._cancelled.is_set()
                                            and not isinstance(exc, QueryError)):
            return QueryCancelled("the statement was cancelled", **where)
        if isinstance(exc, QueryError):
            if exc.line is None:
                exc.line, exc.column = call.line, call.column
            return exc
        if isinstance(exc, EngineError):
            return QueryError(str(exc), **where)
        message = error_message(exc) or one_line(str(exc)) or type(exc).__name__
        return QueryError(f"{call.method}(): {message}", code_name="Chroma", **where)

    def _check(self) -> None:
        if self._cancelled.is_set():
            raise _Cancelled()

    # -- the calls ---------------------------------------------------------------------
    def _arguments(self, call: ChromaCall) -> dict[str, Any]:
        from dbplay_desktop.engines.chroma.calls.allow import methods

        spec = methods(call.target)[call.method]
        kwargs = dict(zip(spec.positional, call.args, strict=False))
        kwargs.update(call.kwargs)
        return kwargs

    def _dispatch(self, call: ChromaCall) -> _Outcome:
        kwargs = self._arguments(call)
        if call.target == CLIENT:
            return self._client_method(call.method, kwargs)
        collection = self._collection(call.collection or "")
        return self._collection_method(collection, call.method, kwargs)

    def _collection(self, name: str) -> Any:
        return self._client.get_collection(name)

    def _client_method(self, method: str, kwargs: dict[str, Any]) -> _Outcome:
        client = self._client
        if method == "list_collections":
            collections = client.list_collections(limit=kwargs.get("limit"),
                                                  offset=kwargs.get("offset"))
            rows = [(c.name, c.metadata) for c in collections]
            columns = [Column("name", "str"), Column("metadata", "dict", ColumnKind.JSON)]
            return self._rows(columns, rows, "collection")
        if method == "count_collections":
            return self._rows([Column("count", "int")], [(client.count_collections(),)],
                              "row")
        if method in ("create_collection", "get_or_create_collection"):
            options: dict[str, Any] = {}
            if kwargs.get("metadata") is not None:
                options["metadata"] = kwargs["metadata"]
            if kwargs.get("configuration") is not None:
                options["configuration"] = kwargs["configuration"]
            name = kwargs["name"]
            if method == "get_or_create_collection":
                client.get_or_create_collection(name, **options)
                return _Outcome(status=f"collection {name} ready")
            client.create_collection(name, get_or_create=bool(kwargs.get("get_or_create")),
                                     **options)
            return _Outcome(status=f"created collection {name}")
        if method == "get_collection":
            collection = self._collection(kwargs["name"])
            row = (collection.name, str(collection.id), collection.count(),
                   collection.metadata, _configuration(collection))
            columns = [Column("name", "str"), Column("id", "str", ColumnKind.ID),
                       Column("count", "int"), Column("metadata", "dict", ColumnKind.JSON),
                       Column("configuration", "dict", ColumnKind.JSON)]
            return self._rows(columns, [row], "collection")
        if method == "delete_collection":
            client.delete_collection(kwargs["name"])
            return _Outcome(status=f"deleted collection {kwargs['name']}")
        if method == "heartbeat":
            return self._rows([Column("heartbeat", "int")], [(client.heartbeat(),)], "row")
        if method == "get_version":
            return self._rows([Column("version", "str")], [(client.get_version(),)], "row")
        raise QueryError(f"{method}() is not supported")

    def _rows(self, columns: list[Column], rows: list[tuple[Any, ...]], noun: str) -> _Outcome:
        size = max(1, self.batch_size)
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        plural = noun if len(rows) == 1 else noun + "s"
        return _Outcome(columns=columns, rows=iter(chunks), status=f"{len(rows)} {plural}",
                        rowcount=len(rows))

    def _embed(self, collection: Any, texts: list[str], what: str) -> Any:
        """``texts`` embedded by the collection's own function, or one clear line."""
        from dbplay_desktop.engines.chroma.engine import MODEL_DIR_ENV, apply_model_dir

        function = getattr(collection, "_embedding_function", None)
        if function is None:
            raise QueryError(f"{what} needs an embedding function, and collection "
                             f"{collection.name} has none: pass the embeddings")
        apply_model_dir()
        try:
            return function(input=texts)
        except Exception as exc:
            raise QueryError(
                f"{what} needs the embedding model ({model_name(function)}), which could not "
                "be loaded: offline? Use query_embeddings=[...] or put the model in "
                f"{MODEL_DIR_ENV}", detail=one_line(str(exc))[:200] or type(exc).__name__,
            ) from exc

    def _collection_method(self, collection: Any, method: str,
                           kwargs: dict[str, Any]) -> _Outcome:
        if method in ("add", "upsert", "update"):
            return self._write(collection, method, kwargs)
        if method == "delete":
            before = collection.count()
            collection.delete(ids=kwargs.get("ids"), where=kwargs.get("where"),
                              where_document=kwargs.get("where_document"))
            gone = max(0, before - collection.count())
            return _Outcome(status=f"deleted {gone} record{'' if gone == 1 else 's'}",
                            rowcount=gone, kind=ResultKind.VECTOR_RECORDS)
        if method == "count":
            return self._rows([Column("count", "int")], [(collection.count(),)], "row")
        if method == "modify":
            options = {k: kwargs[k] for k in ("name", "metadata", "configuration")
                       if kwargs.get(k) is not None}
            name = collection.name
            collection.modify(**options)
            return _Outcome(status=f"modified collection {name}")
        if method == "get":
            return self._get(collection, kwargs)
        if method == "peek":
            limit = kwargs.get("limit", 10)
            return self._get(collection, {"limit": limit,
                                          "include": ["metadatas", "documents", "embeddings"]})
        if method == "query":
            return self._query(collection, kwargs)
        raise QueryError(f"{method}() is not supported")

    def _write(self, collection: Any, method: str, kwargs: dict[str, Any]) -> _Outcome:
        ids = kwargs["ids"]
        ids = [ids] if isinstance(ids, str) else list(ids)
        records = {key: kwargs[key] for key in ("embeddings", "metadatas", "documents", "uris")
                   if kwargs.get(key) is not None}
        if isinstance(records.get("documents"), str):
            records["documents"] = [records["documents"]]
        if isinstance(records.get("metadatas"), dict):
            records["metadatas"] = [records["metadatas"]]
        documents = records.get("documents")
        if documents is not None and "embeddings" not in records and method != "update":
            if any(d is None for d in documents):
                raise QueryError(f"{method}(): a record without a document needs embeddings=")
            records["embeddings"] = self._embed(collection, list(documents), "documents")
        elif documents is not None and "embeddings" not in records:
            records["embeddings"] = self._embed(collection, list(documents), "documents")
        largest = max(1, _max_batch(self._client))
        run = getattr(collection, method)
        done = 0
        for start in range(0, len(ids), largest):
            if start:
                self._check()
            chunk = {key: list(values[start:start + largest])
                     for key, values in records.items()}
            run(ids=ids[start:start + largest], **chunk)
            done = min(len(ids), start + largest)
        verb = {"add": "added", "upsert": "upserted", "update": "updated"}[method]
        return _Outcome(status=f"{verb} {done} record{'' if done == 1 else 's'}",
                        rowcount=done, kind=ResultKind.VECTOR_RECORDS)

    def _get(self, collection: Any, kwargs: dict[str, Any]) -> _Outcome:
        include = list(_GET_INCLUDE if kwargs.get("include") is None else kwargs["include"])
        include = [word for word in include if word != "distances"]
        records = _Records(include, query=False)
        base = {key: kwargs[key] for key in ("ids", "where", "where_document")
                if kwargs.get(key) is not None}
        if isinstance(base.get("ids"), str):
            base["ids"] = [base["ids"]]
        limit = kwargs.get("limit")
        offset = kwargs.get("offset") or 0
        session = self

        def pages() -> Iterator[list[tuple[Any, ...]]]:
            fetched = 0
            while True:
                size = max(1, session.batch_size)
                if limit is not None:
                    size = min(size, limit - fetched)
                    if size <= 0:
                        return
                if fetched:
                    session._check()
                answer = collection.get(limit=size, offset=offset + fetched,
                                        include=include, **base)
                count = len(answer["ids"])
                if count == 0 and fetched:
                    return
                added = records.new_columns(answer.get("metadatas") or [])
                if added and fetched:
                    stream = session._streaming
                    if stream is not None:
                        stream.result.add_columns(added)
                fetched += count
                yield records.rows(answer)
                if count < size:
                    return

        return _Outcome(kind=ResultKind.VECTOR_RECORDS, columns=records.columns,
                        rows=pages(), records=records)

    def _query(self, collection: Any, kwargs: dict[str, Any]) -> _Outcome:
        include = list(_QUERY_INCLUDE if kwargs.get("include") is None
                       else kwargs["include"])
        options = {key: kwargs[key] for key in ("where", "where_document", "n_results")
                   if kwargs.get(key) is not None}
        embeddings = kwargs.get("query_embeddings")
        if embeddings is None:
            texts = kwargs["query_texts"]
            texts = [texts] if isinstance(texts, str) else list(texts)
            embeddings = self._embed(collection, texts, "query_texts")
        elif embeddings and not isinstance(embeddings[0], (list, tuple)):
            embeddings = [embeddings]
        answer = collection.query(query_embeddings=embeddings, include=include, **options)
        records = _Records(include, query=True)
        positions = [(q, h) for q, hits in enumerate(answer["ids"]) for h in range(len(hits))]
        session = self

        def chunks() -> Iterator[list[tuple[Any, ...]]]:
            size = max(1, session.batch_size)
            for start in range(0, len(positions), size):
                if start:
                    session._check()
                part = positions[start:start + size]
                metadatas = answer.get("metadatas")
                seen = [metadatas[q][h] for q, h in part] if metadatas is not None else []
                added = records.new_columns(seen)
                if added and start:
                    stream = session._streaming
                    if stream is not None:
                        stream.result.add_columns(added)
                yield records.rows(answer, part)
            if not positions:
                records.new_columns([])
                yield []

        return _Outcome(kind=ResultKind.VECTOR_RECORDS, columns=records.columns,
                        rows=chunks(), records=records)

    _streaming: _Stream | None = None

    # -- the rest of the contract --------------------------------------------------------
    def cancel(self) -> None:
        """Stop at the next check; on a server, shut the link of a call that still waits
        for its answer one connection timeout later."""
        self._cancelled.set()
        if self._link is not None and self._calls.busy and not self._closed:
            self._calls.escalate(self._link_timeout, self._link.cut)

    def catalog(self) -> list[CatalogItem]:
        from dbplay_desktop.engines.chroma.catalog import read_catalog

        if self._lost is not None:
            raise lost(self.address or "", f"{self._lost.reason}; reconnect to read the "
                       "catalog")
        try:
            return read_catalog(self._client)
        except EngineError:
            raise
        except Exception as exc:
            if self.address is not None and _network(exc):
                raise lost(self.address, one_reason(error_message(exc) or str(exc))) from exc
            message = error_message(exc) or one_line(str(exc)) or type(exc).__name__
            raise QueryError(f"cannot read the catalog: {message}") from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._lost is not None and self._link is not None:
            self._link.cut()  # nothing more to say to a server that is gone
        try:
            self._close_open()
        except Exception:
            pass
        try:
            self._client.close()
        except Exception:
            pass
        if self._in_use is not None:
            self._in_use.close()
            self._in_use = None


def _timeout(value: float | None) -> float:
    try:
        return connect_timeout(value)
    except EngineError:
        return connect_timeout(10.0)


def _network(exc: BaseException) -> bool:
    """Whether ``exc`` is the HTTP client's network failure (not the server's answer)."""
    module = type(exc).__module__ or ""
    if not (module.startswith("httpx") or module.startswith("httpcore")):
        return False
    import httpx

    return isinstance(exc, httpx.TransportError)


def _configuration(collection: Any) -> Any:
    try:
        configuration = collection.configuration_json
    except Exception:
        return None
    return configuration


def _max_batch(client: Any) -> int:
    try:
        return int(client.get_max_batch_size())
    except Exception:
        return 1000


class _Stream:
    """Hands a call's row batches on, checking for a cancel between them."""

    def __init__(self, session: ChromaSession, call: ChromaCall, outcome: _Outcome,
                 first: list[tuple[Any, ...]] | None, started: float) -> None:
        self.session = session
        self.call = call
        self.outcome = outcome
        self.first = first
        self.started = started
        self.result: StatementResult = None  # type: ignore[assignment]
        self.fetched = 0
        self.exhausted = False
        self.closed = False

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        session = self.session
        rows = self.outcome.rows
        assert rows is not None
        batch = self.first
        self.first = None
        while not self.closed:
            if batch is None:
                self.exhausted = True
                return
            if batch:
                self.fetched += len(batch)
                yield batch
            session._streaming = self
            try:
                with session._calls.call():
                    batch = next(rows, None)
            except Exception as exc:
                error = session._error(exc, self.call)
                self.result.error = error
                self.close()
                raise error from None
            finally:
                session._streaming = None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        rows = self.outcome.rows
        close = getattr(rows, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:
                pass
        session = self.session
        if session._open is self.result:
            session._open = None
        outcome = self.outcome
        if outcome.rowcount >= 0:
            self.result.rowcount = outcome.rowcount
        else:
            self.result.rowcount = self.fetched if self.exhausted else -1
        if outcome.status:
            self.result.status = outcome.status
        elif self.exhausted:
            self.result.status = f"{self.fetched} record{'' if self.fetched == 1 else 's'}"
        self.result.elapsed = time.perf_counter() - self.started
