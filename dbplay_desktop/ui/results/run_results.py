"""What one run shows: a grid tab per statement that returned rows, a Messages line per
statement, red marks in the editor where errors point, a clock while it runs, and a
tally for the history.

:class:`RunResults` listens to a :class:`~.results_model.QueryRunner` and knows nothing
about sandboxes; the playground starts runs and decides what the tally means (a run that
changed the database marks the playground modified and refreshes the catalog).
Error positions from the engine are offsets into the text that ran; they are mapped back
into the editor's text, or left unmarked when the text did not come from the editor
(e.g. a query run again from the history).

A statement that was cancelled or failed while its rows were coming keeps its result tab,
as in DBeaver: the tab is marked and its footer says what happened ("Cancelled after
2.10 s", "Failed: division by zero") in the words the Messages pane uses, so an empty
grid never looks like an empty answer. A statement cancelled before its first row keeps
no tab: an empty grid would say nothing the Messages line does not.

After a failure or a cancel, the statements that never ran are listed as "Not run" with
their line, so a batch never looks as if it ended where the error was. An error shows
the server's reason on its line, with its code (SQLSTATE), detail and hint on lines of
their own under it and in the tooltip of its mark in the editor. An error the server
gives no position for (division by zero at run time) marks the whole statement.

Every time a run shows is one measure: the time the engine took for each statement (the
Messages pane's Time column and each result's footer); the run's time is their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget

from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.engines.base import (
    Column,
    EngineError,
    LineIndex,
    QueryCancelled,
    Statement,
    StatementResult,
)
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.playground.sandbox_jobs import one_line
from dbplay_desktop.ui.results.messages_pane import MessagesPane
from dbplay_desktop.ui.results.model import QueryRunner, ResultsModel
from dbplay_desktop.ui.results.run_clock import RunClock, format_elapsed
from dbplay_desktop.ui.results.stream import (
    ResultFeeder,
    adopt_open_result,
    result_memory_limit,
)
from dbplay_desktop.ui.results.view import ResultsView

if TYPE_CHECKING:
    from dbplay_desktop.engines.descriptor import EngineDescriptor
    from dbplay_desktop.ui.editor.editor import CodeEditor

#: At most this many statements are listed one by one as "Not run"; the rest are counted.
MAX_NOT_RUN_LISTED = 100


@dataclass(frozen=True)
class RunSummary:
    """What the history keeps of one run."""

    text: str
    database: str
    elapsed: float
    ok: bool
    rows: int
    error: str


class RunResults(QObject):
    """Fills ``tabs`` (whose first tab is ``messages``) with the results of one run at a time."""

    def __init__(
        self,
        editor: CodeEditor,
        tabs: QTabWidget,
        messages: MessagesPane,
        *,
        batch_size: int,
        row_cap: int | None,
        memory_limit: int | str | None = "default",
        descriptor: EngineDescriptor | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``memory_limit``: each result's memory budget in bytes (see
        :class:`~.results_model.ResultsModel`); by default the environment's or 256 MB.
        ``descriptor``: the playground's engine, whose copy formats its result tabs offer
        (see :meth:`set_descriptor`)."""
        super().__init__(parent)
        self.descriptor = descriptor
        self.editor = editor
        self.tabs = tabs
        self.messages = messages
        self.batch_size = batch_size
        self.row_cap = row_cap
        self.memory_limit: int | None = (
            result_memory_limit() if isinstance(memory_limit, str) else memory_limit)
        self._models: dict[int, ResultsModel] = {}
        self._views: dict[int, ResultsView] = {}
        #: The last run's capped result, kept open for Fetch more (at most one).
        self._open_feeders: list[ResultFeeder] = []
        #: Times the run; its ticks also drive the running statement's footer.
        self.clock = RunClock(self)
        self.clock.ticked.connect(self._on_tick)
        self._running_index: int | None = None
        self._statement_began = 0.0
        self._start_tally("", None)

    # -- wiring ------------------------------------------------------------------------
    def set_descriptor(self, descriptor: EngineDescriptor | None) -> None:
        """The engine whose copy formats the result tabs offer (the open ones too)."""
        self.descriptor = descriptor
        for view in self._views.values():
            view.set_descriptor(descriptor)

    def views(self) -> list[ResultsView]:
        """The result tabs' views in order."""
        return [self._views[key] for key in sorted(self._views)]

    def attach(self, runner: QueryRunner) -> None:
        """Listen to ``runner``'s statements (its ``all_done`` is the playground's business)."""
        runner.statement_started.connect(self._on_statement_started)
        runner.columns_added.connect(self._on_columns_added)
        runner.batch.connect(self._on_batch)
        runner.statement_finished.connect(self._on_statement_finished)
        runner.result_parked.connect(self._on_result_parked)
        runner.failed.connect(self._on_run_failed)

    def begin(
        self, text: str, offset: int | None, statements: Sequence[Statement] = ()
    ) -> None:
        """A new run of ``text``, which sits at ``offset`` in the editor (``None``: the text
        is not in the editor); clears the previous run's results and error marks.
        ``statements`` are ``text``'s as the engine cuts it (to list those that never ran)."""
        self._start_tally(text, offset)
        self._statements = list(statements)
        self.editor.clear_error_marks()
        self.clear()
        self._statement_began = 0.0
        self.clock.start()

    def end(self) -> float:
        """The run is over: stop the clock; returns the run's time (wall clock, seconds)."""
        self._running_index = None
        return self.clock.stop()

    def _start_tally(self, text: str, offset: int | None) -> None:
        self.text = text
        self.in_editor = offset is not None
        self.document = self.editor.all_text() if offset is not None else text
        self.offset = offset or 0
        #: A statement ran without error and its engine says it may have changed the
        #: database (``StatementResult.changes_state``).
        self.changed_state = False
        self.had_error = False
        #: A statement of this run was cancelled.
        self.cancelled = False
        #: The user asked to stop this run (a cancel then reads "Cancelled after 2.10 s").
        self.cancel_requested = False
        self.elapsed = 0.0
        #: Statements that reported their end (their times make up :attr:`elapsed`).
        self.finished_count = 0
        self.rows = 0
        self.error_text = ""
        self._statements: list[Statement] = []
        self._last_index = -1

    def clear(self) -> None:
        """Remove every result tab and message, and free the rows they held."""
        self._release_models()
        while self.tabs.count() > 1:
            widget = self.tabs.widget(1)
            self.tabs.removeTab(1)
            widget.deleteLater()
        self._models.clear()
        self._views.clear()
        self._running_index = None
        self.messages.clear()

    # -- the outcome -------------------------------------------------------------------
    def summary(self, database: str) -> RunSummary:
        return RunSummary(
            self.text, database, self.elapsed, not self.had_error, self.rows, self.error_text
        )

    def outcome(self, wall: float) -> tuple[str, str]:
        """How the run ended, and a tooltip saying what its time measures.

        The time is the statements' own (the sum of the Messages pane's Time column, as
        each result's footer shows it), so a one-statement run shows one number
        everywhere; ``wall`` (the run from start to its last row on screen) is given in
        the tooltip, or used when no statement reported a time.
        """
        count = self.finished_count
        took = format_elapsed(self.elapsed if count else wall)
        if self.cancelled or self.cancel_requested:
            text = f"Cancelled after {took}"
        elif self.had_error:
            text = f"Failed after {took}"
        else:
            text = f"Finished in {took}"
        if not count:
            return text, f"The run took {took} in all."
        noun = "statement" if count == 1 else "statements"
        return text, (f"{count:,} {noun}: {took} in the database (the Time column of "
                      f"Messages); {format_elapsed(wall)} in all, with the window's own work.")

    def show_outcome(self) -> None:
        """After the run: the statements that never ran are listed, and Messages comes to
        the front when something failed or nothing returned rows."""
        if self.had_error or self.cancelled or self.cancel_requested:
            self._list_not_run()
        if self.had_error or not self._models:
            self.tabs.setCurrentWidget(self.messages)

    def models(self) -> list[ResultsModel]:
        """The result tabs' models in order."""
        return [self._models[key] for key in sorted(self._models)]

    # -- statements --------------------------------------------------------------------
    def _on_statement_started(self, index: int, result: StatementResult) -> None:
        self._last_index = max(self._last_index, index)
        if not result.returns_rows:
            return
        model = ResultsModel(self, batch_size=self.batch_size, cap=self.row_cap,
                             memory_limit=self.memory_limit)
        model.set_columns(result.columns, kind=result.kind)
        view = ResultsView(model, self.tabs, descriptor=self.descriptor)
        self._models[index] = model
        self._views[index] = view
        self._running_index = index
        view.show_live_elapsed(self.clock.elapsed() - self._statement_began)
        number = len(self._models)
        tab = self.tabs.addTab(view, icons.icon("database"), f"Result {number}")
        statement = " ".join(result.statement.text.split())[:200]
        view.setProperty("statement_tip", statement)
        self.tabs.setTabToolTip(tab, qt_text(statement))
        if number == 1:
            self.tabs.setCurrentIndex(tab)

    def _on_result_parked(self, index: int, result: StatementResult, parked: object) -> None:
        """The run left its last, capped result open: the footer can fetch more of it."""
        model = self._models.get(index)
        batches, leftover = parked  # type: ignore[misc]
        if model is None:
            return
        self._open_feeders.append(adopt_open_result(result, batches, leftover, model))

    def take_open_results(self) -> list[object]:
        """Before the session runs anything else: the results left open for Fetch more,
        for that run to close first (their tabs can fetch no more)."""
        feeders, self._open_feeders = self._open_feeders, []
        return [feeder.hand_over() for feeder in feeders]

    def _on_columns_added(self, index: int, columns: list[Column]) -> None:
        model = self._models.get(index)
        if model is not None:
            model.add_columns(columns[model.columnCount():])

    def _on_batch(self, index: int, rows: list[tuple[Any, ...]]) -> None:
        model = self._models.get(index)
        if model is not None:
            model.append_rows(rows)

    def _on_tick(self, seconds: float) -> None:
        view = self._views.get(self._running_index) if self._running_index is not None else None
        if view is not None:
            view.show_live_elapsed(seconds - self._statement_began)

    def _on_statement_finished(self, index: int, result: StatementResult, more: bool) -> None:
        self._last_index = max(self._last_index, index)
        self.finished_count += 1
        self._running_index = None
        self._statement_began = self.clock.elapsed()
        model = self._models.get(index)
        if model is not None:
            if result.error is None:
                model.finish(True, more, elapsed=result.elapsed)
            else:
                self._finish_interrupted(index, result.error, result.elapsed)
        start = self.offset + result.statement.start
        located = Statement.at(self.document, start, start)
        for notice in result.notices:
            self.messages.add_message(index, located.line, notice, None, start, kind="notice")
        if result.error is not None:
            self._report_error(index, result)
        else:
            if model is not None:
                text = f"{model.summary()} returned"
            else:
                text = result.status or "OK"
                if result.rowcount >= 0 and _changes_rows(result.status):
                    noun = "row" if result.rowcount == 1 else "rows"
                    text += f" — {result.rowcount:,} {noun} affected"
            self.messages.add_message(index, located.line, text, result.elapsed, start)
            if result.changes_state:  # the engine's reading of its own statement
                self.changed_state = True
        self.elapsed += result.elapsed
        if model is not None:
            self.rows += model.received_count
        elif result.rowcount > 0:
            self.rows += result.rowcount
        if result.error is not None and not self.error_text:
            self.error_text = result.error.message

    def _finish_interrupted(
        self, index: int, error: EngineError | str, elapsed: float | None
    ) -> None:
        """A statement's rows stopped coming: its footer and tab say why."""
        model, view = self._models[index], self._views[index]
        cancelled = isinstance(error, QueryCancelled)
        if cancelled and model.received_count == 0:
            self._drop_tab(index)  # nothing to show; the Messages line says it all
            return
        failure = "" if cancelled else safe_text(error if isinstance(error, str) else error.message)
        model.finish(False, False, elapsed=elapsed, cancelled=cancelled, failure=failure)
        tab = self.tabs.indexOf(view)
        if tab >= 0:
            number = list(self._views).index(index) + 1
            word = "cancelled" if cancelled else "failed"
            self.tabs.setTabText(tab, f"Result {number} ({word})")
            self.tabs.setTabIcon(tab, icons.icon("warning"))
            statement = view.property("statement_tip") or ""
            tip = f"{model.summary()}\n{statement}".strip()
            self.tabs.setTabToolTip(tab, qt_text(tip, multiline=True))

    def _release_models(self) -> None:
        """Each model goes with its view (deleted together), not with this object, which
        lives as long as the playground: old results' rows must not pile up run after run.
        Their rows are freed now, on a worker thread, rather than all at once on this one
        when the views are deleted."""
        for index, model in self._models.items():
            view = self._views.get(index)
            if view is not None:
                model.setParent(view)
            model.reset()

    def _drop_tab(self, index: int) -> None:
        view = self._views.pop(index)
        model = self._models.pop(index)
        model.setParent(view)
        model.reset()
        tab = self.tabs.indexOf(view)
        if tab >= 0:
            self.tabs.removeTab(tab)
        view.deleteLater()

    def _report_error(self, index: int, result: StatementResult) -> None:
        error = result.error
        assert error is not None
        statement_start = self.offset + result.statement.start
        known = error.position is not None
        position = self.offset + error.position if known else statement_start  # type: ignore[operator]
        located = Statement.at(self.document, position, position)
        cancelled = isinstance(error, QueryCancelled)
        self.cancelled = self.cancelled or cancelled
        took = format_elapsed(result.elapsed)
        elapsed: float | None = result.elapsed
        if cancelled and self.cancel_requested:
            # The user's own stop: said once, with its time (the server's "canceling
            # statement due to user request" adds nothing).
            text, elapsed = f"Cancelled after {took}", None
        elif cancelled:  # stopped by the server (a statement timeout): its reason counts
            text = f"{error.title} after {took}: {error.reason}"
        else:
            # Without a position the statement failed as a whole: its line, no column.
            where = (f"line {located.line}, column {located.column}"
                     if error.position is not None else f"line {located.line}")
            text = f"{error.title} at {where}: {error.reason}"
        extra = error_extras(error)
        self.messages.add_message(index, located.line, text, elapsed, position,
                                  kind="error", details=extra)
        self.had_error = True
        if not cancelled and self.in_editor:
            if error.position is None:  # no position: underline the whole statement
                start = statement_start
                end = self.offset + result.statement.end
            else:
                start, end = position, _token_end(self.document, position)
            tip = "\n".join([f"{error.title}: {error.reason}", *extra])
            self.editor.mark_error(start, max(end, start + 1), qt_text(tip, multiline=True))
        self.tabs.setCurrentWidget(self.messages)

    def _list_not_run(self) -> None:
        """A "Not run" line for every statement after the last one that started."""
        skipped = [st for i, st in enumerate(self._statements) if i > self._last_index]
        if not skipped:
            return
        lines = LineIndex(self.document)
        for number, statement in enumerate(skipped[:MAX_NOT_RUN_LISTED], self._last_index + 1):
            start = self.offset + statement.start
            line = lines.locate(start)[0]
            first = " ".join(statement.text.strip().split("\n", 1)[0].split())
            if len(first) > 80:
                first = first[:79] + "…"
            self.messages.add_message(number, line, f"Not run: {first}", None,
                                      start if self.in_editor else None, kind="skipped")
        rest = len(skipped) - MAX_NOT_RUN_LISTED
        if rest > 0:
            noun = "statement" if rest == 1 else "statements"
            self.messages.add_message(-1, 0, f"… and {rest:,} more {noun} not run", None,
                                      None, kind="skipped")

    def _on_run_failed(self, exc: object) -> None:
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        # A result still streaming when the run broke never gets its own "finished".
        for index, model in list(self._models.items()):
            if not model.is_finished:
                self._finish_interrupted(index, message, None)
        self._running_index = None
        self.messages.add_message(-1, 0, message, None, None, kind="error")
        self.had_error = True
        self.error_text = self.error_text or message
        self.tabs.setCurrentWidget(self.messages)


def error_extras(error: EngineError) -> list[str]:
    """The lines an error shows under its reason: its code, detail and hint."""
    extras = []
    if error.code:
        extras.append(f"{error.code_name} {error.code}")
    if error.detail:
        extras.append(f"Detail: {error.detail}")
    if error.hint:
        extras.append(f"Hint: {error.hint}")
    return extras


def _changes_rows(status: str) -> bool:
    """Whether a command tag reports rows written ("INSERT 0 3", "UPDATE 2", ...)."""
    words = status.split()
    return bool(words) and words[0].upper() in {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"}


def _token_end(text: str, start: int) -> int:
    """The end of the word at ``start`` (to underline the token an error points at)."""
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in ";,()":
        end += 1
    return end if end > start else start + 1
