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

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from ..engines.base import StatementResult
from .workers import Worker, start_worker

if TYPE_CHECKING:
    from .results_model import ResultsModel

#: Rows kept per result before the feeder stops and reports "N of >N rows".
DEFAULT_ROW_CAP = 100_000

Row = Sequence[Any]


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
    cap, and :attr:`stopped` whether the stop flag ended it early. Call :meth:`close` in
    a ``finally`` to free the underlying stream.
    """

    def __init__(self, batches: Iterator[list[Row]], cap: int | None, flags: StreamFlags) -> None:
        self._capped = capped_batches(batches, cap)
        self._flags = flags
        self.more = False
        self.stopped = False

    def __iter__(self) -> Iterator[list[Row]]:
        while self._flags.take_credit():
            try:
                rows = next(self._capped)
            except StopIteration as stop:
                self.more = bool(stop.value)
                self._flags.give_credit()  # taken for a batch that never came
                return
            yield rows
        self.stopped = True

    def close(self) -> None:
        self._capped.close()


def _feed(
    result: StatementResult, cap: int | None, generation: int, flags: StreamFlags
) -> Iterator[Any]:
    """Worker body of :class:`ResultFeeder`: yields ``(generation, rows)``."""
    paced = PacedBatches(result.batches(), cap, flags)
    try:
        for rows in paced:
            yield generation, rows
        return None if paced.stopped else (generation, paced.more)
    finally:
        paced.close()
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
        self._flags = StreamFlags()
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
