"""The engine contract: what every database engine offers the rest of dbplay.

The contract has two levels, after Harlequin's adapter split:

* :class:`Engine` is a handle on a *server* (made from a URI). It knows how to create
  and drop sandbox databases, dump a database into template payload files, scan an
  untrusted payload and restore it into a fresh sandbox.
* :class:`Session` is a connection to *one database* in which the user's text runs.
  ``execute(text)`` yields one :class:`StatementResult` per statement; each result
  streams its rows in batches, so the first rows reach the grid while the rest are
  still on the server.

Documents (MongoDB) and vector records (Chroma) flow through the same types as rows:
a result is columns plus row tuples; a cell may hold any JSON-like Python value
(dict, list, bytes, datetime, Decimal, :class:`~dbplay_desktop.values.Vector`, ...). The
UI renders those values through :mod:`dbplay_desktop.values`; engines never turn them
into strings. What a result holds is said by its :class:`ResultKind`, what a column holds
by its :class:`ColumnKind` and :class:`ColumnRole`, and whether the statement may have
changed the database by :attr:`StatementResult.changes_state` -- all set by the engine,
which is the only layer that understands its language, so nothing above it parses
statements.

**Failures and cancels** follow one rule for every engine:

* a statement that fails (or is cancelled, or times out) *before* its rows stream is
  yielded with ``error`` set and no rows (``batches()`` yields nothing);
* one that fails *while* its rows stream sets ``error`` and ``batches()`` raises that same
  error (a :class:`QueryError`; :class:`QueryCancelled` for a cancel or a timeout) after
  the rows that came before it -- so a consumer that only loops over the batches cannot
  take a broken result for a complete one;
* ``cancel()`` after ``execute()`` was called and before a statement starts still yields
  that statement's result, with a :class:`QueryCancelled` error; nothing after it runs.

In each case ``result.error`` ends up set, and ``execute`` stops after that result.

**A lost connection** (the server went away, the link was reset, or a cancel found the
server not answering and cut the link) follows the same rule with a
:class:`ConnectionLost` error (a :class:`ConnectionFailed`, not a :class:`QueryError`):
set on the result before its rows, or raised by ``batches()`` after the rows that came.
From then on :attr:`Session.connection_lost` is True: every later statement is yielded
at once with a :class:`ConnectionLost` error, ``close()`` returns promptly and never
raises, and the way back is a new session from ``Engine.connect(database)`` once the
server answers (the engine's own connections notice a broken link and reconnect).

Nothing here imports Qt: engines run on worker threads and talk back through the
values they return. ``cancel()`` is the only method meant to be called from another
thread while ``execute`` is running.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, TYPE_CHECKING, Any, ClassVar

# The engine contract's errors live on the ground floor; re-exported here.
from dbplay_desktop.errors import (  # noqa: F401
    ConnectionFailed,
    ConnectionLost,
    DumpError,
    EngineError,
    QueryCancelled,
    QueryError,
    RestoreError,
    UnsafeContent,
    UnsupportedUri,
)

if TYPE_CHECKING:
    from dbplay_desktop.engines.descriptor import EngineDescriptor

DEFAULT_BATCH_SIZE = 500


# --------------------------------------------------------------------------- statements


class LineIndex:
    """Where each line of a text starts, so offsets turn into line and column cheaply.

    Counting newlines from the start of the text for every statement is quadratic on a
    long script; one index answers each look-up with a binary search instead.
    """

    def __init__(self, source: str) -> None:
        starts = [0]
        find = source.find
        newline = find("\n")
        while newline >= 0:
            starts.append(newline + 1)
            newline = find("\n", newline + 1)
        self._starts = starts

    @property
    def line_count(self) -> int:
        """The number of lines (a text without a newline has one)."""
        return len(self._starts)

    def locate(self, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, column)`` of the character at ``offset``."""
        line = max(1, bisect_right(self._starts, offset))
        return line, offset - self._starts[line - 1] + 1


@dataclass(frozen=True)
class Statement:
    """One statement cut out of the user's text.

    ``start``/``end`` are character offsets into the original text (end exclusive), so
    the editor can mark a failing statement; ``line`` and ``column`` are 1-based.
    """

    text: str
    start: int
    end: int
    line: int
    column: int

    @classmethod
    def at(cls, source: str, start: int, end: int, index: LineIndex | None = None) -> Statement:
        """Build a statement for ``source[start:end]`` with its line and column.

        Pass a :class:`LineIndex` of ``source`` when building many statements of one text.
        """
        if index is not None:
            line, column = index.locate(start)
        else:
            line = source.count("\n", 0, start) + 1
            column = start - (source.rfind("\n", 0, start) + 1) + 1
        return cls(source[start:end], start, end, line, column)


class ResultKind(str, Enum):
    """What a result's rows are: table rows, documents, or vector records.

    A ``str`` enum, so ``ResultKind.ROWS == "rows"``. The grid shows all three the same
    way (columns and rows); the kind lets the window name them ("3 documents").
    """

    ROWS = "rows"
    DOCUMENTS = "documents"
    VECTOR_RECORDS = "vector records"


class ColumnKind(str, Enum):
    """What the values of a column are, when the engine knows (``scalar`` otherwise)."""

    SCALAR = "scalar"  # numbers, text, dates, ... (the default)
    JSON = "json"  # documents: dicts and lists
    BINARY = "binary"  # bytes
    ID = "id"  # a record's identity (a primary key, ``_id``, a vector record's id)
    VECTOR = "vector"  # embeddings (:class:`~dbplay_desktop.values.Vector`)


class ColumnRole(str, Enum):
    """What a column means in a vector store's or document store's answer."""

    NONE = "none"  # an ordinary column (the default)
    DISTANCE = "distance"  # a similarity search's distance or score
    EMBEDDING = "embedding"  # the record's vector
    METADATA = "metadata"  # the record's metadata
    DOCUMENT = "document"  # the record's document or text


@dataclass(frozen=True)
class Column:
    """A result column: the name as the server gave it (duplicates allowed) and its type.

    ``kind`` and ``role`` default to an ordinary scalar column, so ``Column(name,
    type_name)`` is a complete column for SQL engines.
    """

    name: str
    type_name: str = ""
    kind: ColumnKind = ColumnKind.SCALAR
    role: ColumnRole = ColumnRole.NONE


Batches = Iterator[list[tuple[Any, ...]]]


@dataclass
class StatementResult:
    """The outcome of one statement.

    Fields other than ``batches`` are final once the result is yielded by ``execute``,
    except ``rowcount``, ``status``, ``elapsed`` and ``notices``, which are completed once
    the batches are exhausted (or :meth:`close` is called), ``error`` (see the module's
    rule for failures) and ``columns`` (see :meth:`add_columns`). ``columns`` is ``None``
    for a statement that returns no rows. ``error`` is set (and ``batches`` empty) when
    the statement failed before returning rows; ``execute`` stops after a failed
    statement.

    ``kind`` says what the rows are (:class:`ResultKind`). ``changes_state`` is set by the
    engine from its own reading of the statement: False for a statement that only reads
    (SQL: a ``SELECT``, ``VALUES``, ``TABLE``, ``SHOW``, an ``EXPLAIN`` that does not run
    its statement, a read-only ``PRAGMA``) and for one that never ran; True for anything
    else, and whenever the engine cannot tell (so the window errs on offering to save).
    It says what the statement *is*, not whether it succeeded: check ``error`` too.

    Engines make a row-returning result with :meth:`streaming`; one without rows (or a
    failure) with the plain constructor.
    """

    index: int
    statement: Statement
    columns: list[Column] | None = None
    status: str = ""
    rowcount: int = -1
    elapsed: float = 0.0
    notices: list[str] = field(default_factory=list)
    error: EngineError | None = None
    kind: ResultKind = ResultKind.ROWS
    changes_state: bool = True
    # Private: engines pass these to streaming(), never assign them.
    _batches: Batches | None = field(default=None, repr=False)
    _on_close: Callable[[], None] | None = field(default=None, repr=False)

    @classmethod
    def streaming(
        cls,
        index: int,
        statement: Statement,
        columns: Sequence[Column],
        batches: Batches,
        *,
        on_close: Callable[[], None] | None = None,
        kind: ResultKind = ResultKind.ROWS,
        changes_state: bool = True,
        status: str = "",
        rowcount: int = -1,
        elapsed: float = 0.0,
        notices: list[str] | None = None,
    ) -> StatementResult:
        """A row-returning result whose rows come from ``batches``.

        ``batches`` yields lists of row tuples (each list at most the session's batch
        size); it may set ``status``, ``rowcount``, ``elapsed`` on the result as it ends.
        ``on_close`` releases the engine's cursor: it is called once, when the batches are
        exhausted, fail, or the consumer calls :meth:`close` -- whichever comes first.
        """
        result = cls(
            index=index,
            statement=statement,
            columns=list(columns),
            status=status,
            rowcount=rowcount,
            elapsed=elapsed,
            notices=notices if notices is not None else [],
            kind=kind,
            changes_state=changes_state,
        )
        result._batches = batches
        result._on_close = on_close
        return result

    @property
    def returns_rows(self) -> bool:
        return self.columns is not None

    def add_columns(self, columns: Sequence[Column]) -> None:
        """Append columns while the rows stream (an engine whose records have no fixed
        shape, e.g. documents, finds new fields as it reads).

        Call it from inside the batches iterator, before yielding the first batch whose
        rows have the new cells. The rule for consumers: columns are only ever appended,
        never removed or reordered; a batch's rows have ``len(result.columns)`` cells as
        of the moment the batch is yielded, so rows of earlier batches may be shorter --
        their missing trailing cells are :data:`~dbplay_desktop.values.MISSING` (a field
        the record does not have). Consumers check ``len(result.columns)`` after each
        batch.
        """
        if self.columns is None:
            raise ValueError("a result without rows has no columns to add to")
        self.columns.extend(columns)

    def batches(self) -> Batches:
        """Yield the rows in lists of at most the session's batch size, as they arrive.

        A failure while the rows stream sets :attr:`error` and is raised here, after the
        rows that came before it (see the module's rule for failures).
        """
        source = self._batches
        if source is None:
            return
        try:
            for batch in source:
                yield batch
                if self._batches is not source:  # closed meanwhile: stop here
                    return
        except EngineError as exc:
            if self.error is None:
                self.error = exc
            raise
        finally:
            self.close()
        if self.error is not None:  # an engine that recorded its failure without raising
            raise self.error

    def fetch_all(self, limit: int | None = None) -> list[tuple[Any, ...]]:
        """Collect the rows (at most ``limit``); for tests and small results only."""
        rows: list[tuple[Any, ...]] = []
        for batch in self.batches():
            rows.extend(batch)
            if limit is not None and len(rows) >= limit:
                self.close()
                return rows[:limit]
        return rows

    def close(self) -> None:
        """Stop streaming and release the server-side cursor; safe to call twice.

        A ``batches()`` loop still open yields nothing more; the engine's batches
        iterator is closed (a generator runs its ``finally``), then ``on_close`` runs.
        """
        source, self._batches = self._batches, None
        callback, self._on_close = self._on_close, None
        close = getattr(source, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:  # the generator is running (close called from inside it)
                pass
        if callback is not None:
            callback()


# --------------------------------------------------------------------------- catalog


@dataclass
class CatalogItem:
    """A node of the catalog tree (schema, table, column, index, collection, ...).

    ``kind`` is one of: ``database``, ``schema``, ``table``, ``view``, ``materialized view``,
    ``foreign table``, ``partitioned table``, ``column``, ``index``, ``function``,
    ``procedure``, ``sequence``, ``type``, ``collection``, ``field``. ``detail`` is a short
    type or definition shown next to the name; ``insert_text`` is what completion inserts.
    """

    name: str
    kind: str
    detail: str = ""
    insert_text: str = ""
    children: list[CatalogItem] = field(default_factory=list)

    def walk(self) -> Iterator[CatalogItem]:
        yield self
        for child in self.children:
            yield from child.walk()


# --------------------------------------------------------------------------- payloads


class PayloadSink(ABC):
    """Where :meth:`Engine.dump` writes template payload files (relative POSIX paths)."""

    @abstractmethod
    def open(self, path: str) -> IO[bytes]:
        """A binary stream for a new payload file; closing it records the file."""


class PayloadSource(ABC):
    """What :meth:`Engine.restore` reads: payload files in their restore order."""

    @abstractmethod
    def paths(self) -> Sequence[str]:
        """The payload file paths, in the order they must be restored."""

    @abstractmethod
    def open(self, path: str) -> IO[bytes]:
        """A binary stream of the file; reading past the size limit raises."""

    def size(self, path: str) -> int | None:
        """The file's size in bytes when known (for progress), else ``None``."""
        return None


@dataclass(frozen=True)
class Finding:
    """A static-scan finding: what is refused, in which payload file and at which line."""

    path: str
    line: int
    message: str
    statement: str = ""

    def __str__(self) -> str:
        snippet = " ".join(self.statement.split())
        if len(snippet) > 80:
            snippet = snippet[:77] + "..."
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.message}" + (f" ({snippet})" if snippet else "")


@dataclass
class DumpInfo:
    """What a dump produced: the engine version and object counts for the manifest."""

    engine_version: str
    stats: dict[str, int] = field(default_factory=dict)


# Progress callbacks receive (done, total) in engine-defined units (bytes or objects);
# total may be None when unknown. Returning True asks the operation to stop.
ProgressCallback = Callable[[int, "int | None"], "bool | None"]


# --------------------------------------------------------------------------- the contract


class Session(ABC):
    """A connection to one database, in which the user's statements run."""

    #: Rows per batch yielded by :meth:`StatementResult.batches`.
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def connection_lost(self) -> bool:
        """Whether this session's connection is gone for good (default False).

        True once a statement failed with :class:`ConnectionLost`: the session can run
        nothing more, so the window offers to reconnect -- close this session and open a
        new one on the same database with ``Engine.connect(database)``. Engines whose
        sessions cannot lose a connection (files) keep the default.
        """
        return False

    def set_timeout(self, seconds: float | None) -> None:
        """Limit how long one statement may run (``None``: no limit).

        Engines that can enforce a server-side limit override this; the default keeps
        no limit, and the user can still cancel.
        """

    @abstractmethod
    def execute(self, text: str) -> Iterator[StatementResult]:
        """Split ``text`` into statements and run them in order, one result each.

        A result is yielded as soon as its statement has started returning; its rows
        stream through ``batches()``. Advancing the iterator closes the previous
        result's cursor. An error in statement 3 is yielded as statement 3's result
        after the results of statements 1 and 2, and nothing after it runs.

        The call itself (not the first ``next``) forgets any earlier :meth:`cancel`, so a
        cancel that comes after ``execute`` was called always counts: the statement it
        finds not yet started is yielded with a :class:`QueryCancelled` error.
        """

    @abstractmethod
    def cancel(self) -> None:
        """Stop the running statement; callable from any thread, harmless when idle.

        The stopped statement's result carries a :class:`QueryCancelled` error: set
        before it is yielded, or raised by ``batches()`` when its rows were streaming
        (the module's rule for failures). Nothing after it runs. A server session whose
        statement is still running one connection timeout after the cancel (a server that
        stopped answering) cuts its link instead: the error is then a
        :class:`ConnectionLost` and :attr:`connection_lost` is True.
        """

    @abstractmethod
    def catalog(self) -> list[CatalogItem]:
        """The database's objects as a tree (schemas or collections at the top)."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection; safe to call twice."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Engine(ABC):
    """A handle on a database server, made from a URI.

    Subclasses set :attr:`name` (the ``engine`` value in template manifests, and the
    name of the engine's entry point). Everything else known about the engine without
    importing it -- display name, schemes, language, capabilities -- is its
    :class:`~dbplay_desktop.engines.descriptor.EngineDescriptor` (:meth:`descriptor`).
    """

    name: ClassVar[str]

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @classmethod
    def descriptor(cls) -> EngineDescriptor:
        """The engine's registered descriptor."""
        from dbplay_desktop.engines.registry import descriptor

        return descriptor(cls.name)

    @property
    def display_name(self) -> str:
        return self.descriptor().display_name

    def database_address(self, database: str) -> str:
        """What this engine's URIs write for ``database``: its name on a server, or the
        absolute path of its file or folder for engines whose databases are files."""
        return database

    @classmethod
    @abstractmethod
    def split(cls, text: str) -> list[Statement]:
        """The statements of ``text`` as ``Session.execute`` would run them.

        Pure and fast (no server call), so the editor may use it on the UI thread to find
        the statement under the cursor.
        """

    # -- server ------------------------------------------------------------------
    @abstractmethod
    def server_version(self) -> str:
        """The server's version string (checked against the dump tools)."""

    @abstractmethod
    def list_databases(self) -> list[str]:
        """Databases the connecting user can see."""

    @abstractmethod
    def connect(self, database: str | None = None) -> Session:
        """A session on ``database`` (default: the URI's database)."""

    # -- sandboxes ---------------------------------------------------------------
    @abstractmethod
    def create_sandbox(self, name: str | None = None) -> str:
        """Create a fresh, empty sandbox database and return its name.

        The sandbox belongs to an unprivileged account the app creates, and sessions
        from :meth:`connect` on it run as that account.
        """

    @abstractmethod
    def drop_sandbox(self, database: str) -> None:
        """Drop a sandbox database and the account that owned it; idempotent."""

    def drop_abandoned_playgrounds(self) -> list[str]:
        """Drop unnamed sandboxes (playgrounds) that nobody is connected to; return them.

        A window that crashed cannot drop its playgrounds; the next start on the same
        private server clears them. Sandboxes created under an explicit name (a CLI
        restore target) are never touched. Engines without such state return ``[]``.
        """
        return []

    #: Whether :meth:`clone_sandbox` works on this engine; callers check it first.
    clones_sandboxes: ClassVar[bool] = False

    def clone_sandbox(self, source: str) -> str:
        """A new sandbox holding a copy of the sandbox ``source``; returns its name.

        Much faster than restoring the same template again, which is what a playground's
        reset needs. A clone belongs to the same sandbox as its source: the same account
        and the same checks, passed when the source was restored. :meth:`drop_sandbox`
        drops a clone like any sandbox; the account goes with the last database that
        uses it. ``source`` is kept as the pristine copy: it must have no session open,
        and an engine may refuse sessions on it from then on. Engines that cannot clone
        raise :class:`NotImplementedError` (and leave :attr:`clones_sandboxes` False).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot clone sandboxes")

    # -- templates ---------------------------------------------------------------
    @abstractmethod
    def dump(
        self, database: str, sink: PayloadSink, progress: ProgressCallback | None = None
    ) -> DumpInfo:
        """Write what recreates ``database`` into ``sink``; carries no owners or grants."""

    @classmethod
    def scan_payload(
        cls, source: PayloadSource, progress: ProgressCallback | None = None
    ) -> list[Finding]:
        """Statically check an untrusted payload; an empty list means nothing was refused.

        Needs no server and no engine instance (``dbplay template verify``): engines
        implement it as a static or class method. ``progress`` hears bytes scanned (and
        the total when known); returning True stops the scan with an error.
        """
        raise NotImplementedError(f"{cls.__name__} has no safety scan")

    def scan(
        self, source: PayloadSource, progress: ProgressCallback | None = None
    ) -> list[Finding]:
        """:meth:`scan_payload`, for callers that hold an engine."""
        return type(self).scan_payload(source, progress)

    @abstractmethod
    def restore(
        self,
        source: PayloadSource,
        database: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> str:
        """Scan, then restore ``source`` into a new sandbox (or the named empty database).

        Returns the database name. On any failure, raises :class:`RestoreError` and leaves
        no database behind that this call created.
        """

    def close(self) -> None:
        """Release server-level resources; sessions from :meth:`connect` stay usable."""
