"""One playground tab: a private sandbox database, an editor, result tabs and messages.

A playground owns its sandbox database from birth to death. It is created on a worker
(a blank sandbox, or a template restored into a new one, see :mod:`.sandbox_jobs`),
every statement runs on one worker through :class:`~.results_model.QueryRunner` and is
shown by :class:`~.run_results.RunResults`, and closing the tab cancels what runs,
disconnects and drops the database -- so a template opened ten times leaves no
databases behind. Where the engine clones sandboxes, the restored template is kept as a
pristine copy and a reset adopts a clone of it made ahead of time (:mod:`.ready_clones`);
those copies are dropped with the playground too.

The tab tracks whether its state changed since it was opened or saved: any statement
that ran without error and was not a plain ``SELECT`` (or ``SHOW``) marks it modified,
and the main window then offers to save before the database is dropped. The same test
decides when the catalog is refreshed after a run. What the editor holds is tracked
apart (:attr:`Playground.script_changed`): a template's scripts are shown after its comment
header when it opens, saving stores the editor's text as the new template's script, and
closing a tab whose script changed asks too, even when the database did not change.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.display_text import safe_text
from dbplay_desktop.engines.base import CatalogItem, Engine, EngineError, Session
from dbplay_desktop.engines.descriptor import CatalogKind, EngineDescriptor, LanguageSpec
from dbplay_desktop.progress import human_size
from dbplay_desktop.ui.playground.banner import PlaygroundBanner, PlaygroundBannerMixin
from dbplay_desktop.ui.playground.ready_clones import ReadyClones
from dbplay_desktop.ui.playground.reconnect import ReconnectMixin
from dbplay_desktop.ui.playground.sandbox_jobs import (
    Prepared,
    ProgressRelay,
    close_and_drop,
    one_line,
    prepare_sandbox,
    reset_from_clone,
)
from dbplay_desktop.ui.playground.server_loss import LOST, ServerLossMixin
from dbplay_desktop.ui.results.messages_pane import MessagesPane
from dbplay_desktop.ui.results.model import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_ROW_CAP,
    QueryRunner,
    ResultsModel,
)
from dbplay_desktop.ui.results.run_clock import running_status
from dbplay_desktop.ui.results.run_results import RunResults
from dbplay_desktop.ui.workers import Worker, start_worker

UNTITLED = "Untitled playground"
#: Description lines longer than this are wrapped in the editor's comment header.
HEADER_WIDTH = 100

PREPARING, READY, FAILED, CLOSING, CLOSED = "preparing", "ready", "failed", "closing", "closed"
__all__ = ["CLOSED", "CLOSING", "FAILED", "LOST", "PREPARING", "READY", "Playground"]


def template_header(name: str, description: str, prefix: str = "--") -> str:
    """The comment block a playground opened from a template starts with: the name and
    the description as ``prefix`` lines, then an empty line (so typing starts below it)."""
    import textwrap

    lines = [name.strip()]
    for paragraph in description.strip().splitlines():
        lines.extend(textwrap.wrap(paragraph, HEADER_WIDTH) or [""])
    commented = [f"{prefix} {line}".rstrip() for line in lines]
    return "\n".join(commented) + "\n\n"


def opening_scripts(scripts: list[str], problems: list[str], prefix: str = "--") -> str:
    """The editor text after the header: the scripts in order (each after a numbered
    comment line when there are several), then a comment for each that could not be read."""
    parts = []
    for number, text in enumerate(scripts, 1):
        label = f"{prefix} Script {number} of {len(scripts)}\n" if len(scripts) > 1 else ""
        parts.append(label + text.rstrip("\n") + "\n")
    notes = [f"{prefix} Not loaded: {problem}\n" for problem in problems]
    return "\n".join(parts) + "".join(notes)


def apply_language(editor, language: LanguageSpec) -> None:
    """Give the editor the engine's language: highlighting, completion, comments, Format
    and statement splitting (the splitter explicitly too, while the editor takes one)."""
    editor.set_language(language)
    if hasattr(editor, "set_splitter"):
        editor.set_splitter(language.split)


class Playground(ReconnectMixin, ServerLossMixin, PlaygroundBannerMixin, QWidget):
    """Editor on top; result tabs and messages below; one sandbox database behind it."""

    #: Title, database, status or modified flag changed (the window refreshes its chrome).
    state_changed = Signal()
    #: A fresh catalog of this playground's database.
    catalog_changed = Signal(list)
    #: A one-line message for the status bar.
    status_message = Signal(str)
    #: Only :attr:`status` changed, to this text (the run's clock ticking): cheap to show,
    #: nothing else needs refreshing.
    status_ticked = Signal(str)
    #: A run (all its statements) ended.
    run_finished = Signal()
    #: One finished run for the history: a :class:`RunSummary`.
    run_recorded = Signal(object)
    #: The sandbox is gone (dropped, or never created); the widget may be deleted now.
    closed = Signal()
    #: The banner's *Close* on a tab that has no database: the window closes the tab.
    close_requested = Signal()
    #: The banner's *Retry* while there is no server: the window starts it again.
    server_retry_requested = Signal()
    #: A run found the session's connection gone (the window checks its servers).
    link_lost = Signal()

    def __init__(
        self,
        template: Path | None = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        row_cap: int | None = DEFAULT_ROW_CAP,
        timeout: float | None = None,
        descriptor: EngineDescriptor | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        #: The engine this playground's sandbox lives on (its language, catalog kinds,
        #: icon); set by the window from the template's manifest or the engine asked for.
        self.descriptor = descriptor
        self.template_path = Path(template) if template is not None else None
        self.template_name, self.template_description = self._read_identity(self.template_path)
        #: The server's name as the top bar shows it (set by the window).
        self.server_name = ""
        self.engine: Engine | None = None
        self.database: str | None = None
        self.session: Session | None = None
        self.runner: QueryRunner | None = None
        self.state = PREPARING
        self.status = "Waiting for the database server…"
        #: How the last run ended ("Finished in 3.42 s"); empty before any run.
        self.last_run = ""
        #: What the time in :attr:`last_run` measures (the status label's tooltip).
        self.last_run_tip = ""
        self.error: str | None = None
        self.modified = False
        self.batch_size = batch_size
        self.row_cap = row_cap
        self.timeout = timeout
        self.catalog: list[CatalogItem] = []
        self._relay: ProgressRelay | None = None
        self._prepare_worker: Worker | None = None
        self._pending_drops = 0
        #: Databases on a server that died, dropped once it runs again (:mod:`.server_loss`).
        self._lost_databases: list[str] = []
        #: The pristine copy of the template and the clone the next reset adopts.
        self.clones = ReadyClones(lambda database: self._drop_later(database, None), self)
        self.clones.idle.connect(self._maybe_closed)
        self._header = ""
        #: The scripts the template carries, and why any of them could not be read.
        self.scripts, self.script_problems = self._read_scripts(self.template_path)
        #: The editor text the template opened with (header and scripts).
        self._opening_text = ""
        #: The editor text when the tab opened or was last saved: what counts as unchanged.
        self._script_baseline = ""
        self._build()
        if descriptor is not None:  # highlighting and comments before the server answers
            apply_language(self.editor, descriptor.language)
        self._show_template_header()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        from dbplay_desktop.ui.editor.find_replace import EditorPane

        self.editor_pane = EditorPane(self, "sql")
        self.editor = self.editor_pane.editor
        self.editor.run_current_requested.connect(self.run_current)
        self.editor.run_all_requested.connect(self.run_all)
        self.editor.cancel_requested.connect(self.cancel)
        self.editor.status_message.connect(self.status_message)

        self.banner = PlaygroundBanner(self)
        self.banner.retry_requested.connect(self._on_banner_retry)
        self.banner.close_requested.connect(self._on_banner_close)
        self.banner_row = self.banner

        self.messages = MessagesPane(self)
        self.messages.position_activated.connect(self._go_to_position)
        self.results_tabs = QTabWidget(self)
        self.results_tabs.setObjectName("resultsTabs")
        self.results_tabs.setDocumentMode(True)
        self.results_tabs.addTab(self.messages, "Messages")
        self.results = RunResults(
            self.editor, self.results_tabs, self.messages,
            batch_size=self.batch_size, row_cap=self.row_cap,
            descriptor=self.descriptor, parent=self,
        )
        self.results.clock.ticked.connect(self._on_clock_tick)
        self._cancel_requested = False

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.editor_pane)
        self.splitter.addWidget(self.results_tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addStretch(0)  # takes the room of a failed tab's hidden editor
        self.show_banner(self.status, busy=True)

    def set_font_size(self, points: int) -> None:
        """The editor's font size (from the preferences)."""
        font = self.editor.font()
        font.setPointSize(max(6, int(points)))
        self.editor.setFont(font)

    # -- identity ----------------------------------------------------------------------
    @staticmethod
    def _read_identity(path: Path | None) -> tuple[str | None, str]:
        """The template's name and description from its manifest (the file name when the
        manifest cannot be read; restoring will then say what is wrong with it)."""
        if path is None:
            return None, ""
        try:
            from dbplay_desktop.templates.container import read_manifest

            manifest = read_manifest(path)
        except (EngineError, OSError):
            return path.stem, ""
        return manifest.name, manifest.description or ""

    @staticmethod
    def _read_scripts(path: Path | None) -> tuple[list[str], list[str]]:
        """The template's script texts (escaped for display: they come from a stranger)
        and one line per script that could not be read. Bounded by the scripts' size
        limit, so reading them here costs milliseconds."""
        if path is None:
            return [], []
        from dbplay_desktop.templates.scripts import read_scripts

        try:
            loaded = read_scripts(path)
        except (EngineError, OSError):
            return [], []  # the restore says what is wrong with the file
        texts = [safe_text(script.text, multiline=True) for script in loaded.scripts]
        return texts, [safe_text(problem) for problem in loaded.problems]

    def _show_template_header(self) -> None:
        """Start the editor with the template's name and description as comments, in the
        editor's comment syntax, then its scripts; text the user typed meanwhile is never
        replaced."""
        if self.template_path is None or not self.template_name:
            return
        current = self.editor.toPlainText()
        if current and current != self._opening_text:
            return
        prefix = self.editor.comment_prefix()
        header = template_header(self.template_name, self.template_description, prefix)
        text = header + opening_scripts(self.scripts, self.script_problems, prefix)
        if text != current:
            self.editor.setPlainText(text)
            self.editor.moveCursor(QTextCursor.MoveOperation.End)
        self.editor.document().setModified(False)
        self._header = header
        self._opening_text = self._script_baseline = text

    @property
    def script_baseline(self) -> str:
        """The editor text that counts as unchanged (opened with, or last saved)."""
        return self._script_baseline

    @property
    def script_changed(self) -> bool:
        """Whether the editor's text differs from what the tab opened with or last saved."""
        return self.editor.toPlainText() != self._script_baseline

    def script_for_saving(self) -> str:
        """The editor's text as the template's script: without the comment header this
        tab generated (the saved template gets a header of its own); ``""`` when nothing
        but that header (or whitespace) is there."""
        text = self.editor.toPlainText()
        if self._header and text.startswith(self._header):
            text = text[len(self._header):]
        return text if text.strip() else ""

    @property
    def title(self) -> str:
        """The template's name, or "Untitled playground" for a blank one."""
        return self.template_name or UNTITLED

    @property
    def status_line(self) -> str:
        """What the window's status label shows: the status, or once a run has ended and
        the playground is ready again, how that run ended ("Finished in 3.42 s")."""
        if self.state == READY and self.last_run and not self.is_running:
            return self.last_run
        return self.status

    @property
    def is_ready(self) -> bool:
        return self.state == READY

    @property
    def is_running(self) -> bool:
        return self.runner is not None and self.runner.is_running

    # -- life: preparing ---------------------------------------------------------------
    @property
    def engine_name(self) -> str:
        """The name of the engine this playground is for ("" when none is known)."""
        if self.descriptor is not None:
            return self.descriptor.name
        return self.engine.name if self.engine is not None else ""

    @property
    def catalog_kinds(self) -> tuple[CatalogKind, ...]:
        """How the catalog dock arranges this playground's objects (the engine's kinds)."""
        return tuple(self.descriptor.catalog_kinds) if self.descriptor is not None else ()

    def attach_engine(self, engine: Engine) -> None:
        """Start making the sandbox on ``engine`` (called once the server is up)."""
        if self.engine is not None:
            return
        self.engine = engine
        if self.descriptor is not None:
            apply_language(self.editor, self.descriptor.language)
        self._show_template_header()  # again: the engine's language may comment differently
        self._prepare(resetting=False)

    def show_unavailable(self, message: str) -> None:
        """The playground's engine cannot be used here (not installed, a driver missing):
        one line that says what to install, and *Close*; nothing is retried."""
        self.state, self.status, self.error = FAILED, "Engine unavailable", message
        self._show_usable(False)
        self.show_banner(message, busy=False, error=True, close="Close playground")
        self.state_changed.emit()

    def _prepare(self, *, resetting: bool) -> None:
        assert self.engine is not None
        self.state = PREPARING
        self.error = None
        if self.template_path is not None:
            verb = "Restoring" if not resetting else "Resetting to"
            self.status = f"{verb} “{self.title}”…"
        else:
            self.status = "Creating a sandbox database…"
        self.show_banner(self.status, busy=True)
        self._show_usable(True)
        relay = ProgressRelay(self)
        relay.progress.connect(self._on_prepare_progress)
        self._relay = relay
        pristine = self.clones.pristine
        if resetting and pristine is not None:
            worker = Worker(
                reset_from_clone, self.engine, self.template_path, self.clones.take(),
                pristine, relay, self.batch_size, self.timeout,
            )
        else:
            worker = Worker(
                prepare_sandbox, self.engine, self.template_path, relay, self.batch_size,
                self.timeout,
            )
        worker.signals.returned.connect(
            self._on_reset_ready if resetting else self._on_prepared
        )
        worker.signals.errored.connect(self._on_prepare_failed)
        if resetting:  # the reset took the ready clone: make the next reset's
            worker.signals.errored.connect(lambda _exc: self.clones.refill())
        self._prepare_worker = worker
        start_worker(worker)
        self.state_changed.emit()

    def _on_prepare_progress(self, done: int, total: object) -> None:
        if self.state != PREPARING:
            return
        if isinstance(total, int) and total > 0:
            self.banner.set_progress(
                f"{self.status} {human_size(done)} of {human_size(total)}", done / total
            )
        else:
            self.banner.set_progress(f"{self.status} {human_size(done)}", None)

    def _adopt(self, prepared: Prepared) -> None:
        self.database, self.session = prepared.database, prepared.session
        session, catalog = prepared.session, prepared.catalog
        runner = QueryRunner(session, cap=self.row_cap, parent=self)
        self.results.attach(runner)
        runner.all_done.connect(self._on_all_done)
        self.runner = runner
        self.state = READY
        self.status = "Ready"
        self.link_is_lost = False
        self.last_run = ""
        self.banner_row.hide()
        self._set_catalog(catalog)
        self.state_changed.emit()

    def _discard(self, prepared: Prepared) -> None:
        """Drop what a preparation made that nobody wants any more (closed meanwhile)."""
        self._drop_later(prepared.database, prepared.session)
        if prepared.pristine is not None and prepared.pristine != self.clones.pristine:
            self._drop_later(prepared.pristine, None)

    def _on_prepared(self, prepared: Prepared) -> None:
        if self._stale_prepare():
            self._discard(prepared)
            return
        self._prepare_worker = None
        if self.state != PREPARING:  # closed while the sandbox was being made
            self._discard(prepared)
            return
        self._adopt(prepared)
        self.clones.keep(self.engine, prepared.pristine)
        self.status_message.emit(f"{self.title}: ready in database {self.database}")

    def _on_reset_ready(self, prepared: Prepared) -> None:
        if self._stale_prepare():
            self._discard(prepared)
            return
        self._prepare_worker = None
        if self.state != PREPARING:
            self._discard(prepared)
            return
        old_database, old_session, old_runner = self.database, self.session, self.runner
        if old_runner is not None:
            old_runner.discard(close_session=False)
            old_runner.deleteLater()
        if old_database is not None:
            self._drop_later(old_database, old_session)
        self.modified = False
        self.results.end()  # a run the reset cut short never reports its end
        self.results.clear()
        self._adopt(prepared)
        self.clones.keep(self.engine, prepared.pristine)  # the next reset's clone
        self.status_message.emit(f"{self.title}: reset; fresh database {self.database}")

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
        if self._check_link():
            self.status_message.emit("The connection to the server is lost: Reconnect first.")
            return False
        statements = self._split(text)
        if self.engine is not None and not statements:
            # E.g. Run all on a template's comment header alone.
            self.status_message.emit("Nothing to run: there are only comments here.")
            return False
        # A result the last run left open for Fetch more is closed by this run first.
        handed_over = self.results.take_open_results()
        self.results.begin(text, offset, statements)
        self._cancel_requested = False
        self.status = running_status(0.0)
        keep_open = len(statements) - 1 if statements else None
        self.runner.run(text, keep_open=keep_open, handed_over=handed_over)
        self.state_changed.emit()
        return True

    def _split(self, text: str) -> list:
        """The statements of ``text`` as the engine's sessions will run them."""
        if self.descriptor is not None:
            return self.descriptor.language.split(text)
        return type(self.engine).split(text) if self.engine is not None else []

    def cancel(self) -> None:
        """Stop the running statement (Esc / Stop)."""
        if self.state == PREPARING and self._relay is not None:
            self._relay.cancelled.set()
            return
        if self.runner is not None and self.runner.is_running:
            self._cancel_requested = self.results.cancel_requested = True
            self.status = running_status(self.results.clock.elapsed(), cancelling=True)
            self.runner.cancel()
            self.state_changed.emit()

    def _on_clock_tick(self, seconds: float) -> None:
        if self.state != READY or not self.is_running:
            return
        self.status = running_status(seconds, cancelling=self._cancel_requested)
        self.status_ticked.emit(self.status)

    def _on_all_done(self) -> None:
        seconds = self.results.end()
        self.run_recorded.emit(self.results.summary(self.database or ""))
        if self.results.changed_state:
            self.modified = True
            self.refresh_catalog()
        self.last_run, self.last_run_tip = self.results.outcome(seconds)
        if self.state == READY:  # not while a reset that cancelled this run prepares
            self.status = "Ready"
        self.results.show_outcome()
        self._check_link()
        self.state_changed.emit()
        self.run_finished.emit()

    def message_texts(self) -> list[str]:
        """The Messages pane's lines, for tests and copying."""
        return self.messages.texts()

    def result_models(self) -> list[ResultsModel]:
        """The result tabs' models in order."""
        return self.results.models()

    def _go_to_position(self, position: int) -> None:
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
        self.catalog = list(catalog)
        self.editor.set_catalog(self.catalog)  # names quoted the language's way
        self.catalog_changed.emit(self.catalog)

    def _on_catalog_failed(self, exc: object) -> None:
        if self.state == READY:
            message = one_line(exc) if isinstance(exc, BaseException) else str(exc)
            self.status_message.emit(f"Could not read the catalog: {message}")

    # -- reset / saved -----------------------------------------------------------------
    def reset(self) -> bool:
        """Give the playground the template's state again in a new sandbox (a clone of
        the pristine copy where there is one, else a new restore); the old one is dropped
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

    def mark_saved(
        self, path: Path, name: str, description: str, script: str | None = None
    ) -> None:
        """The state was saved as the template at ``path``: it becomes this tab's template.
        ``script`` is the editor text that was saved with it (None: the editor's text now)."""
        self.template_path = Path(path)
        self.template_name = name
        self.template_description = description
        self.clones.forget()  # copies of the old template; the next reset restores the new
        self.modified = False
        self._script_baseline = self.editor.toPlainText() if script is None else script
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
        self.clones.close()
        runner, database = self.runner, self.database
        self.runner, self.session = None, None
        self.results.end()
        self.results.clear()  # big results are freed off the UI thread, not with the tab
        if runner is not None:
            # Stops the run and closes the session on a worker once it has stopped.
            runner.discard(close_session=True)
        if database is not None:
            self._drop_later(database, None)
        self.database = None
        if not was_preparing:
            self._maybe_closed()

    def _drop_later(self, database: str, session: Session | None) -> None:
        if self.state == LOST:
            self._note_lost(database, session)
            return
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
        if (self.state == CLOSING and self._pending_drops <= 0 and self._prepare_worker is None
                and not self.clones.busy):
            self.state = CLOSED
            self.closed.emit()
