"""Running the user's text on a session, statement after statement, on ONE worker.

:class:`QueryRunner` is what the playground uses for its result tabs: one run at a time
per session, each statement's rows streamed (and capped) with the same pacing as
:func:`~.result_stream.stream_result`, cancel and discard without ever blocking the UI
thread. It knows nothing about models: it emits signals, the caller fills models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from dbplay_desktop.engines.base import EngineError, QueryCancelled, Session
from dbplay_desktop.ui.playground.event_pump import pump
from dbplay_desktop.ui.results.stream import (
    DEFAULT_ROW_CAP,
    PacedBatches,
    StreamFlags,
    grown_columns,
    result_memory_limit,
)
from dbplay_desktop.ui.workers import Worker, start_worker


def _run(
    session: Session,
    text: str,
    cap: int | None,
    generation: int,
    flags: StreamFlags,
    keep_open: int | None = None,
    handed_over: Sequence[Any] = (),
    budget: int | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Worker body of :class:`QueryRunner`: yields ``(generation, event, index, ...)``.

    One statement at a time on the one connection: a result is streamed up to the cap
    or the memory ``budget`` (plus the probe batch) and closed before the next statement
    may run. Columns a result adds while it streams are sent (as a "columns" event with
    all its columns) before the rows that use them. A failure while the rows stream is
    raised by the result's batches and kept as its ``error`` (the engine contract's
    rule), so the "finished" event always carries it. The statement
    numbered ``keep_open`` (the run's last) stays open when the cap stops it, so the
    grid can fetch more of it later: its "finished" event then carries the stream and
    the rows read past the cap. ``handed_over`` are results an earlier run left open:
    they are closed first, here, so that two threads never use the session at once.
    """
    try:
        for source in handed_over:
            source.close_when_idle()
        if flags.stop:  # discarded before the worker got a thread
            return
        for result in session.execute(text):
            seen = len(result.columns or [])
            yield generation, "started", result.index, result
            more = False
            parked = None
            try:
                if result.error is None and result.returns_rows:
                    paced = PacedBatches(result.batches(), cap, flags, budget)
                    try:
                        for rows in paced:
                            columns = grown_columns(result, seen)
                            if columns is not None:
                                seen = len(columns)
                                yield generation, "columns", result.index, columns
                            yield generation, "batch", result.index, rows
                        columns = grown_columns(result, seen)  # found by the probe batch
                        if columns is not None:
                            yield generation, "columns", result.index, columns
                    finally:
                        more = paced.more
                        # At the memory budget the grid can take no more: nothing to park.
                        resumable = more and not paced.limit.memory_reached
                        if resumable and not flags.stop and result.index == keep_open:
                            parked = (paced.batches, paced.leftover)
                        else:
                            paced.close()
            except EngineError as exc:  # a failure while streaming (e.g. cancelled)
                if result.error is None:
                    result.error = exc
                parked = None
            finally:
                if parked is None:
                    result.close()
            if flags.stop and result.error is None and result.returns_rows and not more:
                # Stopped while rows were still coming: say so rather than look complete.
                result.error = QueryCancelled("Query cancelled by the user")
            yield generation, "finished", result.index, result, more, parked
            if parked is not None:
                return  # the last statement: leave its result open for Fetch more
            if result.error is not None or flags.stop:
                break
    except Exception as exc:  # reported as an event so it carries the generation
        yield generation, "failed", -1, exc
    finally:
        if flags.end():
            session.close()


#: How often a stop is sent again while the run's worker still runs, and for how long.
CANCEL_REPEAT_SECONDS = 0.5
CANCEL_GIVE_UP_SECONDS = 120.0


def _cancel_until_stopped(session: Session, worker: Worker) -> None:
    """Send the session's cancel, off the UI thread, until the run's worker has ended.

    A cancel that reaches an engine just before its statement starts (the worker between
    taking the text and sending it) finds nothing to interrupt and is lost; sending it
    again closes that gap for every engine. The run stops after the statement either
    way, so a repeated cancel never reaches a later statement. A cancel can wait on the
    network (some engines open a connection to send it), which the UI must not.
    """
    deadline = time.monotonic() + CANCEL_GIVE_UP_SECONDS
    while not worker.is_done and time.monotonic() < deadline:
        try:
            session.cancel()
        except Exception:  # a failed cancel must not end the retries
            pass
        pause_until = time.monotonic() + CANCEL_REPEAT_SECONDS
        while not worker.is_done and time.monotonic() < pause_until:
            time.sleep(0.02)


class QueryRunner(QObject):
    """Runs the user's text on one session, on ONE worker, statement after statement.

    The main window typically keeps one runner per playground (a child of the tab, so
    its connections go with it) and makes a result tab per statement::

        runner = QueryRunner(session, cap=settings.row_cap, parent=tab)
        runner.statement_started.connect(tab.on_statement_started)   # (index, result)
        runner.columns_added.connect(tab.on_columns_added)           # (index, columns)
        runner.batch.connect(tab.on_batch)                           # (index, rows)
        runner.statement_finished.connect(tab.on_statement_finished) # (index, result, more)
        runner.all_done.connect(tab.on_all_done)
        runner.failed.connect(tab.on_failed)                         # (exception)
        runner.run(editor_text)

    where ``on_statement_started`` creates a :class:`~.results_model.ResultsModel` when
    ``result.returns_rows`` and calls ``model.set_columns(result.columns)``,
    ``on_batch`` calls ``model.append_rows(rows)``, and ``on_statement_finished`` calls
    ``model.finish(True, more, elapsed=result.elapsed)`` (``finish(False)`` if
    ``result.error``) and shows ``result.status``, ``rowcount``, ``elapsed``,
    ``notices`` and ``error`` (with ``error.position``) in the messages pane.

    Only ``statement`` of a result is final at ``statement_started``, and ``columns``
    (which only grow, through ``columns_added``); read the rest at
    ``statement_finished``. After an error nothing more runs.

    ``memory_limit`` (default: :func:`~.stream.result_memory_limit`) stops a result's
    rows, like the cap, at the row that brings their estimated size to that many bytes;
    give the models the same limit (they count the same bytes).
    """

    #: (index, StatementResult): the statement began returning.
    statement_started = Signal(int, object)
    #: (index, list of Column): every column of a result that has grown while streaming
    #: (an engine may find new fields as it reads: ``StatementResult.add_columns``);
    #: emitted before the batch whose rows use them. Earlier rows are shorter: their
    #: missing cells are ``values.MISSING``. The list may start with columns the
    #: receiver already has (``result.columns`` read at ``statement_started`` may have
    #: grown by then): add only those past the ones it has.
    columns_added = Signal(int, object)
    #: (index, list of row tuples)
    batch = Signal(int, object)
    #: (index, StatementResult with status/rowcount/elapsed/notices/error, more_available)
    statement_finished = Signal(int, object, bool)
    #: (index, StatementResult, (batches, leftover rows)): the run's last result stopped
    #: at the cap and was left open to be continued (see ``adopt_open_result``); emitted
    #: just before its ``statement_finished``.
    result_parked = Signal(int, object, object)
    #: The run ended (after everything else, also after a failure or a cancel).
    all_done = Signal()
    #: The run broke outside any statement (e.g. the connection was lost): the exception.
    failed = Signal(object)

    def __init__(
        self,
        session: Session,
        *,
        cap: int | None = DEFAULT_ROW_CAP,
        memory_limit: int | str | None = "default",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.cap = cap
        self.memory_limit: int | None = (
            result_memory_limit() if isinstance(memory_limit, str) else memory_limit)
        self.generation = 0
        self._worker: Worker | None = None
        self._flags = StreamFlags()
        #: Events of this runner the UI thread's pump has not handled yet.
        self._pending = 0

    @property
    def is_running(self) -> bool:
        """Whether a worker is still using the session (also after :meth:`discard`), or
        its last events still wait for the UI thread (:mod:`.event_pump`)."""
        return self._worker is not None and (not self._worker.is_done or self._pending > 0)

    def run(
        self,
        text: str,
        pool: QThreadPool | None = None,
        *,
        keep_open: int | None = None,
        handed_over: Sequence[Any] = (),
    ) -> Worker:
        """Start running ``text``; one run at a time per session.

        ``keep_open`` is the index of a statement whose capped result stays open (the
        last one: :attr:`result_parked`); ``handed_over`` are open results of earlier
        runs, closed on the run's worker before anything runs.
        """
        if self.is_running:
            raise RuntimeError("a query is already running on this connection")
        self.generation += 1
        self._flags = StreamFlags()
        worker = Worker(
            _run, self.session, text, self.cap, self.generation, self._flags,
            keep_open, tuple(handed_over), self.memory_limit,
        )
        worker.generation = self.generation
        self.destroyed.connect(self._flags.halt)  # a closed tab stops its run
        worker.signals.yielded.connect(self._on_yielded)
        worker.signals.finished.connect(self._on_worker_finished)
        self._worker = worker
        return start_worker(worker, _pool=pool)

    def cancel(self) -> None:
        """Stop the running statement (server-side cancel) and run nothing after it.

        The cancelled statement still reports ``statement_finished`` with its error, then
        ``all_done`` follows.
        """
        if self.is_running:
            self._flags.stop = True
            self._send_cancel()

    def _send_cancel(self) -> None:
        worker = self._worker
        if worker is not None and not worker.is_done:
            start_worker(_cancel_until_stopped, self.session, worker)

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
            self._send_cancel()
        if close_session and not (running and flags.ask_close()):
            start_worker(self.session.close)

    def _current(self, generation: int) -> bool:
        return generation == self.generation

    def _on_yielded(self, payload: tuple[Any, ...]) -> None:
        self._pending += 1
        pump().post(self, self._on_event, payload)

    def _on_worker_finished(self) -> None:
        self._pending += 1
        pump().post(self, self._on_finished, None)

    def _on_event(self, payload: tuple[Any, ...]) -> None:
        self._pending -= 1
        generation, kind, index, *rest = payload
        if not self._current(generation):
            return  # an old run: it was stopped, its credits no longer matter
        if kind == "batch":
            self._flags.give_credit()
            self.batch.emit(index, rest[0])
        elif kind == "started":
            self.statement_started.emit(index, rest[0])
        elif kind == "columns":
            self.columns_added.emit(index, rest[0])
        elif kind == "finished":
            if rest[2] is not None:
                self.result_parked.emit(index, rest[0], rest[2])
            self.statement_finished.emit(index, rest[0], rest[1])
        else:
            self.failed.emit(rest[0])

    def _on_finished(self, _argument: object = None) -> None:
        self._pending -= 1
        worker = self._worker
        if worker is None or not worker.is_done:
            return
        self._worker = None
        if self._current(worker.generation):
            self.all_done.emit()
