"""The results grid's model, and the code that streams engine results into it.

:class:`ResultsModel` holds the rows of one statement's result. Rows arrive from a worker
in batches into a buffer and are exposed to the view through ``canFetchMore`` /
``fetchMore``, ``batch_size`` rows at a time, so the first rows show while the rest are
still coming and the view never has to lay out a million rows at once.

Two ways to feed it (both keep every engine call on a worker thread):

* :func:`stream_result` -- one :class:`~dbplay_desktop.engines.base.StatementResult`
  into one model;
* :class:`QueryRunner` -- run a whole text on a session on ONE worker, one result per
  statement, for the main window's result tabs.

Cells keep their raw Python values; :mod:`.values` decides how they look.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QBrush, QFont, QGuiApplication, QPalette

from ..engines.base import Column, EngineError, QueryCancelled, Session, StatementResult
from .values import display_text, is_number, is_numeric_type, tooltip_text
from .workers import Worker, start_worker

#: Role that returns the cell's raw Python value (prefer :meth:`ResultsModel.value`).
RawValueRole = int(Qt.ItemDataRole.UserRole) + 1
#: Role that returns True when the cell is NULL.
IsNullRole = int(Qt.ItemDataRole.UserRole) + 2

#: Rows the view is given per ``fetchMore`` (DBeaver uses 200; a screenful is ~40).
DEFAULT_BATCH_SIZE = 500
#: Rows kept per result before the feeder stops and reports "N of >N rows".
DEFAULT_ROW_CAP = 100_000

Row = Sequence[Any]
_ROOT = QModelIndex()  # the invisible root: a table has no child rows
_ALIGN_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_ALIGN_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


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
    ) -> None:
        super().__init__(parent)
        self.batch_size = max(1, batch_size)
        #: Row cap that feeders use for this model (None: no cap).
        self.cap = cap
        self.generation = 0
        #: Seconds the statement took, when known (shown by the view's footer).
        self.elapsed: float | None = None
        self._columns: list[Column] = []
        self._numeric_columns: list[bool] = []
        self._rows: list[Row] = []
        self._visible = 0
        self._streaming = False
        self._finished = False
        self._total_known = True
        self._more_available = False
        self._italic: QFont | None = None

    # -------------------------------------------------------------- feeding
    def reset(self, generation: int | None = None) -> int:
        """Forget everything and start a new generation (``generation`` or the next one)."""
        self.beginResetModel()
        self.generation = self.generation + 1 if generation is None else generation
        self._columns, self._numeric_columns, self._rows = [], [], []
        self._visible = 0
        self._streaming = self._finished = self._more_available = False
        self._total_known = True
        self.elapsed = None
        self.endResetModel()
        self.summary_changed.emit(self.summary())
        return self.generation

    def _stale(self, generation: int | None) -> bool:
        return generation is not None and generation != self.generation

    def set_columns(self, columns: Sequence[Column] | None, generation: int | None = None) -> bool:
        """Set the columns and start streaming; returns False for a stale generation."""
        if self._stale(generation):
            return False
        self.beginResetModel()
        self._columns = list(columns or [])
        self._numeric_columns = [is_numeric_type(c.type_name) for c in self._columns]
        self._streaming, self._finished = True, False
        self.endResetModel()
        self.summary_changed.emit(self.summary())
        return True

    def append_rows(self, rows: Sequence[Row], generation: int | None = None) -> bool:
        """Buffer a batch; the first ``batch_size`` rows are shown at once, the rest on demand.

        Returns False (and drops the rows) when ``generation`` is stale.
        """
        if self._stale(generation):
            return False
        if not rows:
            return True
        self._rows.extend(rows)
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
    ) -> bool:
        """The stream ended: completely (``total_known``), at the cap with rows left over
        (``more_available``), or stopped early by a cancel or an error (neither)."""
        if self._stale(generation):
            return False
        self._streaming, self._finished = False, True
        self._total_known = total_known
        self._more_available = more_available
        if elapsed is not None:
            self.elapsed = elapsed
        self.summary_changed.emit(self.summary())
        self.finished.emit()
        return True

    # -------------------------------------------------------------- fetch more
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
        """The raw Python value of a cell (any received row, shown or not)."""
        return self._rows[row][column]

    def row(self, row: int) -> Row:
        return self._rows[row]

    def rows(self) -> list[Row]:
        """A snapshot of every received row (for export; safe to hand to a worker)."""
        return list(self._rows)

    def summary(self) -> str:
        """The row count as the footer shows it: "1,234 rows", "1,000 of >1,000 rows"."""
        count = len(self._rows)
        noun = "row" if count == 1 else "rows"
        if self._streaming:
            return f"streaming… {count:,} {noun}"
        if not self._finished:
            return ""
        if self._more_available:
            return f"{count:,} of >{count:,} rows"
        if not self._total_known:
            return f"{count:,} {noun} (stopped)"
        return f"{count:,} {noun}"

    # -------------------------------------------------------------- Qt model
    def rowCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else self._visible

    def columnCount(self, parent: QModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        value = self._rows[index.row()][index.column()]
        role = int(role)
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(value)
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


# --------------------------------------------------------------------------- feeding


def capped_batches(batches: Iterator[list[Row]], cap: int | None) -> Iterator[list[Row]]:
    """Yield batches until ``cap`` rows; the generator's return value says whether more
    rows existed past the cap (the batch after the cap serves as the probe row)."""
    taken = 0
    for batch in batches:
        if not batch:
            continue
        if cap is not None and taken + len(batch) > cap:
            head = batch[: cap - taken]
            if head:
                yield head
            return True
        taken += len(batch)
        yield batch
    return False


#: Batches that may wait in the UI thread's queue per stream. The worker pauses beyond
#: this, so a fast producer cannot bury the event loop (timers, paints) under a backlog.
BATCHES_IN_FLIGHT = 4


class _StreamFlags:
    """What the UI thread and one streaming worker share: a stop flag, the credits
    that bound the batches in flight, and the session hand-over for closing."""

    def __init__(self, in_flight: int = BATCHES_IN_FLIGHT) -> None:
        self.stop = False
        self._credits = threading.Semaphore(in_flight)
        self.lock = threading.Lock()
        self.close_session = False  # guarded by lock, with ended
        self.ended = False

    def halt(self, *_args: object) -> None:
        """Stop the worker at its next batch (also connected to its owner's ``destroyed``)."""
        self.stop = True

    def take_credit(self) -> bool:
        """Worker side: wait until the UI has room for another batch; False when stopped."""
        while not self._credits.acquire(timeout=0.05):
            if self.stop:
                return False
        return not self.stop

    def give_credit(self) -> None:
        """UI side: one batch has been handled."""
        self._credits.release()

    def end(self) -> bool:
        """Called by the worker as it ends; whether it must close the session."""
        with self.lock:
            self.ended = True
            return self.close_session

    def ask_close(self) -> bool:
        """Ask the worker to close the session; False when it has already ended."""
        with self.lock:
            self.close_session = True
            return not self.ended


def _feed(
    result: StatementResult, cap: int | None, generation: int, flags: _StreamFlags
) -> Iterator[Any]:
    """Worker body of :class:`ResultFeeder`: yields ``(generation, rows)``."""
    capped = capped_batches(result.batches(), cap)
    try:
        while flags.take_credit():
            try:
                rows = next(capped)
            except StopIteration as stop:
                flags.give_credit()  # taken for a batch that never came
                return generation, bool(stop.value)
            yield generation, rows
        return None
    finally:
        capped.close()
        result.close()  # frees the cursor even when quit() stopped us mid-stream


class ResultFeeder(QObject):
    """Streams one result into one model on a worker; a child of the model, so the
    connections die with the model (closing its tab stops deliveries)."""

    #: The model has been finished (normally, at the cap, stopped or failed).
    done = Signal()
    #: The stream raised; the argument is the exception.
    failed = Signal(object)

    def __init__(self, result: StatementResult, model: ResultsModel, cap: int | None) -> None:
        super().__init__(model)
        self.result = result
        self.model = model
        self.cap = cap
        self.generation = model.generation
        self.worker: Worker | None = None
        self._finished = False
        self._flags = _StreamFlags()
        # Destroying the model (closing its tab) stops the worker even if nobody calls stop().
        self.destroyed.connect(self._flags.halt)

    def start(self, pool: QThreadPool | None = None) -> Worker:
        worker = Worker(_feed, self.result, self.cap, self.generation, self._flags)
        worker.generation = self.generation
        worker.signals.yielded.connect(self._on_rows)
        worker.signals.returned.connect(self._on_returned)
        worker.signals.errored.connect(self._on_errored)
        worker.signals.finished.connect(self._on_finished)
        self.worker = worker
        return start_worker(worker, _pool=pool)

    def stop(self) -> None:
        """Stop at the next batch; the model is finished as "stopped"."""
        self._flags.halt()
        if self.worker is not None:
            self.worker.quit()

    def _on_rows(self, payload: tuple[int, list[Row]]) -> None:
        generation, rows = payload
        self._flags.give_credit()
        self.model.append_rows(rows, generation=generation)

    def _on_returned(self, payload: tuple[int, bool] | None) -> None:
        if payload is None:  # stopped while waiting for room
            return
        generation, more = payload
        self._finished = True
        self.model.finish(True, more, generation=generation, elapsed=self.result.elapsed)

    def _on_errored(self, error: object) -> None:
        self._finished = True
        self.model.finish(False, False, generation=self.generation)
        self.failed.emit(error)

    def _on_finished(self) -> None:
        if not self._finished:  # quit() before the end
            self.model.finish(False, False, generation=self.generation)
        self._finished = True
        self.result = None  # type: ignore[assignment]
        self.worker = None
        self.done.emit()

    @property
    def is_done(self) -> bool:
        return self._finished and self.worker is None


def stream_result(
    result: StatementResult,
    model: ResultsModel,
    cap: int | None = None,
    batch_size: int | None = None,
    *,
    pool: QThreadPool | None = None,
) -> Worker:
    """Reset ``model`` to ``result``'s columns and stream its rows in on a worker.

    ``cap`` defaults to ``model.cap``; ``batch_size`` (rows per ``fetchMore``) to
    ``model.batch_size``. Call ``worker.quit()`` to stop; the result's cursor is closed
    on the worker thread either way.
    """
    if batch_size is not None:
        model.batch_size = max(1, batch_size)
    for old in model.findChildren(ResultFeeder):
        old.stop()
        if old.is_done:
            # Not deleteLater(): a pending deferred delete of a child crashes PySide 6.12
            # when the parent model is then deleted directly. Unparented, Python frees it.
            old.setParent(None)
    generation = model.reset()
    model.set_columns(result.columns or [], generation=generation)
    feeder = ResultFeeder(result, model, model.cap if cap is None else cap)
    return feeder.start(pool)


# --------------------------------------------------------------------------- runner


def _run(
    session: Session, text: str, cap: int | None, generation: int, flags: _StreamFlags
) -> Iterator[tuple[Any, ...]]:
    """Worker body of :class:`QueryRunner`: yields ``(generation, event, index, ...)``.

    One statement at a time on the one connection: a result is streamed up to the cap
    (plus the probe batch) and closed before the next statement may run.
    """
    try:
        if flags.stop:  # discarded before the worker got a thread
            return
        for result in session.execute(text):
            yield generation, "started", result.index, result
            more = False
            try:
                if result.error is None and result.returns_rows:
                    capped = capped_batches(result.batches(), cap)
                    try:
                        while flags.take_credit():
                            try:
                                rows = next(capped)
                            except StopIteration as stop:
                                more = bool(stop.value)
                                flags.give_credit()  # taken for a batch that never came
                                break
                            yield generation, "batch", result.index, rows
                    finally:
                        capped.close()
            except EngineError as exc:  # a failure while streaming (e.g. cancelled)
                if result.error is None:
                    result.error = exc
            finally:
                result.close()
            if flags.stop and result.error is None and result.returns_rows and not more:
                # Stopped while rows were still coming: say so rather than look complete.
                result.error = QueryCancelled("Query cancelled by the user")
            yield generation, "finished", result.index, result, more
            if result.error is not None or flags.stop:
                break
    except Exception as exc:  # reported as an event so it carries the generation
        yield generation, "failed", -1, exc
    finally:
        if flags.end():
            session.close()


class QueryRunner(QObject):
    """Runs the user's text on one session, on ONE worker, statement after statement.

    The main window typically keeps one runner per playground (a child of the tab, so
    its connections go with it) and makes a result tab per statement::

        runner = QueryRunner(session, cap=settings.row_cap, parent=tab)
        runner.statement_started.connect(tab.on_statement_started)   # (index, result)
        runner.batch.connect(tab.on_batch)                           # (index, rows)
        runner.statement_finished.connect(tab.on_statement_finished) # (index, result, more)
        runner.all_done.connect(tab.on_all_done)
        runner.failed.connect(tab.on_failed)                         # (exception)
        runner.run(editor_text)

    where ``on_statement_started`` creates a :class:`ResultsModel` when
    ``result.returns_rows`` and calls ``model.set_columns(result.columns)``,
    ``on_batch`` calls ``model.append_rows(rows)``, and ``on_statement_finished`` calls
    ``model.finish(True, more, elapsed=result.elapsed)`` (``finish(False)`` if
    ``result.error``) and shows ``result.status``, ``rowcount``, ``elapsed``,
    ``notices`` and ``error`` (with ``error.position``) in the messages pane.

    Only ``columns`` and ``statement`` of a result are final at ``statement_started``;
    read the rest at ``statement_finished``. After an error nothing more runs.
    """

    #: (index, StatementResult): the statement began returning.
    statement_started = Signal(int, object)
    #: (index, list of row tuples)
    batch = Signal(int, object)
    #: (index, StatementResult with status/rowcount/elapsed/notices/error, more_available)
    statement_finished = Signal(int, object, bool)
    #: The run ended (after everything else, also after a failure or a cancel).
    all_done = Signal()
    #: The run broke outside any statement (e.g. the connection was lost): the exception.
    failed = Signal(object)

    def __init__(
        self,
        session: Session,
        *,
        cap: int | None = DEFAULT_ROW_CAP,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.cap = cap
        self.generation = 0
        self._worker: Worker | None = None
        self._flags = _StreamFlags()

    @property
    def is_running(self) -> bool:
        """Whether a worker is still using the session (also after :meth:`discard`)."""
        return self._worker is not None and not self._worker.is_done

    def run(self, text: str, pool: QThreadPool | None = None) -> Worker:
        """Start running ``text``; one run at a time per session."""
        if self.is_running:
            raise RuntimeError("a query is already running on this connection")
        self.generation += 1
        self._flags = _StreamFlags()
        worker = Worker(_run, self.session, text, self.cap, self.generation, self._flags)
        worker.generation = self.generation
        self.destroyed.connect(self._flags.halt)  # a closed tab stops its run
        worker.signals.yielded.connect(self._on_event)
        worker.signals.finished.connect(self._on_finished)
        self._worker = worker
        return start_worker(worker, _pool=pool)

    def cancel(self) -> None:
        """Stop the running statement (server-side cancel) and run nothing after it.

        The cancelled statement still reports ``statement_finished`` with its error, then
        ``all_done`` follows.
        """
        if self.is_running:
            self._flags.stop = True
            self.session.cancel()

    def discard(self, close_session: bool = False) -> None:
        """Stop and forget the current run (closing a tab): no further signals from it.

        With ``close_session`` the session is closed on a worker thread once the run has
        stopped (by the run's own worker, or a new one if nothing is running).
        """
        self.generation += 1
        worker, flags = self._worker, self._flags
        running = worker is not None and not worker.is_done
        if running:
            # Not worker.quit(): the run must reach its own clean-up (closing the result
            # and, if asked, the session), which a generator stopped before it started
            # would skip. The stop flag and the server-side cancel end it just as soon.
            flags.stop = True
            self.session.cancel()
        if close_session and not (running and flags.ask_close()):
            start_worker(self.session.close)

    def _current(self, generation: int) -> bool:
        return generation == self.generation

    def _on_event(self, payload: tuple[Any, ...]) -> None:
        generation, kind, index, *rest = payload
        if not self._current(generation):
            return  # an old run: it was stopped, its credits no longer matter
        if kind == "batch":
            self._flags.give_credit()
            self.batch.emit(index, rest[0])
        elif kind == "started":
            self.statement_started.emit(index, rest[0])
        elif kind == "finished":
            self.statement_finished.emit(index, rest[0], rest[1])
        else:
            self.failed.emit(rest[0])

    def _on_finished(self) -> None:
        worker = self._worker
        if worker is None or not worker.is_done:
            return
        self._worker = None
        if self._current(worker.generation):
            self.all_done.emit()
