"""Streaming one engine result into a :class:`~.results_model.ResultsModel` on a worker.

The model lives on the UI thread; a result's rows come from the engine on a worker. This
module is the hand-over between the two: :func:`capped_batches` stops at the row cap
(and still finds out whether more rows existed), :class:`StreamFlags` and
:class:`PacedBatches` pace the worker so a fast producer cannot bury the event loop, and
:func:`stream_result` / :class:`ResultFeeder` run one
:class:`~dbplay_desktop.engines.base.StatementResult` into one model.
:mod:`.query_runner` reuses the same pacing for whole scripts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from dbplay_desktop.engines.base import Column, StatementResult
from dbplay_desktop.ui.workers import Worker, start_worker
from dbplay_desktop.values import row_size

if TYPE_CHECKING:
    from dbplay_desktop.ui.results.model import ResultsModel

#: Rows kept per result before the feeder stops and reports "N of >N rows".
DEFAULT_ROW_CAP = 100_000

#: Estimated bytes (:func:`~dbplay_desktop.values.row_size`) of the rows one result keeps
#: before it stops, like the row cap, with "N of >N rows".
DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024
#: Environment variable overriding :data:`DEFAULT_MEMORY_LIMIT`: bytes, or a number with
#: ``K``, ``M`` or ``G`` (``512M``); ``0`` or ``none`` for no limit.
MEMORY_LIMIT_ENV = "DBPLAY_RESULT_MEMORY_LIMIT"

Row = Sequence[Any]


def result_memory_limit(environ: dict[str, str] | None = None) -> int | None:
    """The memory budget of one result in bytes (None: unlimited), from
    :data:`MEMORY_LIMIT_ENV` when set to something readable, else the default."""
    raw = (os.environ if environ is None else environ).get(MEMORY_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_MEMORY_LIMIT
    if raw.lower() in ("0", "none", "off", "unlimited"):
        return None
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(raw[-1].upper(), 1)
    number = raw[:-1] if scale != 1 else raw
    try:
        value = int(float(number.strip()) * scale)
    except ValueError:
        return DEFAULT_MEMORY_LIMIT
    return value if value > 0 else None


def format_bytes(count: int) -> str:
    """``256 MB``, ``1.5 GB``, ``512 KB``: a budget as the footer names it."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= size:
            value = count / size
            if value >= 10 or value == int(value):
                return f"{value:,.0f} {unit}"
            return f"{value:,.1f} {unit}"
    return f"{count:,} bytes"


class RowLimit:
    """Where one stream stops: after ``rows`` rows, or at the row that brings the rows'
    estimated size to ``budget`` bytes (that row is kept) -- whichever comes first.

    :meth:`take` says how many rows of a batch fit; once a limit is reached
    (:attr:`reached`), the next batch only serves as the probe that tells whether more
    rows existed. The results model keeps the same count of bytes, so it knows when a
    stream stopped for its budget rather than for the row cap.
    """

    def __init__(self, rows: int | None, budget: int | None = None) -> None:
        self.rows = rows
        self.budget = budget
        self.taken = 0
        self.used = 0
        #: The memory budget was reached (the row cap may have been reached too).
        self.memory_reached = budget is not None and budget <= 0
        self.reached = self.memory_reached or (rows is not None and rows <= 0)

    def take(self, batch: Sequence[Row]) -> int:
        """How many rows at the head of ``batch`` to keep (counted as taken)."""
        if self.reached:
            return 0
        count = len(batch)
        if self.rows is not None:
            count = min(count, self.rows - self.taken)
        if self.budget is not None:
            used, budget = self.used, self.budget
            for position in range(count):
                used += row_size(batch[position])
                if used >= budget:
                    count = position + 1
                    self.memory_reached = True
                    break
            self.used = used
        self.taken += count
        if self.memory_reached or (self.rows is not None and self.taken >= self.rows):
            self.reached = True
        return count


def grown_columns(result: StatementResult | None, seen: int) -> list[Column] | None:
    """A snapshot of ``result``'s columns when it has more than ``seen`` (see
    :meth:`~dbplay_desktop.engines.base.StatementResult.add_columns`), else None."""
    columns = result.columns if result is not None else None
    if columns is None or len(columns) <= seen:
        return None
    return list(columns)


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


class StreamFlags:
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


class PacedBatches:
    """A result's capped batches, each taken only once the UI has room for it.

    Iterate it on the worker; afterwards :attr:`more` says whether rows existed past the
    cap (or the memory ``budget``, see :class:`RowLimit`), :attr:`stopped` whether the
    stop flag ended it early, and :attr:`leftover` holds the rows of the probe batch past
    the limit (so the result can be continued later without losing them). Call
    :meth:`close` in a ``finally`` to free the stream, unless it is handed on
    (:func:`adopt_open_result`).
    """

    def __init__(
        self,
        batches: Iterator[list[Row]],
        cap: int | None,
        flags: StreamFlags,
        budget: int | None = None,
    ) -> None:
        self.batches = batches
        self.limit = RowLimit(cap, budget)
        self._flags = flags
        self.more = False
        self.stopped = False
        self.leftover: list[Row] = []

    def __iter__(self) -> Iterator[list[Row]]:
        limit = self.limit
        while self._flags.take_credit():
            rows = next(self.batches, None)
            while rows is not None and not rows:
                rows = next(self.batches, None)
            if rows is None:
                self._flags.give_credit()  # taken for a batch that never came
                return
            count = limit.take(rows)
            if count < len(rows):
                head, self.leftover = rows[:count], list(rows[count:])
                self.more = True
                if head:
                    yield head
                else:
                    self._flags.give_credit()
                return
            yield rows
        self.stopped = True

    def close(self) -> None:
        close = getattr(self.batches, "close", None)
        if close is not None:
            close()


class _Source:
    """One result's batches, shared by the workers that stream it one after another.

    A stream that stops at a limit with rows left keeps the result open here (with the
    rows read past the limit) so *Fetch more* can continue it; :meth:`release` says
    nobody will, and the result is closed on a worker -- at once, or by the worker
    still using it as it ends.
    """

    def __init__(
        self,
        result: StatementResult,
        batches: Iterator[list[Row]] | None = None,
        pending: list[Row] | None = None,
    ) -> None:
        self.result: StatementResult | None = result
        self._batches = batches if batches is not None else result.batches()
        self.pending: list[Row] = list(pending or [])
        #: Columns the model has been given (the result's may grow while it streams).
        self.seen_columns = len(result.columns or [])
        self.flags = StreamFlags()
        self._lock = threading.Condition()
        self._busy = False
        self._released = False
        self._closed = False
        self._handed_over = False  # the session's next run closes it (on its own worker)

    def next_batch(self) -> list[Row] | None:
        """Worker side: the next non-empty batch, or None at the end."""
        if self.pending:
            rows, self.pending = self.pending, []
            return rows
        for batch in self._batches:
            if batch:
                return list(batch)
        return None

    def acquire(self) -> bool:
        """Worker side: start using the result (once the worker before has let go of it);
        False when it was released meanwhile."""
        with self._lock:
            while self._busy and not self._released:
                self._lock.wait(0.05)
            if self._released or self._closed:
                return False
            self._busy = True
            return True

    def park(self, keep: bool) -> None:
        """Worker side: done for now; keep the result open only if asked and still wanted."""
        with self._lock:
            self._busy = False
            close = not keep or self._released
            if close:
                self._closed = True
            self._lock.notify_all()
        if close:
            self._close()

    def release(self, *_args: object) -> None:
        """Any thread: nobody will fetch again; stop a running worker and free the result."""
        with self._lock:
            self._released = True
            self.flags.halt()
            if self._busy or self._closed or self._handed_over:
                return
            self._closed = True
        start_worker(self._close)

    def hand_over(self) -> None:
        """UI thread: the session's next run will close this result itself, first thing
        on its worker (:meth:`close_when_idle`), so two threads never use the session."""
        with self._lock:
            self._handed_over = True
            self._released = True
            self.flags.halt()

    def close_when_idle(self) -> None:
        """Worker side: wait for a fetch still running to stop, then close the result."""
        with self._lock:
            self._released = True
            self.flags.halt()
            while self._busy:
                self._lock.wait(0.05)
            if self._closed:
                return
            self._closed = True
        self._close()

    @property
    def is_open(self) -> bool:
        return not self._closed

    def _close(self) -> None:
        result, self.result = self.result, None
        self.pending = []
        try:
            self._batches.close()
        finally:
            if result is not None:
                result.close()


def _feed(
    source: _Source,
    limit: int | None,
    generation: int,
    flags: StreamFlags,
    keep: bool,
    budget: int | None = None,
) -> Iterator[Any]:
    """Worker body of :class:`ResultFeeder`: yields ``(generation, rows, columns)`` up to
    ``limit`` rows (and ``budget`` bytes, see :class:`RowLimit`) and returns
    ``(generation, more)``, or None when stopped. ``columns`` is None, or every column of
    the result when it has grown since the last batch (they come before the rows that
    use them).

    The batch that crosses the limit is the probe: its first rows are shown, the rest wait
    in the source for the next fetch. With ``keep`` the result stays open after the limit
    (and after a stop, which then counts as reaching the limit).
    """
    if not source.acquire():
        return None
    parked = False
    try:
        rows_limit = RowLimit(limit, budget)
        while True:
            if not flags.take_credit():
                parked = keep
                return (generation, True) if keep else None
            rows = source.next_batch()
            columns = grown_columns(source.result, source.seen_columns)
            if columns is not None:
                source.seen_columns = len(columns)
            if rows is None:
                if columns is not None:
                    yield generation, [], columns
                else:
                    flags.give_credit()  # taken for a batch that never came
                return generation, False
            count = rows_limit.take(rows)
            if count < len(rows):
                head, source.pending = rows[:count], rows[count:]
                parked = keep
                if head or columns is not None:
                    yield generation, head, columns
                else:
                    flags.give_credit()
                return generation, True
            yield generation, rows, columns
    finally:
        source.park(parked)


class ResultFeeder(QObject):
    """Streams one result into one model on a worker; a child of the model, so the
    connections die with the model (closing its tab stops deliveries).

    With ``resumable`` the result stays open when the cap stops it, and the feeder is
    the model's :attr:`~.results_model.ResultsModel.fetcher`: *Fetch more* and *Fetch
    all* continue the same cursor, and *Stop* parks it again.
    """

    #: The model has been finished (normally, at the cap, stopped or failed).
    done = Signal()
    #: The stream raised; the argument is the exception.
    failed = Signal(object)

    def __init__(
        self,
        result: StatementResult,
        model: ResultsModel,
        cap: int | None,
        *,
        resumable: bool = False,
        source: _Source | None = None,
    ) -> None:
        super().__init__(model)
        self.model = model
        self.cap = cap
        self.resumable = resumable
        self.generation = model.generation
        self.worker: Worker | None = None
        self._finished = False
        self._parked = False  # stopped at a limit with the result kept open
        self._elapsed_of = result
        self._source = source if source is not None else _Source(result)
        # Destroying the model (closing its tab) stops the worker even if nobody calls
        # stop(), and frees a result kept open for Fetch more.
        self.destroyed.connect(self._source.release)

    def start(self, pool: QThreadPool | None = None) -> Worker:
        return self._start(self.cap, resumed=False, pool=pool)

    def _start(self, limit: int | None, *, resumed: bool, pool: QThreadPool | None) -> Worker:
        flags = StreamFlags()
        self._source.flags = flags
        self._finished = self._parked = False
        worker = Worker(_feed, self._source, limit, self.generation, flags, self.resumable,
                        self.model.memory_left())
        worker.generation = self.generation
        worker.signals.yielded.connect(self._on_rows)
        worker.signals.returned.connect(self._on_returned)
        worker.signals.errored.connect(self._on_errored)
        worker.signals.finished.connect(self._on_finished)
        self.worker = worker
        return start_worker(worker, _pool=pool)

    # -- the model's fetcher -------------------------------------------------------
    @property
    def can_fetch(self) -> bool:
        """Whether the result is parked at a limit and may be continued."""
        return self._parked and self._source.is_open

    def fetch(self, count: int | None, pool: QThreadPool | None = None) -> Worker | None:
        """Continue the parked result for ``count`` more rows (None: to the end)."""
        if not self.can_fetch:
            return None
        return self._start(count, resumed=True, pool=pool)

    def stop_fetching(self) -> None:
        """Stop a running fetch at its next batch; the result stays open for later."""
        self._source.flags.halt()

    def stop(self) -> None:
        """Stop at the next batch and free the result; the model is finished as "stopped"
        unless it was already finished."""
        self._source.release()
        if self.worker is not None:
            self.worker.quit()

    # -- deliveries ----------------------------------------------------------------
    def _on_rows(self, payload: tuple[int, list[Row], list[Column] | None]) -> None:
        generation, rows, columns = payload
        self._source.flags.give_credit()
        if columns is not None and generation == self.model.generation:
            self.model.add_columns(columns[self.model.columnCount():], generation=generation)
        self.model.append_rows(rows, generation=generation)

    def _on_returned(self, payload: tuple[int, bool] | None) -> None:
        if payload is None:  # stopped while waiting for room
            return
        generation, more = payload
        self._finished = True
        self._parked = more and self.resumable
        elapsed = self._elapsed_of.elapsed if self._elapsed_of is not None else None
        self.model.finish(True, more, generation=generation, elapsed=elapsed)

    def _on_errored(self, error: object) -> None:
        self._finished = True
        self.model.finish(False, False, generation=self.generation)
        self.failed.emit(error)

    def _on_finished(self) -> None:
        worker, sender = self.worker, self.sender()
        if worker is not None and sender is not None and sender is not worker.signals:
            # A fetch that parked and returned before this one started: its late
            # ``finished`` must not end the fetch now running.
            return
        if not self._finished:  # quit() before the end
            self.model.finish(False, False, generation=self.generation)
        self._finished = True
        self.worker = None
        if not self._source.is_open:
            self._elapsed_of = None  # type: ignore[assignment]
        self.done.emit()

    @property
    def is_done(self) -> bool:
        return self._finished and self.worker is None

    def hand_over(self) -> _Source:
        """The open result, for the session's next run to close (see :class:`_Source`);
        this feeder fetches no more."""
        self._source.hand_over()
        self._parked = False
        return self._source


def stream_result(
    result: StatementResult,
    model: ResultsModel,
    cap: int | None = None,
    batch_size: int | None = None,
    *,
    pool: QThreadPool | None = None,
    resumable: bool = False,
) -> Worker:
    """Reset ``model`` to ``result``'s columns and stream its rows in on a worker.

    ``cap`` defaults to ``model.cap``; ``batch_size`` (rows per ``fetchMore``) to
    ``model.batch_size``. Call ``worker.quit()`` to stop; the result's cursor is closed
    on the worker thread either way. With ``resumable`` a result stopped by the cap
    stays open for the model's *Fetch more* / *Fetch all* until the model goes away
    or is streamed into again (keep its session idle meanwhile).
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
    model.set_columns(result.columns or [], generation=generation, kind=result.kind)
    feeder = ResultFeeder(result, model, model.cap if cap is None else cap, resumable=resumable)
    model.fetcher = feeder if resumable else None
    return feeder.start(pool)


def adopt_open_result(
    result: StatementResult,
    batches: Iterator[list[Row]],
    leftover: list[Row],
    model: ResultsModel,
) -> ResultFeeder:
    """Make a result that a run stopped at the cap (and left open) continuable.

    ``model`` already holds the rows up to the cap and is finished with "more";
    ``batches`` is the result's own stream, where the run stopped, and ``leftover`` the
    rows it read past the cap. The returned feeder is the model's fetcher: *Fetch more*
    and *Fetch all* go on from there. Keep the session idle while it may fetch: before
    the session runs anything else, :meth:`ResultFeeder.hand_over` it to that run.
    """
    source = _Source(result, batches, leftover)
    feeder = ResultFeeder(result, model, model.cap, resumable=True, source=source)
    feeder._finished = feeder._parked = True
    model.fetcher = feeder
    return feeder
