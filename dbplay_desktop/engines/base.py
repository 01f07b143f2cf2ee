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
(dict, list, bytes, datetime, Decimal, ...). The UI renders those values; engines never
turn them into strings.

Nothing here imports Qt: engines run on worker threads and talk back through the
values they return. ``cancel()`` is the only method meant to be called from another
thread while ``execute`` is running.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

# The engine contract's errors live on the ground floor; re-exported here.
from dbplay_desktop.errors import (  # noqa: F401
    ConnectionFailed,
    DumpError,
    EngineError,
    QueryCancelled,
    QueryError,
    RestoreError,
    UnsafeContent,
    UnsupportedUri,
)

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


@dataclass(frozen=True)
class Column:
    """A result column: the name as the server gave it (duplicates allowed) and its type."""

    name: str
    type_name: str


@dataclass
class StatementResult:
    """The outcome of one statement.

    Fields other than ``batches`` are final once the result is yielded by ``execute``,
    except ``rowcount``, ``status``, ``elapsed`` and ``notices``, which are completed once
    the batches are exhausted (or :meth:`close` is called). ``columns`` is ``None`` for a
    statement that returns no rows. ``error`` is set (and ``batches`` empty) when the
    statement failed; ``execute`` stops after a failed statement.
    """

    index: int
    statement: Statement
    columns: list[Column] | None = None
    status: str = ""
    rowcount: int = -1
    elapsed: float = 0.0
    notices: list[str] = field(default_factory=list)
    error: EngineError | None = None
    _batches: Iterator[list[tuple[Any, ...]]] | None = field(default=None, repr=False)
    _on_close: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def returns_rows(self) -> bool:
        return self.columns is not None

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """Yield the rows in lists of at most the session's batch size, as they arrive."""
        if self._batches is None:
            return
        try:
            yield from self._batches
        finally:
            self.close()

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
        """Stop streaming and release the server-side cursor; safe to call twice."""
        self._batches = None
        callback, self._on_close = self._on_close, None
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
        """

    @abstractmethod
    def cancel(self) -> None:
        """Stop the running statement; callable from any thread, harmless when idle."""

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

    Subclasses set :attr:`name` (the ``engine`` value in template manifests),
    :attr:`display_name`, :attr:`schemes` and the capability flags.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    #: Pygments lexer name used by the editor for this engine's query language.
    language: ClassVar[str] = "sql"
    supports_cancel: ClassVar[bool] = True
    supports_transactions: ClassVar[bool] = False

    def __init__(self, uri: str) -> None:
        self.uri = uri

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
