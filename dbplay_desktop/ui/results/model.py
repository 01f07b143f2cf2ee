"""The results grid's model: the rows of one statement's result, streamed in.

:class:`ResultsModel` holds the rows of one statement's result. Rows arrive from a worker
in batches into a buffer and are exposed to the view through ``canFetchMore`` /
``fetchMore``, ``batch_size`` rows at a time, so the first rows show while the rest are
still coming and the view never has to lay out a million rows at once.

Two ways to feed it (both keep every engine call on a worker thread):

* :func:`~.result_stream.stream_result` -- one
  :class:`~dbplay_desktop.engines.base.StatementResult` into one model;
* :class:`~.query_runner.QueryRunner` -- run a whole text on a session on ONE worker,
  one result per statement, for the main window's result tabs.

Both are importable from here too, as the grid's callers always have.

Cells keep their raw Python values; :mod:`.values` decides how they look.

Two limits stop a result early, both shown as "1,000 of >1,000 rows": the row cap and a
memory budget (:data:`~.stream.DEFAULT_MEMORY_LIMIT`, overridden by the environment
variable ``DBPLAY_RESULT_MEMORY_LIMIT``): the model stops keeping rows at the one that
brings their estimated size (:func:`dbplay_desktop.values.row_size`) to the budget.
Columns may be added while rows stream (:meth:`ResultsModel.add_columns`); rows that
came before them read :data:`~dbplay_desktop.values.MISSING` there.

What the rows are (:class:`~dbplay_desktop.engines.base.ResultKind`) is given with the
columns: in a result of documents a nested document or array shows its size
(``{3 fields}``, ``[12 items]``, :func:`dbplay_desktop.values.summary_text`) rather than
its JSON, which the document tree beside the grid shows in full; other results keep the
compact JSON. Copies and exports always carry the whole value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QFont, QGuiApplication, QPalette

from dbplay_desktop.engines.base import Column, ResultKind
from dbplay_desktop.ui.playground.query_runner import QueryRunner
from dbplay_desktop.ui.results.heap import free_in_background, rows_arrived
from dbplay_desktop.ui.results.run_clock import format_elapsed
from dbplay_desktop.ui.results.stream import (
    BATCHES_IN_FLIGHT,
    DEFAULT_ROW_CAP,
    ResultFeeder,
    Row,
    capped_batches,
    result_memory_limit,
    stream_result,
)
from dbplay_desktop.ui.results.values import (
    MISSING,
    display_text,
    is_number,
    is_numeric_type,
    summary_text,
    tooltip_text,
)
from dbplay_desktop.values import row_size

__all__ = [
    "BATCHES_IN_FLIGHT",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_ROW_CAP",
    "IsNullRole",
    "QueryRunner",
    "RawValueRole",
    "ResultFeeder",
    "ResultsModel",
    "Row",
    "capped_batches",
    "stream_result",
]

#: Role that returns the cell's raw Python value (prefer :meth:`ResultsModel.value`).
RawValueRole = int(Qt.ItemDataRole.UserRole) + 1
#: Role that returns True when the cell is NULL.
IsNullRole = int(Qt.ItemDataRole.UserRole) + 2

#: Rows the view is given per ``fetchMore`` (DBeaver uses 200; a screenful is ~40).
DEFAULT_BATCH_SIZE = 500

_ROOT = QModelIndex()  # the invisible root: a table has no child rows
_ALIGN_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class RowFetcher(Protocol):
    """What continues a result stopped at the cap (a resumable ``ResultFeeder``)."""

    @property
    def can_fetch(self) -> bool: ...

    def fetch(self, count: int | None) -> object: ...

    def stop_fetching(self) -> None: ...


class ResultsModel(QAbstractTableModel):
    """Rows of one result, streamed in; read-only.

    Lifecycle: :meth:`reset` (new generation) -> :meth:`set_columns` ->
    :meth:`append_rows` ... -> :meth:`finish`. Every feeding method takes an optional
    ``generation``; calls carrying an older generation than the model's are ignored, so
    batches still queued from a previous run never mix into the new one. Call all of
    them on the UI thread.
    """

    #: Total rows received so far (exposed or still buffered).
    rows_buffered = Signal(int)
    #: :meth:`summary` changed.
    summary_changed = Signal(str)
    #: :meth:`finish` was called.
    finished = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cap: int | None = DEFAULT_ROW_CAP,
        memory_limit: int | str | None = "default",
    ) -> None:
        """``memory_limit``: bytes of rows kept (None: no budget); by default
        :func:`~.stream.result_memory_limit` (the environment's, or 256 MB)."""
        super().__init__(parent)
        self.batch_size = max(1, batch_size)
        #: Row cap that feeders use for this model (None: no cap).
        self.cap = cap
        #: Estimated bytes of rows the model keeps at most (None: no budget).
        self.memory_limit: int | None = (
            result_memory_limit() if isinstance(memory_limit, str) else memory_limit)
        self._bytes = 0
        self._dropped = False  # rows arrived past the memory budget and were not kept
        #: Rows one *Fetch more* adds: the cap the model started with.
        self.cap_step = cap if cap is not None else DEFAULT_ROW_CAP
        #: Continues the stream past the cap, when its feeder can (see fetch_next).
        self.fetcher: RowFetcher | None = None
        self.generation = 0
        #: Seconds the statement took, when known (shown by the view's footer).
        self.elapsed: float | None = None
        self._columns: list[Column] = []
        #: What the rows are (given with the columns); documents summarise nested values.
        self.kind = ResultKind.ROWS
        self._display = display_text
        self._numeric_columns: list[bool] = []
        self._rows: list[Row] = []
        self._visible = 0
        self._streaming = False
        self._finished = False
        self._total_known = True
        self._more_available = False
        self._fetching_beyond = False
        #: Why the stream stopped early, when it did: the user cancelled, or it failed
        #: with this one-line message (the footer says so instead of looking complete).
        self.cancelled = False
        self.failure = ""
        self._italic: QFont | None = None

    # -------------------------------------------------------------- feeding
    def reset(self, generation: int | None = None) -> int:
        """Forget everything and start a new generation (``generation`` or the next one).

        The old rows are freed on a worker thread: a million of them take the GIL for
        a noticeable time.
        """
        self.beginResetModel()
        self.generation = self.generation + 1 if generation is None else generation
        old_rows = self._rows
        self._columns, self._numeric_columns, self._rows = [], [], []
        self.kind, self._display = ResultKind.ROWS, display_text
        self._visible = 0
        self._bytes, self._dropped = 0, False
        self._streaming = self._finished = self._more_available = False
        self._fetching_beyond = False
        self._total_known = True
        self.fetcher = None
        self.elapsed = None
        self.cancelled, self.failure = False, ""
        self.endResetModel()
        free_in_background(old_rows)
        self.summary_changed.emit(self.summary())
        return self.generation

    def _stale(self, generation: int | None) -> bool:
        return generation is not None and generation != self.generation

    def set_columns(
        self,
        columns: Sequence[Column] | None,
        generation: int | None = None,
        *,
        kind: ResultKind | str | None = None,
    ) -> bool:
        """Set the columns (and what the rows are, ``kind``; by default rows) and start
        streaming; returns False for a stale generation."""
        if self._stale(generation):
            return False
        self.beginResetModel()
        self.kind = ResultKind(kind) if kind is not None else ResultKind.ROWS
        self._display = summary_text if self.kind is ResultKind.DOCUMENTS else display_text
        self._columns = list(columns or [])
        self._numeric_columns = [is_numeric_type(c.type_name) for c in self._columns]
        self._streaming, self._finished = True, False
        self.endResetModel()
        self.summary_changed.emit(self.summary())
        return True

    def add_columns(self, columns: Sequence[Column], generation: int | None = None) -> bool:
        """Append columns found while rows stream (the views keep their rows and widths);
        rows received before read :data:`MISSING` in them. False for a stale generation."""
        if self._stale(generation):
            return False
        if not columns:
            return True
        first = len(self._columns)
        self.beginInsertColumns(_ROOT, first, first + len(columns) - 1)
        self._columns.extend(columns)
        self._numeric_columns.extend(is_numeric_type(c.type_name) for c in columns)
        self.endInsertColumns()
        return True

    def append_rows(self, rows: Sequence[Row], generation: int | None = None) -> bool:
        """Buffer a batch; the first ``batch_size`` rows are shown at once, the rest on demand.

        Returns False (and drops the rows) when ``generation`` is stale. Rows past the
        memory budget are not kept (the result then reads "N of >N rows").
        """
        if self._stale(generation):
            return False
        if not rows:
            return True
        limit = self.memory_limit
        if limit is not None:
            if self._bytes >= limit:
                self._dropped = True
                return True
            used, keep = self._bytes, 0
            for row in rows:
                used += row_size(row)
                keep += 1
                if used >= limit:
                    break
            self._bytes = used
            if keep < len(rows):
                self._dropped = True
                rows = rows[:keep]
        self._rows.extend(rows)
        rows_arrived(len(self._rows))
        if self._visible < self.batch_size:
            self._expose(self.batch_size - self._visible)
        self.rows_buffered.emit(len(self._rows))
        self.summary_changed.emit(self.summary())
        return True

    def finish(
        self,
        total_known: bool = True,
        more_available: bool = False,
        generation: int | None = None,
        elapsed: float | None = None,
        *,
        cancelled: bool = False,
        failure: str = "",
    ) -> bool:
        """The stream ended: completely (``total_known``), at the cap with rows left over
        (``more_available``), or stopped early (neither) -- by the user (``cancelled``),
        by an error (``failure``, one line) or for no reason worth naming."""
        if self._stale(generation):
            return False
        self._streaming, self._finished = False, True
        self._fetching_beyond = False
        self._total_known = total_known
        self._more_available = more_available or (total_known and self._dropped)
        if not total_known:
            self.cancelled = cancelled
            self.failure = " ".join(failure.split()) if not cancelled else ""
        if elapsed is not None:
            self.elapsed = elapsed
        self.summary_changed.emit(self.summary())
        self.finished.emit()
        return True

    # -------------------------------------------------------------- past the cap
    @property
    def can_fetch_beyond(self) -> bool:
        """Whether *Fetch more* / *Fetch all* can continue a result stopped at the cap."""
        fetcher = self.fetcher
        return (self._finished and self._more_available and fetcher is not None
                and not self.memory_full and fetcher.can_fetch)  # fmt: skip

    @property
    def memory_full(self) -> bool:
        """The rows kept have reached the memory budget: no more are kept or fetched."""
        return self.memory_limit is not None and self._bytes >= self.memory_limit

    @property
    def memory_used(self) -> int:
        """The estimated bytes of the rows kept (:func:`dbplay_desktop.values.row_size`)."""
        return self._bytes

    def memory_left(self) -> int | None:
        """Bytes the budget still has room for (None: no budget), for the feeders."""
        return None if self.memory_limit is None else self.memory_limit - self._bytes

    @property
    def is_fetching_beyond(self) -> bool:
        """A *Fetch more* / *Fetch all* is streaming (the footer offers Stop)."""
        return self._fetching_beyond

    def fetch_next(self, count: int | None = None) -> bool:
        """Raise the cap by ``count`` rows (default: one more cap) and stream them in;
        ``count=None`` after :meth:`fetch_all`. False when there is nothing to continue."""
        return self._continue(self.cap_step if count is None else max(1, count))

    def fetch_all(self) -> bool:
        """Stream every remaining row (no cap); False when there is nothing to continue."""
        return self._continue(None)

    def _continue(self, count: int | None) -> bool:
        if not self.can_fetch_beyond:
            return False
        assert self.fetcher is not None
        self.cap = None if count is None else len(self._rows) + count
        self._streaming, self._finished, self._more_available = True, False, False
        self._fetching_beyond = True
        self.fetcher.fetch(count)
        self.summary_changed.emit(self.summary())
        return True

    def stop_fetching(self) -> None:
        """Stop a running *Fetch more* / *Fetch all*; the rows so far stay, and the rest
        can still be fetched."""
        if self._fetching_beyond and self.fetcher is not None:
            self.fetcher.stop_fetching()

    # -------------------------------------------------------------- fetch more
    def expose_all(self) -> None:
        """Give the view every row received so far (Ctrl+End, a scrollbar dragged down)."""
        self._expose(len(self._rows) - self._visible)
    def canFetchMore(self, parent: QModelIndex = _ROOT) -> bool:
        return not parent.isValid() and self._visible < len(self._rows)

    def fetchMore(self, parent: QModelIndex = _ROOT) -> None:
        if not parent.isValid():
            self._expose(self.batch_size)

    def _expose(self, count: int) -> None:
        count = min(count, len(self._rows) - self._visible)
        if count <= 0:
            return
        first = self._visible
        self.beginInsertRows(QModelIndex(), first, first + count - 1)  # last is inclusive
        self._visible += count
        self.endInsertRows()

    # -------------------------------------------------------------- state
    @property
    def columns(self) -> list[Column]:
        return list(self._columns)

    @property
    def is_documents(self) -> bool:
        """The rows are documents (nested values summarised, the document tree offered)."""
        return self.kind is ResultKind.DOCUMENTS

    def display_value(self, value: Any) -> str:
        """How a cell holding ``value`` reads in this grid (what column widths measure)."""
        return self._display(value)

    def is_numeric_column(self, column: int) -> bool:
        """Whether the column's type is numeric (its values align right, NULLs too)."""
        return 0 <= column < len(self._numeric_columns) and self._numeric_columns[column]

    def column_names(self) -> list[str]:
        return [column.name for column in self._columns]

    @property
    def received_count(self) -> int:
        """Rows received so far, including those not yet shown."""
        return len(self._rows)

    @property
    def is_streaming(self) -> bool:
        return self._streaming

    @property
    def is_finished(self) -> bool:
        return self._finished

    @property
    def more_available(self) -> bool:
        """The cap was reached and the server had more rows."""
        return self._more_available

    def value(self, row: int, column: int) -> Any:
        """The raw Python value of a cell (any received row, shown or not); MISSING in a
        column added after the row came."""
        cells = self._rows[row]
        return cells[column] if column < len(cells) else MISSING

    def row(self, row: int) -> Row:
        """A row with a cell for every column (MISSING in columns added after it came)."""
        cells = self._rows[row]
        width = len(self._columns)
        return cells if len(cells) >= width else (*cells, *(MISSING,) * (width - len(cells)))

    def rows(self) -> list[Row]:
        """A snapshot of every received row (for export; safe to hand to a worker), each
        with a cell for every column (MISSING in columns added after it came)."""
        width = len(self._columns)
        return [cells if len(cells) >= width else (*cells, *(MISSING,) * (width - len(cells)))
                for cells in self._rows]

    def summary(self) -> str:
        """The row count as the footer shows it: "1,234 rows", "1,000 of >1,000 rows";
        a stream stopped early says why: "Cancelled after 2.10 s", "Failed: division by
        zero", "120 rows (cancelled after 2.10 s)"."""
        count = len(self._rows)
        noun = "row" if count == 1 else "rows"
        if self._streaming:
            if self._fetching_beyond:
                return f"fetching… {count:,} {noun}"
            return f"streaming… {count:,} {noun}" if count else "waiting for the first rows…"
        if not self._finished:
            return ""
        if self._more_available:
            return f"{count:,} of >{count:,} rows"
        if not self._total_known:
            reason = self.stop_reason()
            if count == 0 and reason != "stopped":
                return reason[0].upper() + reason[1:]
            return f"{count:,} {noun} ({reason})"
        return f"{count:,} {noun}"

    def stop_reason(self) -> str:
        """Why an unfinished stream ended, in the words the footer uses."""
        if self.cancelled:
            took = format_elapsed(self.elapsed)
            return f"cancelled after {took}" if took else "cancelled"
        if self.failure:
            return f"failed: {self.failure}"
        return "stopped"

    # -------------------------------------------------------------- Qt model
    def rowCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else self._visible

    def columnCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        cells = self._rows[index.row()]
        column = index.column()
        value = cells[column] if column < len(cells) else MISSING
        role = int(role)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(value)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if is_number(value) or (value is None and self._numeric_columns[index.column()]):
                return _ALIGN_RIGHT
            return _ALIGN_LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if value is None:  # derived from the palette so dark themes stay readable
                color = QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
                return QBrush(color)
            return None
        if role == Qt.ItemDataRole.FontRole:
            return self._italic_font() if value is None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_text(value)
        if role == RawValueRole:
            return value
        if role == IsNullRole:
            return value is None
        return None

    def _italic_font(self) -> QFont:
        if self._italic is None:
            self._italic = QFont(QGuiApplication.font())
            self._italic.setItalic(True)
        return self._italic

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        role = int(role)
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self._columns):
                return None
            column = self._columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.name
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{column.name}: {column.type_name}" if column.type_name else column.name
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{section + 1:,}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN_RIGHT
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

