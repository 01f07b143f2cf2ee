"""One playground tab: a private sandbox database, an editor, result tabs and messages.

A playground owns its sandbox database from birth to death. It is created on a worker
(a blank sandbox, or a template restored into a new one), every statement runs on one
worker through :class:`~.results_model.QueryRunner`, and closing the tab cancels what
runs, disconnects and drops the database -- so a template opened ten times leaves no
databases behind.

The tab tracks whether its state changed since it was opened or saved: any statement
that ran without error and was not a plain ``SELECT`` (or ``SHOW``) marks it modified,
and the main window then offers to save before the database is dropped. The same test
decides when the catalog is refreshed after a run.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.engines.base import (
    CatalogItem,
    Engine,
    EngineError,
    QueryCancelled,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.progress import human_size
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.results_model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_ROW_CAP,
    QueryRunner,
    ResultsModel,
)
from dbplay_desktop.ui.results_view import ResultsView, format_elapsed
from dbplay_desktop.ui.workers import Worker, start_worker

UNTITLED = "Untitled playground"
POSITION_ROLE = Qt.ItemDataRole.UserRole + 1

PREPARING, READY, FAILED, CLOSING, CLOSED = "preparing", "ready", "failed", "closing", "closed"


# --------------------------------------------------------------------------- helpers


def one_line(exc: BaseException) -> str:
    """A user-readable single line for any failure (engine errors already are one)."""
    if isinstance(exc, EngineError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_plain_read(statement_text: str, language: str) -> bool:
    """Whether a statement only reads (a plain ``SELECT``/``SHOW``), so state is unchanged.

    Only SQL is understood (with pglast, the parser the engine uses); for other languages
    every statement counts as a change, which errs on the side of offering to save.
    """
    if language.lower() not in ("postgresql", "postgres", "sql"):
        return False
    from pglast import ast, parse_sql

    try:
        parsed = parse_sql(statement_text)
    except Exception:  # not valid SQL: the server rejected it, nothing changed either way
        return False
    for raw in parsed:
        node = raw.stmt
        if isinstance(node, ast.VariableShowStmt):
            continue
        if not isinstance(node, ast.SelectStmt) or node.intoClause is not None:
            return False
        if node.lockingClause:
            return False
    return bool(parsed)


class ProgressRelay(QObject):
    """Carries progress from a worker thread to the UI (emits are queued across threads)
    and carries a cancel request back (the engine's progress callback returns it)."""

    progress = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancelled = threading.Event()

    def report(self, done: int, total: int | None) -> bool:
        self.progress.emit(int(done), total)
        return self.cancelled.is_set()


def prepare_sandbox(
    engine: Engine,
    template: Path | None,
    relay: ProgressRelay | None,
    batch_size: int,
    timeout: float | None,
) -> tuple[str, Session, list[CatalogItem]]:
    """Worker body: make the sandbox (restored from ``template`` or blank), connect to it
    and read its catalog. Nothing is left behind when any step fails."""
    report = relay.report if relay is not None else None
    if template is not None:
        from dbplay_desktop.templates.container import TemplateReader

        with TemplateReader(template) as reader:
            if reader.manifest.engine != engine.name:
                from dbplay_desktop.engines.registry import display_name

                raise EngineError(
                    f"{template.name} is a {display_name(reader.manifest.engine)} template; "
                    f"connect to a {display_name(reader.manifest.engine)} server to open it"
                )
            database = engine.restore(reader, progress=report)
    else:
        database = engine.create_sandbox()
    try:
        session = engine.connect(database)
        try:
            session.batch_size = batch_size
            if timeout:
                session.set_timeout(timeout)
            catalog = session.catalog()
        except BaseException:
            session.close()
            raise
    except BaseException:
        with contextlib.suppress(EngineError):
            engine.drop_sandbox(database)
        raise
    return database, session, catalog


def close_and_drop(engine: Engine, database: str, session: Session | None) -> str:
    """Worker body: disconnect and drop a sandbox; returns its name."""
    if session is not None:
        with contextlib.suppress(Exception):  # a dead connection is as good as closed
            session.close()
    engine.drop_sandbox(database)
    return database


@dataclass(frozen=True)
class RunSummary:
    """What the history keeps of one run."""

    text: str
    database: str
    elapsed: float
    ok: bool
    rows: int
    error: str


# --------------------------------------------------------------------------- the tab


class Playground(QWidget):
    """Editor on top; result tabs and messages below; one sandbox database behind it."""

    #: Title, database, status or modified flag changed (the window refreshes its chrome).
    state_changed = Signal()
    #: A fresh catalog of this playground's database.
    catalog_changed = Signal(list)
    #: A one-line message for the status bar.
    status_message = Signal(str)
    #: A run (all its statements) ended.
    run_finished = Signal()
    #: One finished run for the history: a :class:`RunSummary`.
    run_recorded = Signal(object)
    #: The sandbox is gone (dropped, or never created); the widget may be deleted now.
    closed = Signal()

    def __init__(
        self,
        template: Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        row_cap: int | None = DEFAULT_ROW_CAP,
        timeout: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.template_path = Path(template) if template is not None else None
        self.template_name = self._manifest_name(self.template_path)
        self.template_description = ""
        #: The server's name as the top bar shows it (set by the window).
        self.server_name = ""
        self.engine: Engine | None = None
        self.database: str | None = None
        self.session: Session | None = None
        self.runner: QueryRunner | None = None
        self.state = PREPARING
        self.status = "Waiting for the database server…"
        self.error: str | None = None
        self.modified = False
        self.batch_size = batch_size
        self.row_cap = row_cap
        self.timeout = timeout
        self.catalog: list[CatalogItem] = []
        self._relay: ProgressRelay | None = None
        self._prepare_worker: Worker | None = None
        self._run_text = ""
        self._run_document = ""
        self._run_offset = 0
        self._run_in_editor = True
        self._run_elapsed = 0.0
        self._run_rows = 0
        self._run_error_text = ""
        self._run_changed_state = False
        self._run_error = False
        self._models: dict[int, ResultsModel] = {}
        self._pending_drops = 0
        self._build()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        from dbplay_desktop.ui.editor import CodeEditor

        try:
            from dbplay_desktop.ui.editor import EditorPane

            self.editor_pane: QWidget = EditorPane(self, "sql")
            self.editor: CodeEditor = self.editor_pane.editor  # type: ignore[attr-defined]
        except ImportError:  # the find bar is optional; the editor is not
            self.editor = CodeEditor(self, "sql")
            self.editor_pane = self.editor
        self.editor.run_current_requested.connect(self.run_current)
        self.editor.run_all_requested.connect(self.run_all)
        self.editor.cancel_requested.connect(self.cancel)
        self.editor.status_message.connect(self.status_message)

        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, 0)
        banner_row = QWidget(self)
        row = QHBoxLayout(banner_row)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.banner, 1)
        row.addWidget(self.progress_bar)
        self.banner_row = banner_row

        self.messages = QTreeWidget(self)
        self.messages.setObjectName("messages")
        self.messages.setColumnCount(4)
        self.messages.setHeaderLabels(["#", "Line", "Message", "Time"])
        self.messages.setRootIsDecorated(False)
        self.messages.setUniformRowHeights(True)
        self.messages.setWordWrap(False)
        header = self.messages.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.messages.itemActivated.connect(self._on_message_activated)

        self.results_tabs = QTabWidget(self)
        self.results_tabs.setObjectName("resultsTabs")
        self.results_tabs.setDocumentMode(True)
        self.results_tabs.addTab(self.messages, "Messages")

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.editor_pane)
        self.splitter.addWidget(self.results_tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(banner_row)
        layout.addWidget(self.splitter, 1)
        self._show_banner(self.status, busy=True)

    def set_font_size(self, points: int) -> None:
        """The editor's font size (from the preferences)."""
        font = self.editor.font()
        font.setPointSize(max(6, int(points)))
        self.editor.setFont(font)

    # -- identity ----------------------------------------------------------------------
    @staticmethod
    def _manifest_name(path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            from dbplay_desktop.templates.container import read_manifest

            return read_manifest(path).name
        except (EngineError, OSError):
            return path.stem

    @property
    def title(self) -> str:
        """The template's name, or "Untitled playground" for a blank one."""
        return self.template_name or UNTITLED

    @property
    def is_ready(self) -> bool:
        return self.state == READY

    @property
    def is_running(self) -> bool:
        return self.runner is not None and self.runner.is_running

    # -- life: preparing ---------------------------------------------------------------
    def attach_engine(self, engine: Engine) -> None:
        """Start making the sandbox on ``engine`` (called once the server is up)."""
        if self.engine is not None:
            return
        self.engine = engine
        self.editor.set_language(engine.language)
        self.editor.set_splitter(type(engine).split)
        self._prepare(resetting=False)

    def _prepare(self, *, resetting: bool) -> None:
        assert self.engine is not None
        self.state = PREPARING
        self.error = None
        if self.template_path is not None:
            verb = "Restoring" if not resetting else "Resetting to"
            self.status = f"{verb} “{self.title}”…"
        else:
            self.status = "Creating a sandbox database…"
        self._show_banner(self.status, busy=True)
        relay = ProgressRelay(self)
        relay.progress.connect(self._on_prepare_progress)
        self._relay = relay
        worker = Worker(
            prepare_sandbox, self.engine, self.template_path, relay, self.batch_size, self.timeout
        )
        worker.signals.returned.connect(
            self._on_reset_ready if resetting else self._on_prepared
        )
        worker.signals.errored.connect(self._on_prepare_failed)
        self._prepare_worker = worker
        start_worker(worker)
        self.state_changed.emit()

    def _on_prepare_progress(self, done: int, total: object) -> None:
        if self.state != PREPARING:
            return
        if isinstance(total, int) and total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(min(1000, int(done * 1000 / total)))
            self.banner.setText(f"{self.status} {human_size(done)} of {human_size(total)}")
        else:
            self.banner.setText(f"{self.status} {human_size(done)}")

    def _adopt(self, prepared: tuple[str, Session, list[CatalogItem]]) -> None:
        database, session, catalog = prepared
        self.database, self.session = database, session
        runner = QueryRunner(session, cap=self.row_cap, parent=self)
        runner.statement_started.connect(self._on_statement_started)
        runner.batch.connect(self._on_batch)
        runner.statement_finished.connect(self._on_statement_finished)
        runner.all_done.connect(self._on_all_done)
        runner.failed.connect(self._on_run_failed)
        self.runner = runner
        self.state = READY
        self.status = "Ready"
        self.banner_row.hide()
        self._set_catalog(catalog)
        self.state_changed.emit()

    def _on_prepared(self, prepared: tuple[str, Session, list[CatalogItem]]) -> None:
        self._prepare_worker = None
        if self.state != PREPARING:  # closed while the sandbox was being made
            self._drop_later(prepared[0], prepared[1])
            return
        self._adopt(prepared)
        self.status_message.emit(f"{self.title}: ready in database {self.database}")

    def _on_reset_ready(self, prepared: tuple[str, Session, list[CatalogItem]]) -> None:
        self._prepare_worker = None
        if self.state != PREPARING:
            self._drop_later(prepared[0], prepared[1])
            return
        old_database, old_session, old_runner = self.database, self.session, self.runner
        if old_runner is not None:
            old_runner.discard(close_session=False)
            old_runner.deleteLater()
        if old_database is not None:
            self._drop_later(old_database, old_session)
        self.modified = False
        self._clear_results()
        self._adopt(prepared)
        self.status_message.emit(f"{self.title}: reset; fresh database {self.database}")

    def _on_prepare_failed(self, exc: object) -> None:
        self._prepare_worker = None
        if self.state != PREPARING:
            self._maybe_closed()
            return
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        if self.database is not None and self.runner is not None:
            # A reset failed: the old database is still there and still usable.
            self.state = READY
            self.status = "Ready"
            self._show_banner(f"Reset failed: {message}", busy=False, error=True)
        else:
            self.state = FAILED
            self.error = message
            self.status = "Failed"
            self._show_banner(
                f"Could not prepare the playground: {message}", busy=False, error=True
            )
        self.status_message.emit(message)
        self.state_changed.emit()

    def _show_banner(self, text: str, *, busy: bool, error: bool = False) -> None:
        self.banner.setText(text)
        if error:
            self.banner.setStyleSheet("color: #d1242f;")
        else:
            self.banner.setStyleSheet("")
        self.progress_bar.setVisible(busy)
        self.progress_bar.setRange(0, 0)
        self.banner_row.show()

    # -- running -----------------------------------------------------------------------
    def run_current(self) -> bool:
        """Run the selection, or the statement under the cursor."""
        text, offset = self.editor.selected_text_or_statement()
        return self.run_text(text, offset)

    def run_all(self) -> bool:
        return self.run_text(self.editor.all_text(), 0)

    def run_text(self, text: str, offset: int | None = 0) -> bool:
        """Run ``text``, which sits at ``offset`` in the editor (for error positions);
        ``offset=None`` runs text that is not in the editor (e.g. from the history)."""
        if not text.strip():
            self.status_message.emit("Nothing to run: the editor is empty here.")
            return False
        if self.state != READY or self.runner is None:
            self.status_message.emit(f"{self.title} is not ready yet: {self.status}")
            return False
        if self.runner.is_running:
            self.status_message.emit("A query is still running; stop it first (Esc).")
            return False
        self._run_text = text
        self._run_in_editor = offset is not None
        self._run_document = self.editor.all_text() if offset is not None else text
        self._run_offset = offset or 0
        self._run_changed_state = False
        self._run_error = False
        self._run_elapsed = 0.0
        self._run_rows = 0
        self._run_error_text = ""
        self.editor.clear_error_marks()
        self._clear_results()
        self.status = "Running…"
        self.runner.run(text)
        self.state_changed.emit()
        return True

    def cancel(self) -> None:
        """Stop the running statement (Esc / Stop)."""
        if self.state == PREPARING and self._relay is not None:
            self._relay.cancelled.set()
            return
        if self.runner is not None and self.runner.is_running:
            self.status = "Cancelling…"
            self.runner.cancel()
            self.state_changed.emit()

    def _clear_results(self) -> None:
        while self.results_tabs.count() > 1:
            widget = self.results_tabs.widget(1)
            self.results_tabs.removeTab(1)
            widget.deleteLater()
        self._models.clear()
        self.messages.clear()

    def _on_statement_started(self, index: int, result: StatementResult) -> None:
        if not result.returns_rows:
            return
        model = ResultsModel(self, batch_size=self.batch_size, cap=self.row_cap)
        model.set_columns(result.columns)
        view = ResultsView(model, self.results_tabs)
        self._models[index] = model
        number = len(self._models)
        tab = self.results_tabs.addTab(view, icons.icon("database"), f"Result {number}")
        self.results_tabs.setTabToolTip(tab, " ".join(result.statement.text.split())[:200])
        if number == 1:
            self.results_tabs.setCurrentIndex(tab)

    def _on_batch(self, index: int, rows: list[tuple[Any, ...]]) -> None:
        model = self._models.get(index)
        if model is not None:
            model.append_rows(rows)

    def _on_statement_finished(self, index: int, result: StatementResult, more: bool) -> None:
        model = self._models.get(index)
        if model is not None:
            model.finish(result.error is None, more, elapsed=result.elapsed)
        start = self._run_offset + result.statement.start
        located = Statement.at(self._run_document, start, start)
        for notice in result.notices:
            self._add_message(index, located.line, notice, None, start, kind="notice")
        if result.error is not None:
            self._report_error(index, result)
        else:
            if model is not None:
                summary = model.summary()
                text = f"{summary} returned"
            else:
                text = result.status or "OK"
                if result.rowcount >= 0 and _changes_rows(result.status):
                    noun = "row" if result.rowcount == 1 else "rows"
                    text += f" — {result.rowcount:,} {noun} affected"
            self._add_message(index, located.line, text, result.elapsed, start)
            if not is_plain_read(result.statement.text, self.editor.language()):
                self._run_changed_state = True
        self._run_elapsed += result.elapsed
        if model is not None:
            self._run_rows += model.received_count
        elif result.rowcount > 0:
            self._run_rows += result.rowcount
        if result.error is not None and not self._run_error_text:
            self._run_error_text = result.error.message

    def _report_error(self, index: int, result: StatementResult) -> None:
        error = result.error
        assert error is not None
        if error.position is not None:
            position = self._run_offset + error.position
        else:
            position = self._run_offset + result.statement.start
        located = Statement.at(self._run_document, position, position)
        cancelled = isinstance(error, QueryCancelled)
        where = f"line {located.line}, column {located.column}"
        text = error.message if cancelled else f"{error.title} at {where}: {error.message}"
        self._add_message(index, located.line, text, result.elapsed, position, kind="error")
        self._run_error = True
        if not cancelled and self._run_in_editor:
            if error.position is None:  # no position: underline the whole statement
                start = self._run_offset + result.statement.start
                end = self._run_offset + result.statement.end
            else:
                start, end = position, _token_end(self._run_document, position)
            self.editor.mark_error(start, max(end, start + 1), f"{error.title}: {error.message}")
        self.results_tabs.setCurrentWidget(self.messages)

    def _on_run_failed(self, exc: object) -> None:
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        self._add_message(-1, 0, message, None, None, kind="error")
        self._run_error = True
        self._run_error_text = self._run_error_text or message
        self.results_tabs.setCurrentWidget(self.messages)

    def _on_all_done(self) -> None:
        self.run_recorded.emit(RunSummary(
            self._run_text, self.database or "", self._run_elapsed, not self._run_error,
            self._run_rows, self._run_error_text,
        ))
        if self._run_changed_state:
            self.modified = True
            self.refresh_catalog()
        self.status = "Ready"
        if self._run_error or not self._models:
            self.results_tabs.setCurrentWidget(self.messages)
        self.state_changed.emit()
        self.run_finished.emit()

    def _add_message(
        self,
        index: int,
        line: int,
        text: str,
        elapsed: float | None,
        position: int | None,
        *,
        kind: str = "ok",
    ) -> None:
        item = QTreeWidgetItem(
            [str(index + 1) if index >= 0 else "", str(line) if line else "", text,
             format_elapsed(elapsed)]
        )
        item.setTextAlignment(0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(2, text)
        item.setData(0, POSITION_ROLE, position)
        item.setData(1, POSITION_ROLE, kind)
        if kind == "error":
            item.setIcon(2, icons.icon("warning"))
            item.setForeground(2, QBrush(Qt.GlobalColor.red))
        elif kind == "notice":
            color = self.palette().color(QPalette.ColorRole.PlaceholderText)
            item.setForeground(2, QBrush(color))
        self.messages.addTopLevelItem(item)
        self.messages.scrollToItem(item)

    def message_texts(self) -> list[str]:
        """The Messages pane's lines, for tests and copying."""
        return [
            self.messages.topLevelItem(i).text(2) for i in range(self.messages.topLevelItemCount())
        ]

    def result_models(self) -> list[ResultsModel]:
        """The result tabs' models in order."""
        return [self._models[key] for key in sorted(self._models)]

    def _on_message_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        position = item.data(0, POSITION_ROLE)
        if isinstance(position, int):
            self.editor.select_range(position, position)
            self.editor.setFocus()

    # -- catalog -----------------------------------------------------------------------
    def refresh_catalog(self) -> None:
        """Read the catalog again on a worker (after DDL, or when asked)."""
        if self.session is None or self.state not in (READY,):
            return
        worker = Worker(self.session.catalog)
        worker.signals.returned.connect(self._set_catalog)
        worker.signals.errored.connect(self._on_catalog_failed)
        start_worker(worker)

    def _set_catalog(self, catalog: list[CatalogItem]) -> None:
        if self.state not in (READY, PREPARING):
            return
        from dbplay_desktop.ui.completer import names_from_catalog

        self.catalog = list(catalog)
        self.editor.set_catalog_names(names_from_catalog(self.catalog))
        self.catalog_changed.emit(self.catalog)

    def _on_catalog_failed(self, exc: object) -> None:
        if self.state == READY:
            message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
            self.status_message.emit(f"Could not read the catalog: {message}")

    # -- reset / saved -----------------------------------------------------------------
    def reset(self) -> bool:
        """Restore the template's state again into a new sandbox; the old one is dropped
        once the new one is ready (a blank playground gets a fresh empty sandbox)."""
        if self.engine is None or self.state not in (READY, FAILED):
            return False
        if self.runner is not None and self.runner.is_running:
            self.runner.cancel()
        if self.state == FAILED:
            self._prepare(resetting=False)
        else:
            self._prepare(resetting=True)
        return True

    def mark_saved(self, path: Path, name: str, description: str) -> None:
        """The state was saved as the template at ``path``: it becomes this tab's template."""
        self.template_path = Path(path)
        self.template_name = name
        self.template_description = description
        self.modified = False
        self.state_changed.emit()

    # -- closing -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel, disconnect and drop the sandbox; emits :attr:`closed` when done."""
        if self.state in (CLOSING, CLOSED):
            return
        was_preparing = self.state == PREPARING and self._prepare_worker is not None
        self.state = CLOSING
        if self._relay is not None:
            self._relay.cancelled.set()
        runner, database = self.runner, self.database
        self.runner, self.session = None, None
        if runner is not None:
            # Stops the run and closes the session on a worker once it has stopped.
            runner.discard(close_session=True)
        if database is not None:
            self._drop_later(database, None)
        self.database = None
        if not was_preparing:
            self._maybe_closed()

    def _drop_later(self, database: str, session: Session | None) -> None:
        if self.engine is None:
            return
        self._pending_drops += 1
        worker = Worker(close_and_drop, self.engine, database, session)
        worker.signals.errored.connect(self._on_drop_failed)
        worker.signals.finished.connect(self._on_drop_finished)
        start_worker(worker)

    def _on_drop_failed(self, exc: object) -> None:
        message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
        self.status_message.emit(f"Could not drop a playground database: {message}")

    def _on_drop_finished(self) -> None:
        self._pending_drops -= 1
        self._maybe_closed()

    def _maybe_closed(self) -> None:
        if self.state == CLOSING and self._pending_drops <= 0 and self._prepare_worker is None:
            self.state = CLOSED
            self.closed.emit()


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

