"""A MongoDB session: mongosh commands run through pymongo, documents streamed in batches.

Each statement is cut by the shell splitter and parsed on its own (so an error in
statement 3 comes after the results of 1 and 2), then run as the pymongo call its
method names. Only the methods of the allow-list (:mod:`.shell.allow`) reach this
module; ``runCommand`` is checked again here against :data:`RUN_COMMANDS`.

Results: cursors (find, aggregate, getIndexes, runCommand's find/aggregate/list*) are
:attr:`ResultKind.DOCUMENTS` whose columns are the top-level fields in the order they are
first seen (``_id`` first), appended with :meth:`StatementResult.add_columns` as later
batches bring new ones; absent fields are :data:`~dbplay_desktop.values.MISSING`. Only one
batch (``batch_size`` documents) is ever held. Writes give a one-row summary
(acknowledged, inserted ids, matched/modified/upserted/deleted counts) with a status and
row count; counts, distinct values and stats are rows too.

**Cancel.** Every operation carries a ``comment`` unique to it, and the session's client
an ``appname`` unique to the session (``dbplay/<database>/<hex>``). ``cancel()`` (any
thread) looks the operation up with ``currentOp`` -- by its comment (mongod), or by the
session's appname (servers whose ``currentOp`` does not show comments, such as SecantusDB)
-- and ``killOp``\\ s it; the statement then fails and, the cancel flag being set, is
reported as :class:`QueryCancelled`. Reads and writes are never retried by the driver,
so a killed operation is not sent again. SecantusDB's ``killOp`` closes the connection
(the server finishes the command in the background); a statement timeout
(``maxTimeMS``, via pymongo's client-side timeout) is the server's own stop there.

**A lost connection.** A network error that no cancel caused (a reset link, a server that
went away, one that cannot be reached within the connection timeout) ends the statement
with a :class:`~dbplay_desktop.errors.ConnectionLost` naming ``host:port``, and
:attr:`connection_lost` stays True. The ``currentOp``/``killOp`` of a cancel waits at
most the connection timeout (:mod:`dbplay_desktop.engines.link`), and so does the wait
for the statement to stop after it; a statement still running then has its connections
interrupted (pymongo's own in-use connection cancel), which ends it as a lost connection.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pymongo
from pymongo import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    MongoClient,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
)
from pymongo.errors import (
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    ColumnKind,
    ConnectionLost,
    EngineError,
    LineIndex,
    QueryCancelled,
    QueryError,
    ResultKind,
    Session,
    StatementResult,
)
from dbplay_desktop.engines.link import (
    ServerCalls,
    connect_timeout,
    lost,
    one_reason,
    refused_after_loss,
)
from dbplay_desktop.engines.mongo.errors import error_message
from dbplay_desktop.engines.mongo.shell.commands import COLLECTION, DATABASE, Call, ShellCommand
from dbplay_desktop.engines.mongo.values import tag
from dbplay_desktop.values import MISSING

#: The database where the engine remembers its sandboxes (never shown as a user's).
REGISTRY_DATABASE = "dbplay_registry"
#: ``db.runCommand`` may run these (and only on this database).
RUN_COMMANDS = frozenset({
    "ping", "buildInfo", "buildinfo", "hello", "isMaster", "ismaster", "connectionStatus",
    "listCommands", "listCollections", "listIndexes", "collStats", "dbStats", "dataSize",
    "count", "distinct", "find", "aggregate", "insert", "update", "delete", "findAndModify",
    "create", "drop", "createIndexes", "dropIndexes", "collMod", "validate", "explain",
    "convertToCapped", "dropDatabase", "getMore", "killCursors",
})
#: Commands whose answer is a cursor, streamed like a find.
CURSOR_COMMANDS = frozenset({"find", "aggregate", "listCollections", "listIndexes"})
#: Keys of a command's answer that are the server's bookkeeping, not the answer.
_BOOKKEEPING = frozenset({"$clusterTime", "operationTime", "$gleStats", "lastCommittedOpId",
                          "electionId", "$configServerState", "$topologyTime"})
#: Operations of ``currentOp`` that are never the statement being cancelled.
_NOT_STATEMENTS = frozenset({"hello", "ismaster", "isMaster", "currentOp", "killOp", "none",
                             "endSessions", "ping", "buildInfo", "buildinfo"})

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def client_options() -> dict[str, Any]:
    """What every dbplay MongoClient is made with (the connection timeout: the setting)."""
    millis = max(1, round(connect_timeout() * 1000))
    return {
        "serverSelectionTimeoutMS": millis,
        "connectTimeoutMS": millis,
        "uuidRepresentation": "standard",
        "tz_aware": True,
        "retryReads": False,  # a killed read must not be sent again
        "retryWrites": False,
        "datetime_conversion": "DATETIME_AUTO",
        "tzinfo": _dt.timezone.utc,
    }


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


def _pairs(spec: Any) -> Any:
    """A sort or hint spec as pymongo takes it (a list of pairs keeps its order)."""
    if isinstance(spec, Mapping):
        return list(spec.items())
    return spec


class _Refused(Exception):
    """A call this session will not run; ``call`` is where to put the error."""

    def __init__(self, message: str, call: Call | None = None) -> None:
        super().__init__(message)
        self.call = call


class _Outcome:
    """What running a command gave: documents to stream, or a status without rows."""

    def __init__(self, *, documents: Iterator[Any] | None = None, close: Callable[[], None]
                 | None = None, status: str = "", rowcount: int = -1,
                 first: list[Any] | None = None, verb: str = "") -> None:
        self.documents = documents
        self.close = close
        self.status = status
        self.rowcount = rowcount
        self.first = first
        self.verb = verb
        self.comment: str | None = None


class MongoSession(Session):
    """One database, one MongoClient (its own connection pool), one statement at a time."""

    def __init__(self, uri: str, database: str, *, statement_timeout: float | None = None,
                 client: MongoClient | None = None) -> None:
        self.database = database
        self.appname = f"dbplay/{database}/{secrets.token_hex(4)}"[:120]
        self._tag = secrets.token_hex(6)
        self._counter = itertools.count(1)
        self._own_client = client is None
        self._client: MongoClient = client or MongoClient(
            uri, appname=self.appname, **client_options())
        self._db = self._client[database]
        self._timeout = statement_timeout or None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._running: str | None = None  # the comment of the operation on the server
        self._open: StatementResult | None = None
        self._closed = False
        self._calls = ServerCalls()
        self._lost: ConnectionLost | None = None
        self._link_timeout = connect_timeout()
        self.address = _address(uri)

    @property
    def connection_lost(self) -> bool:
        return self._lost is not None

    # -- settings ----------------------------------------------------------------------
    def set_timeout(self, seconds: float | None) -> None:
        self._timeout = seconds or None

    def _limit(self, extra_ms: int | None = None) -> AbstractContextManager[Any]:
        """The statement timeout for one server round trip (each batch gets all of it)."""
        seconds = self._timeout
        if extra_ms:
            seconds = min(seconds, extra_ms / 1000) if seconds else extra_ms / 1000
        return pymongo.timeout(seconds) if seconds else nullcontext()

    # -- running -----------------------------------------------------------------------
    def execute(self, text: str) -> Iterator[StatementResult]:
        self._cancelled.clear()  # now, not at the first next(): a later cancel counts
        return self._execute(text)

    def _execute(self, text: str) -> Iterator[StatementResult]:
        from dbplay_desktop.engines.mongo.shell.parse import parse_piece
        from dbplay_desktop.engines.mongo.shell.split import split_pieces

        index = LineIndex(text)
        for number, piece in enumerate(split_pieces(text)):
            self._close_open()
            statement = piece.statement
            if self._cancelled.is_set():
                error = QueryCancelled("the statement was cancelled before it started",
                                       line=statement.line, column=statement.column)
                yield StatementResult(index=number, statement=statement, error=error,
                                      changes_state=False)
                return
            if self._lost is not None:
                yield refused_after_loss(self.address, self._lost, number, statement)
                return
            try:
                command = parse_piece(piece, index)
            except QueryError as exc:
                if exc.line is None:
                    exc.line, exc.column = statement.line, statement.column
                yield StatementResult(index=number, statement=statement, error=exc,
                                      changes_state=False)
                return
            result = self._run(number, command)
            yield result
            if result.error is not None:
                return
        self._close_open()

    def _changes(self, command: ShellCommand) -> bool:
        from dbplay_desktop.engines.mongo.shell.allow import changes_state

        return changes_state(command)

    def _run(self, number: int, command: ShellCommand) -> StatementResult:
        statement = command.statement
        changes = self._changes(command)
        started = time.perf_counter()
        try:
            with self._calls.call():
                outcome = self._dispatch(command)
                outcome.comment = self._running
                first = outcome.first
                if outcome.documents is not None and first is None:
                    first = self._next_batch(outcome.documents)
        except (PyMongoError, _Refused, QueryError) as exc:
            result = StatementResult(index=number, statement=statement, changes_state=changes,
                                     kind=ResultKind.DOCUMENTS)
            result.error = self._error(exc, command)
            result.elapsed = time.perf_counter() - started
            return result
        finally:
            self._running = None
        elapsed = time.perf_counter() - started
        if outcome.documents is None:
            return StatementResult(index=number, statement=statement, status=outcome.status,
                                   rowcount=outcome.rowcount, elapsed=elapsed,
                                   changes_state=changes, kind=ResultKind.DOCUMENTS)
        stream = _Stream(self, command, outcome, first or [], started)
        result = StatementResult.streaming(
            number, statement, stream.columns, stream.batches(), on_close=stream.close,
            kind=ResultKind.DOCUMENTS, changes_state=changes, elapsed=elapsed,
        )
        stream.result = result
        self._open = result
        return result

    def _next_batch(self, documents: Iterator[Any]) -> list[Any]:
        """Up to ``batch_size`` documents, under the statement timeout."""
        batch: list[Any] = []
        size = max(1, self.batch_size)
        with self._limit():
            for document in documents:
                batch.append(document)
                if len(batch) >= size:
                    break
        return batch

    def _close_open(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def _comment(self) -> str:
        comment = f"dbplay:{self._tag}:{next(self._counter)}"
        self._running = comment
        return comment

    def _error(self, exc: BaseException, command: ShellCommand) -> EngineError:
        call = command.calls[0]
        if isinstance(exc, _Refused) and exc.call is not None:
            call = exc.call
        if isinstance(exc, QueryError):
            if exc.line is None:
                exc.line, exc.column = call.line, call.column
            return exc
        where = {"line": call.line, "column": call.column}
        if self._calls.cut_reason is not None and isinstance(exc, ConnectionFailure):
            return self._mark_lost(self._calls.cut_reason, **where)
        if self._cancelled.is_set():
            # SecantusDB's killOp closes the connection: a cancel, not a lost server.
            return QueryCancelled("the statement was cancelled", **where)
        if isinstance(exc, ServerSelectionTimeoutError):
            return self._mark_lost("the server did not answer within "
                                   f"{self._link_timeout:g} s", **where)
        if isinstance(exc, ConnectionFailure) and not (exc.timeout and self._timeout):
            return self._mark_lost(_network_reason(exc), **where)
        if isinstance(exc, PyMongoError) and exc.timeout:
            limit = f" than {self._timeout:g} s" if self._timeout else ""
            return QueryCancelled(f"statement timeout: the statement ran longer{limit}",
                                  code="50", code_name="MongoDB", **where)
        if isinstance(exc, _Refused):
            return QueryError(str(exc), **where)
        message = error_message(exc) or str(exc)
        code = None
        if isinstance(exc, OperationFailure) and exc.code is not None:
            code = str(exc.code)
        return QueryError(message, code=code, code_name="MongoDB", **where)

    def _mark_lost(self, reason: str, **where: Any) -> ConnectionLost:
        error = lost(self.address, reason, **where)
        if self._lost is None:
            self._lost = error
        return error

    # -- the commands ------------------------------------------------------------------
    def _dispatch(self, command: ShellCommand) -> _Outcome:
        if command.target == COLLECTION:
            return self._collection_method(command)
        if command.target == DATABASE:
            return self._database_method(command)
        return self._show(command)

    def _show(self, command: ShellCommand) -> _Outcome:
        word = command.method
        if word in ("collections", "tables"):
            names = sorted(self._db.list_collection_names(comment=self._comment()))
            return _rows(({"name": name} for name in names), verb="collections")
        if word in ("dbs", "databases"):
            listing = self._client.list_databases(comment=self._comment(),
                                                  authorizedDatabases=True)
            return _rows(({"name": d["name"], "sizeOnDisk": d.get("sizeOnDisk"),
                           "empty": d.get("empty")} for d in listing
                          if d["name"] != REGISTRY_DATABASE), verb="databases")
        raise _Refused(f"show {word} is not supported")

    def _database_method(self, command: ShellCommand) -> _Outcome:
        call = command.calls[0]
        method, args = call.name, call.args
        db = self._db
        if method == "createCollection":
            options = dict(args[1]) if len(args) > 1 else {}
            db.create_collection(args[0], comment=self._comment(), check_exists=False,
                                 **options)
            return _Outcome(status=f"created collection {args[0]}")
        if method == "createView":
            options = dict(args[3]) if len(args) > 3 else {}
            db.create_collection(args[0], viewOn=args[1], pipeline=list(args[2]),
                                 comment=self._comment(), check_exists=False, **options)
            return _Outcome(status=f"created view {args[0]}")
        if method == "getCollectionNames":
            names = sorted(db.list_collection_names(comment=self._comment()))
            return _rows(({"name": name} for name in names), verb="collections")
        if method == "getCollectionInfos":
            flt = args[0] if args else None
            options = dict(args[1]) if len(args) > 1 else {}
            options.pop("nameOnly", None)
            cursor = db.list_collections(filter=flt, comment=self._comment(), **options)
            return _cursor(cursor)
        if method == "stats":
            body = {"dbStats": 1, **_scale(args)}
            return _rows([_answer(db.command(body, comment=self._comment()))], verb="stats")
        if method == "dropDatabase":
            self._client.drop_database(self.database, comment=self._comment())
            return _Outcome(status=f"dropped database {self.database}")
        if method == "runCommand":
            return self._run_command(call)
        raise _Refused(f"db.{method}() is not supported", call)

    def _run_command(self, call: Call) -> _Outcome:
        body = call.args[0]
        if isinstance(body, str):
            body = {body: 1}
        if not isinstance(body, Mapping) or not body:
            raise _Refused("db.runCommand() needs a command ({name: ...})", call)
        name = next(iter(body))
        if name not in RUN_COMMANDS:
            raise _Refused(f"db.runCommand({{{name}: ...}}) is not allowed in a playground",
                           call)
        if any(key in body for key in ("$db", "$readPreference", "lsid", "txnNumber")):
            raise _Refused("db.runCommand() may not name another database or session", call)
        body = dict(body)
        body.setdefault("comment", self._comment())
        if name in CURSOR_COMMANDS:
            if name in ("find", "aggregate", "listCollections", "listIndexes"):
                cursor_spec = dict(body.get("cursor") or {})
                cursor_spec.setdefault("batchSize", max(1, self.batch_size))
                if name != "find":
                    body["cursor"] = cursor_spec
                else:
                    body.setdefault("batchSize", cursor_spec["batchSize"])
            with self._limit(body.get("maxTimeMS")):
                if self._timeout:
                    body.pop("maxTimeMS", None)
                cursor = self._db.cursor_command(body, batch_size=max(1, self.batch_size))
            return _cursor(cursor)
        with self._limit(body.get("maxTimeMS")):
            if self._timeout:
                body.pop("maxTimeMS", None)
            answer = self._db.command(body)
        return _rows([_answer(answer)], verb=name)

    def _collection_method(self, command: ShellCommand) -> _Outcome:
        call = command.calls[0]
        method, args = call.name, call.args
        coll = self._db[command.collection or ""]
        handler = getattr(self, "_m_" + method, None)
        if handler is None:
            raise _Refused(f"{method}() is not supported", call)
        with self._limit(_chain_max_time(command)):
            return handler(coll, args, command)

    # reads
    def _m_find(self, coll: Any, args: tuple[Any, ...], command: ShellCommand) -> _Outcome:
        flt = args[0] if args else {}
        options = _find_options(args[2] if len(args) > 2 else {}, command.calls[0])
        if len(args) > 1 and args[1] is not None:
            options["projection"] = args[1]
        terminal = None
        for link in command.chain:
            name, link_args = link.name, link.args
            if name == "sort":
                options["sort"] = _pairs(link_args[0])
            elif name in ("limit", "skip"):
                options[name] = int(link_args[0])
            elif name == "hint":
                options["hint"] = _pairs(link_args[0])
            elif name == "collation":
                options["collation"] = link_args[0]
            elif name == "maxTimeMS":
                if not self._timeout:
                    options["max_time_ms"] = int(link_args[0])
            elif name in ("count", "explain"):
                terminal = link
            elif name in ("pretty", "toArray"):
                pass
            else:
                raise _Refused(f".{name}() is not supported after find()", link)
        if self._timeout:
            options.pop("max_time_ms", None)
        if terminal is not None and terminal.name == "count":
            count_options = {k: options[k] for k in ("hint", "collation", "max_time_ms")
                             if k in options}
            if terminal.args and terminal.args[0]:
                count_options.update({k: options[k] for k in ("skip", "limit")
                                      if options.get(k)})
            count_options = {("maxTimeMS" if k == "max_time_ms" else k): v
                             for k, v in count_options.items()}
            count = coll.count_documents(flt, comment=self._comment(), **count_options)
            return _rows([{"count": count}], verb="count")
        if terminal is not None:
            body: dict[str, Any] = {"find": coll.name, "filter": flt}
            for key, value in options.items():
                if key == "sort":
                    body["sort"] = dict(value)
                elif key == "hint":
                    body["hint"] = dict(value) if isinstance(value, list) else value
                elif key == "max_time_ms":
                    body["maxTimeMS"] = value
                else:
                    body[_camel(key)] = value
            return self._explain(body, terminal)
        cursor = coll.find(flt, batch_size=max(1, self.batch_size), comment=self._comment(),
                           **options)
        return _cursor(cursor, verb="find")

    def _explain(self, body: dict[str, Any], link: Call) -> _Outcome:
        verbosity = "queryPlanner"
        if link.args:
            value = link.args[0]
            if value is True:
                verbosity = "allPlansExecution"
            elif isinstance(value, str):
                verbosity = value
        answer = self._db.command("explain", body, verbosity=verbosity,
                                  comment=self._comment())
        return _rows([_answer(answer)], verb="explain")

    def _m_findOne(self, coll: Any, args: tuple[Any, ...], command: ShellCommand) -> _Outcome:
        flt = args[0] if args else {}
        options = _find_options(args[2] if len(args) > 2 else {}, command.calls[0])
        if len(args) > 1 and args[1] is not None:
            options["projection"] = args[1]
        if self._timeout:
            options.pop("max_time_ms", None)
        document = coll.find_one(flt, comment=self._comment(), **options)
        return _rows([] if document is None else [document], verb="findOne")

    def _m_aggregate(self, coll: Any, args: tuple[Any, ...],
                     command: ShellCommand) -> _Outcome:
        pipeline = list(args[0]) if args else []
        options = dict(args[1]) if len(args) > 1 else {}
        options.pop("cursor", None)
        options.pop("batchSize", None)
        explain = None
        for link in command.chain:
            if link.name == "explain":
                explain = link
            elif link.name == "maxTimeMS":
                options["maxTimeMS"] = int(link.args[0])
        if self._timeout:
            options.pop("maxTimeMS", None)
        if explain is not None:
            body = {"aggregate": coll.name, "pipeline": pipeline, "cursor": {}, **options}
            return self._explain(body, explain)
        cursor = coll.aggregate(pipeline, batchSize=max(1, self.batch_size),
                                comment=self._comment(), **options)
        return _cursor(cursor, verb="aggregate")

    def _m_countDocuments(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        options = self._counted_options(args[1] if len(args) > 1 else {})
        count = coll.count_documents(args[0] if args else {}, comment=self._comment(),
                                     **options)
        return _rows([{"count": count}], verb="count")

    _m_count = _m_countDocuments

    def _m_estimatedDocumentCount(self, coll: Any, args: tuple[Any, ...],
                                  _c: ShellCommand) -> _Outcome:
        options = self._counted_options(args[0] if args else {})
        count = coll.estimated_document_count(comment=self._comment(), **options)
        return _rows([{"count": count}], verb="count")

    def _counted_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(options)
        if "hint" in options:
            options["hint"] = _pairs(options["hint"])
        if self._timeout:
            options.pop("maxTimeMS", None)
        return options

    def _m_distinct(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        options = self._counted_options(args[2] if len(args) > 2 else {})
        values = coll.distinct(args[0], args[1] if len(args) > 1 else None,
                               comment=self._comment(), **options)
        return _rows(({str(args[0]): value} for value in values), verb="distinct")

    # writes
    def _m_insertOne(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        document = dict(args[0])
        opts = _write_options(args[1] if len(args) > 1 else {})
        done = coll.insert_one(document, comment=self._comment(), **opts)
        return _summary({"acknowledged": done.acknowledged, "insertedId": done.inserted_id},
                        1, "inserted 1 document")

    def _m_insertMany(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        documents = [dict(d) for d in args[0]]
        opts = _write_options(args[1] if len(args) > 1 else {})
        if not documents:
            return _summary({"acknowledged": True, "insertedIds": []}, 0,
                            "inserted 0 documents")
        done = coll.insert_many(documents, comment=self._comment(), **opts)
        count = len(done.inserted_ids)
        return _summary({"acknowledged": done.acknowledged, "insertedIds": done.inserted_ids},
                        count, f"inserted {count} document{'s' if count != 1 else ''}")

    def _m_insert(self, coll: Any, args: tuple[Any, ...], c: ShellCommand) -> _Outcome:
        if isinstance(args[0], list):
            return self._m_insertMany(coll, args, c)
        return self._m_insertOne(coll, args, c)

    def _update(self, coll: Any, args: tuple[Any, ...], many: bool) -> _Outcome:
        opts = _write_options(args[2] if len(args) > 2 else {})
        method = coll.update_many if many else coll.update_one
        update = list(args[1]) if isinstance(args[1], list) else args[1]
        done = method(args[0], update, comment=self._comment(), **opts)
        return _update_summary(done)

    def _m_updateOne(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        return self._update(coll, args, many=False)

    def _m_updateMany(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        return self._update(coll, args, many=True)

    def _m_replaceOne(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        opts = _write_options(args[2] if len(args) > 2 else {})
        done = coll.replace_one(args[0], args[1], comment=self._comment(), **opts)
        return _update_summary(done)

    def _m_update(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        options = dict(args[2]) if len(args) > 2 else {}
        multi = bool(options.pop("multi", False))
        update = args[1]
        is_operators = isinstance(update, list) or (
            isinstance(update, Mapping) and any(str(k).startswith("$") for k in update))
        if not is_operators:
            opts = _write_options(options)
            done = coll.replace_one(args[0], update, comment=self._comment(), **opts)
            return _update_summary(done)
        return self._update(coll, (args[0], update, options), many=multi)

    def _m_deleteOne(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        opts = _write_options(args[1] if len(args) > 1 else {})
        return _delete_summary(coll.delete_one(args[0], comment=self._comment(), **opts))

    def _m_deleteMany(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        opts = _write_options(args[1] if len(args) > 1 else {})
        return _delete_summary(coll.delete_many(args[0], comment=self._comment(), **opts))

    def _m_remove(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        just_one = False
        options: dict[str, Any] = {}
        if len(args) > 1:
            if isinstance(args[1], bool):
                just_one = args[1]
            else:
                options = dict(args[1])
                just_one = bool(options.pop("justOne", False))
        opts = _write_options(options)
        method = coll.delete_one if just_one else coll.delete_many
        return _delete_summary(method(args[0], comment=self._comment(), **opts))

    def _find_and(self, coll: Any, args: tuple[Any, ...], kind: str) -> _Outcome:
        options_index = 1 if kind == "delete" else 2
        options = dict(args[options_index]) if len(args) > options_index else {}
        after = options.pop("returnNewDocument", None)
        returned = options.pop("returnDocument", None)
        if "sort" in options:
            options["sort"] = _pairs(options["sort"])
        opts = _write_options(options)
        comment = self._comment()
        if kind == "delete":
            document = coll.find_one_and_delete(args[0], comment=comment, **opts)
        else:
            direction = ReturnDocument.AFTER if (after or returned == "after") \
                else ReturnDocument.BEFORE
            method = coll.find_one_and_update if kind == "update" else \
                coll.find_one_and_replace
            second = list(args[1]) if isinstance(args[1], list) else args[1]
            document = method(args[0], second, return_document=direction, comment=comment,
                              **opts)
        outcome = _rows([] if document is None else [document], verb="findAndModify")
        return outcome

    def _m_findOneAndUpdate(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        return self._find_and(coll, args, "update")

    def _m_findOneAndReplace(self, coll: Any, args: tuple[Any, ...],
                             _c: ShellCommand) -> _Outcome:
        return self._find_and(coll, args, "replace")

    def _m_findOneAndDelete(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        return self._find_and(coll, args, "delete")

    def _m_bulkWrite(self, coll: Any, args: tuple[Any, ...], command: ShellCommand) -> _Outcome:
        requests = [_bulk_request(spec, command.calls[0]) for spec in args[0]]
        opts = _write_options(args[1] if len(args) > 1 else {})
        if not requests:
            raise _Refused("bulkWrite() needs at least one operation", command.calls[0])
        done = coll.bulk_write(requests, comment=self._comment(), **opts)
        summary = {
            "acknowledged": done.acknowledged,
            "insertedCount": done.inserted_count,
            "matchedCount": done.matched_count,
            "modifiedCount": done.modified_count,
            "deletedCount": done.deleted_count,
            "upsertedCount": done.upserted_count,
            "upsertedIds": {str(k): v for k, v in (done.upserted_ids or {}).items()},
        }
        total = (done.inserted_count + done.modified_count + done.deleted_count
                 + done.upserted_count)
        return _summary(summary, total, f"bulk write: {done.inserted_count} inserted, "
                        f"{done.matched_count} matched, {done.modified_count} modified, "
                        f"{done.deleted_count} deleted, {done.upserted_count} upserted")

    # indexes and collections
    def _m_createIndex(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        options = dict(args[1]) if len(args) > 1 else {}
        name = coll.create_index(_pairs(args[0]), comment=self._comment(), **options)
        return _Outcome(status=f"created index {name}")

    def _m_createIndexes(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        from pymongo import IndexModel

        options = dict(args[1]) if len(args) > 1 else {}
        models = [IndexModel(_pairs(keys), **options) for keys in args[0]]
        names = coll.create_indexes(models, comment=self._comment()) if models else []
        return _Outcome(status=f"created indexes {', '.join(names)}" if names
                        else "no index to create")

    def _m_getIndexes(self, coll: Any, _args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        return _cursor(coll.list_indexes(comment=self._comment()), verb="indexes")

    def _m_dropIndex(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        target = _pairs(args[0])
        coll.drop_index(target, comment=self._comment())
        return _Outcome(status=f"dropped index {args[0] if isinstance(args[0], str) else ''}"
                        .rstrip())

    def _m_dropIndexes(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        if not args or args[0] in (None, "*"):
            coll.drop_indexes(comment=self._comment())
            return _Outcome(status="dropped every index but _id")
        names = args[0] if isinstance(args[0], list) else [args[0]]
        for name in names:
            coll.drop_index(_pairs(name), comment=self._comment())
        return _Outcome(status=f"dropped {len(names)} index{'es' if len(names) != 1 else ''}")

    def _m_drop(self, coll: Any, _args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        existed = coll.name in self._db.list_collection_names(filter={"name": coll.name})
        coll.drop(comment=self._comment())
        return _Outcome(status=f"dropped collection {coll.name}" if existed
                        else f"no collection {coll.name} to drop")

    def _m_renameCollection(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        drop_target = bool(args[1]) if len(args) > 1 else False
        coll.rename(args[0], dropTarget=drop_target, comment=self._comment())
        return _Outcome(status=f"renamed {coll.name} to {args[0]}")

    def _m_stats(self, coll: Any, args: tuple[Any, ...], _c: ShellCommand) -> _Outcome:
        body = {"collStats": coll.name, **_scale(args)}
        return _rows([_answer(self._db.command(body, comment=self._comment()))], verb="stats")

    # -- from other threads -----------------------------------------------------------
    def cancel(self) -> None:
        """killOp the running operation; cut its connections when it goes on.

        Each step waits at most the connection timeout, so a server that stopped
        answering leaves the session lost (``connection_lost``), never hanging.
        """
        self._cancelled.set()
        comment = self._running
        if self._closed or self._lost is not None:
            return
        if comment is not None:
            try:
                with pymongo.timeout(self._link_timeout):
                    for _attempt in range(3):
                        if self._kill(comment) or self._running != comment:
                            break
                        time.sleep(0.05)
            except PyMongoError:
                pass
        if self._calls.busy:
            self._calls.escalate(self._link_timeout, self._interrupt)

    def _interrupt(self) -> None:
        """Interrupt the client's in-use connections (pymongo's own cancel of a read)."""
        topology = getattr(self._client, "_topology", None)
        servers = getattr(topology, "_servers", None) or {}
        for server in list(servers.values()):
            try:
                server.pool.reset(interrupt_connections=True)
            except (AttributeError, TypeError, PyMongoError):
                continue

    def _kill(self, comment: str) -> bool:
        """killOp the operation tagged ``comment``; True when one was found."""
        admin = self._client.admin
        listing = admin.command({"currentOp": 1, "$ownOps": True, "$all": True})
        ops = listing.get("inprog") or []
        mine = [op for op in ops if isinstance(op.get("command"), Mapping)
                and op["command"].get("comment") == comment]
        if not mine:  # servers whose currentOp shows no comment: the session's own ops
            mine = [op for op in ops if _appname(op) == self.appname and op.get("active", True)
                    and op.get("op") not in _NOT_STATEMENTS
                    and (op.get("command") or {}).get("currentOp") is None]
        for op in mine:
            if op.get("opid") is not None:
                admin.command("killOp", op=op["opid"])
        return bool(mine)

    # -- catalog -----------------------------------------------------------------------
    def catalog(self) -> list[CatalogItem]:
        from dbplay_desktop.engines.mongo.catalog import load_catalog

        if self._lost is not None:
            raise lost(self.address, f"{self._lost.reason}; reconnect to read the catalog")
        try:
            with pymongo.timeout(30):
                return load_catalog(self._db)
        except (ServerSelectionTimeoutError, ConnectionFailure) as exc:
            raise lost(self.address, _network_reason(exc)) from exc
        except PyMongoError as exc:
            raise QueryError(f"cannot read the catalog: {error_message(exc)}") from exc

    def close(self) -> None:
        """Close the client; prompt and silent on a lost or stalled link (the client's
        goodbye to the server, ``endSessions``, waits at most the connection timeout)."""
        if self._closed:
            return
        try:
            with pymongo.timeout(min(self._link_timeout, 2.0)):
                self._close_open()
        except Exception:
            pass
        self._closed = True
        if self._own_client:
            try:
                with pymongo.timeout(min(self._link_timeout, 2.0)):
                    self._client.close()
            except Exception:
                pass


def _address(uri: str) -> str:
    """``host:port`` (comma-separated for several) of a MongoDB URI, without its user."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
    except ValueError:
        return "the MongoDB server"
    hosts = parts.netloc.rsplit("@", 1)[-1]
    if parts.scheme.lower() == "mongodb+srv":
        return hosts or "the MongoDB server"
    named = [h if (h.endswith("]") or ":" in h.rsplit("]", 1)[-1]) else f"{h}:27017"
             for h in hosts.split(",") if h]
    return ",".join(named) or "localhost:27017"


def _network_reason(exc: BaseException) -> str:
    """pymongo's network error without its address prefix and configured timeouts."""
    text = re.sub(r"\s*\(configured timeouts:[^)]*\)", "", str(exc))
    text = re.sub(r"^[^\s:]+:\d+:\s*", "", one_reason(text))
    return text or type(exc).__name__


def _appname(op: Mapping[str, Any]) -> str | None:
    if op.get("appName"):
        return str(op["appName"])
    metadata = op.get("clientMetadata")
    if isinstance(metadata, Mapping):
        application = metadata.get("application")
        if isinstance(application, Mapping):
            return application.get("name")
    return None


# --------------------------------------------------------------------------- outcomes


def _cursor(cursor: Any, verb: str = "") -> _Outcome:
    return _Outcome(documents=iter(cursor), close=cursor.close, verb=verb)


def _rows(documents: Iterable[Any], verb: str = "") -> _Outcome:
    return _Outcome(documents=iter(list(documents)), verb=verb)


def _summary(document: dict[str, Any], count: int, status: str) -> _Outcome:
    return _Outcome(documents=iter([document]), first=[document], status=status,
                    rowcount=count, verb="write")


def _update_summary(done: Any) -> _Outcome:
    upserted = 1 if done.upserted_id is not None else 0
    summary = {
        "acknowledged": done.acknowledged,
        "matchedCount": done.matched_count,
        "modifiedCount": done.modified_count,
        "upsertedCount": upserted,
        "upsertedId": done.upserted_id,
    }
    return _summary(summary, done.modified_count + upserted,
                    f"matched {done.matched_count}, modified {done.modified_count}"
                    + (", upserted 1" if upserted else ""))


def _delete_summary(done: Any) -> _Outcome:
    count = done.deleted_count
    return _summary({"acknowledged": done.acknowledged, "deletedCount": count}, count,
                    f"deleted {count} document{'s' if count != 1 else ''}")


def _answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in _BOOKKEEPING}


def _scale(args: tuple[Any, ...]) -> dict[str, Any]:
    if not args:
        return {}
    if isinstance(args[0], Mapping):
        return {k: v for k, v in args[0].items() if k == "scale"}
    return {"scale": args[0]}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _chain_max_time(command: ShellCommand) -> int | None:
    for link in command.chain:
        if link.name == "maxTimeMS" and link.args:
            return int(link.args[0])
    return None


_FIND_OPTIONS = {
    "sort": "sort", "limit": "limit", "skip": "skip", "hint": "hint", "collation": "collation",
    "maxTimeMS": "max_time_ms", "allowDiskUse": "allow_disk_use", "let": "let",
    "projection": "projection", "min": "min", "max": "max", "returnKey": "return_key",
    "showRecordId": "show_record_id", "batchSize": None, "comment": None,
}


def _find_options(options: Mapping[str, Any], call: Call) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dict(options).items():
        if key not in _FIND_OPTIONS:
            raise _Refused(f"unknown find option {key!r}", call)
        name = _FIND_OPTIONS[key]
        if name is None:
            continue
        out[name] = _pairs(value) if name in ("sort", "hint", "min", "max") else value
    return out


_WRITE_OPTIONS = {
    "upsert": "upsert", "arrayFilters": "array_filters", "hint": "hint",
    "collation": "collation", "let": "let", "ordered": "ordered",
    "bypassDocumentValidation": "bypass_document_validation", "projection": "projection",
    "sort": "sort", "writeConcern": None, "comment": None,
}


def _write_options(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dict(options).items():
        if key not in _WRITE_OPTIONS:
            raise _Refused(f"unknown option {key!r}")
        name = _WRITE_OPTIONS[key]
        if name is not None:
            out[name] = _pairs(value) if name == "hint" else value
    return out


def _bulk_request(spec: Any, call: Call) -> Any:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise _Refused("each bulkWrite operation is {insertOne: {...}}, {updateOne: {...}}, "
                       "...", call)
    ((name, body),) = spec.items()
    if not isinstance(body, Mapping):
        raise _Refused(f"bulkWrite {name} needs a document", call)
    body = dict(body)
    try:
        if name == "insertOne":
            return InsertOne(dict(body["document"]))
        extra = {}
        for key in ("upsert", "collation", "arrayFilters", "hint"):
            if key in body:
                extra[_snake(key)] = _pairs(body[key]) if key == "hint" else body[key]
        if name in ("updateOne", "updateMany"):
            cls = UpdateOne if name == "updateOne" else UpdateMany
            update = body["update"]
            return cls(body["filter"], list(update) if isinstance(update, list) else update,
                       **extra)
        if name == "replaceOne":
            extra.pop("array_filters", None)
            return ReplaceOne(body["filter"], body["replacement"], **extra)
        if name in ("deleteOne", "deleteMany"):
            cls = DeleteOne if name == "deleteOne" else DeleteMany
            extra.pop("upsert", None)
            extra.pop("array_filters", None)
            return cls(body["filter"], **extra)
    except KeyError as exc:
        raise _Refused(f"bulkWrite {name} needs {exc.args[0]!r}", call) from None
    raise _Refused(f"unknown bulkWrite operation {name!r}", call)


# --------------------------------------------------------------------------- streaming


class _Stream:
    """The batches of one document-returning statement, columns growing as fields appear."""

    def __init__(self, session: MongoSession, command: ShellCommand, outcome: _Outcome,
                 first: list[Any], started: float) -> None:
        self.session = session
        self.command = command
        self.outcome = outcome
        self.first = first
        self.started = started
        self.result: StatementResult  # set by the session once the result is made
        self.names: list[str] = []
        self.known: set[str] = set()
        self.columns: list[Column] = self._new_columns(first)
        self.fetched = 0
        self.exhausted = False
        self.closed = False

    def _new_columns(self, documents: list[Any]) -> list[Column]:
        added: list[Column] = []
        for document in documents:
            if not isinstance(document, Mapping):
                continue
            keys = list(document.keys())
            if "_id" in document and "_id" not in self.known:
                keys.remove("_id")
                keys.insert(0, "_id")
            for key in keys:
                if key in self.known:
                    continue
                self.known.add(key)
                self.names.append(key)
                value = document[key]
                if key == "_id":
                    kind = ColumnKind.ID
                elif isinstance(value, (Mapping, list)):
                    kind = ColumnKind.JSON
                elif isinstance(value, (bytes, bytearray)):
                    kind = ColumnKind.BINARY
                else:
                    kind = ColumnKind.SCALAR
                added.append(Column(key, "", kind))
        return added

    def _rows(self, documents: list[Any]) -> list[tuple[Any, ...]]:
        names = self.names
        rows = []
        for document in documents:
            if not isinstance(document, Mapping):
                document = {"value": document}
            rows.append(tuple(tag(document[name]) if name in document else MISSING
                              for name in names))
        return rows

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        session = self.session
        batch = self.first
        self.first = []
        documents = self.outcome.documents
        assert documents is not None
        while not self.closed:
            if batch:
                added = self._new_columns(batch)
                if added:
                    self.result.add_columns(added)
                self.fetched += len(batch)
                yield self._rows(batch)
            if len(batch) < max(1, session.batch_size) and self.outcome.close is None:
                self.exhausted = True
                return
            if session._cancelled.is_set():  # cancelled between two batches
                error = QueryCancelled("the statement was cancelled",
                                       line=self.command.calls[0].line,
                                       column=self.command.calls[0].column)
                self.result.error = error
                self.close()
                raise error
            session._running = self.outcome.comment
            try:
                with session._calls.call():
                    batch = session._next_batch(documents)
            except PyMongoError as exc:
                error = session._error(exc, self.command)
                self.result.error = error
                self.close()
                raise error from None
            finally:
                session._running = None
            if not batch:
                self.exhausted = True
                return

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.outcome.close is not None:
            try:
                self.outcome.close()
            except PyMongoError:
                pass
        session = self.session
        if session._open is self.result:
            session._open = None
        if self.outcome.rowcount >= 0:
            self.result.rowcount = self.outcome.rowcount
        else:
            self.result.rowcount = self.fetched if self.exhausted else -1
        if self.outcome.status:
            self.result.status = self.outcome.status
        elif self.exhausted:
            noun = "document" if self.fetched == 1 else "documents"
            self.result.status = f"{self.fetched} {noun}"
        self.result.elapsed = time.perf_counter() - self.started
