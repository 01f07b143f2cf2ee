"""What a walk through the real window found clumsy, pinned so it stays fixed.

Each test names the problem a user met: completion that offered keywords after
``alias.``, a history list that read "-- Shop", a Preferences item without a key on
Linux, an export that finished without a word, and so on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtGui import QAction, QKeySequence, QTextCursor
from PySide6.QtWidgets import QMainWindow, QTableView

from dbplay_desktop.engines.base import CatalogItem, Column
from dbplay_desktop.history import QueryHistory
from dbplay_desktop.ui.editor.completer import context_words, relations_from_catalog
from dbplay_desktop.ui.editor.editor import CodeEditor
from dbplay_desktop.ui.results.cell_viewer import CellViewer
from dbplay_desktop.ui.results.history_panel import COL_QUERY, HistoryPanel, query_summary
from dbplay_desktop.ui.results.model import ResultsModel
from dbplay_desktop.ui.results.view import ResultsView
from tests.ui.conftest import run_and_wait, wait_ready
from tests.ui.helpers_editor import language


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


def _shop_catalog() -> list[CatalogItem]:
    def table(name: str, *columns: str, kind: str = "table") -> CatalogItem:
        return CatalogItem(name, kind, insert_text=name,
                           children=[CatalogItem(c, "column", "text", c) for c in columns])

    return [CatalogItem("public", "schema", insert_text="public", children=[
        table("customers", "id", "name", "email"),
        table("orders", "id", "customer_id", "status"),
        table("order_totals", "order_id", "customer", "total", kind="view"),
    ])]  # fmt: skip


# --------------------------------------------------------------------------- completion


def test_alias_dot_completes_that_tables_columns_not_keywords():
    relations = relations_from_catalog(_shop_catalog())
    statement = "select * from customers c join orders as o on o. where c."
    assert context_words("select * from customers c where c.", statement, relations,
                         "postgresql") == ["id", "name", "email"]
    before = "select * from customers c join orders as o on o."
    assert context_words(before, statement, relations, "postgresql") == [
        "id", "customer_id", "status"]
    # A table name works as its own qualifier; an unknown one falls back to everything.
    assert context_words("select orders.", "select orders.", relations, "postgresql") == [
        "id", "customer_id", "status"]
    assert context_words("select x.", "select x.", relations, "postgresql") is None


def test_after_from_tables_come_first():
    relations = relations_from_catalog(_shop_catalog())
    words = context_words("select * from ", "select * from cus", relations, "postgresql")
    assert words == ["customers", "orders", "order_totals"]
    assert context_words("select ", "select cus", relations, "postgresql") is None
    # A qualifier that is no table or alias keeps the plain word list, in any language.
    assert context_words("db.", "db.", relations, "javascript") is None


def test_editor_popup_after_alias_lists_columns(qtbot):
    editor = CodeEditor(language=language("postgresql"))
    qtbot.addWidget(editor)
    editor.show()
    catalog = _shop_catalog()
    from dbplay_desktop.ui.editor.completer import names_from_catalog

    editor.set_catalog_names(names_from_catalog(catalog))
    editor.set_catalog_relations(relations_from_catalog(catalog))
    editor.setPlainText("select * from customers c where c.")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor._open_completion(force=True)
    shown = editor.completer.completionModel()
    words = [shown.index(i, 0).data() for i in range(shown.rowCount())]
    assert sorted(words) == ["email", "id", "name"]

    # "from cus" offers the table before the column "customer" of a view.
    editor.setPlainText("select * from cus")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor._open_completion(force=True)
    assert editor.completer.current_text() == "customers"
    editor.completer.hide_popup()
    # Anywhere else every word is on offer again.
    editor.setPlainText("select cus")
    editor.moveCursor(QTextCursor.MoveOperation.End)
    editor._open_completion(force=True)
    assert editor.completer.current_text() == "customer"
    editor.completer.hide_popup()


# --------------------------------------------------------------------------- history


def test_history_shows_the_query_not_its_header_comment(qtbot, tmp_path: Path):
    assert query_summary("-- Shop\n-- A small shop\n\nselect 1;\nselect 2;") == (
        "select 1; select 2;")
    assert query_summary("SELECT c.name,\n       count(*)\nFROM customers c") == (
        "SELECT c.name, count(*) FROM customers c")
    assert query_summary("-- only a comment") == "-- only a comment"
    assert len(query_summary("select " + "x, " * 500)) == 300
    with QueryHistory(tmp_path / "h.sqlite3") as history:
        history.add("-- Shop\n-- header\n\nSELECT *\nFROM customers;", database="db")
        panel = HistoryPanel(history)
        qtbot.addWidget(panel)
        assert panel.tree.topLevelItem(0).text(COL_QUERY) == "SELECT * FROM customers;"


# --------------------------------------------------------------------------- window chrome


def test_preferences_has_a_shortcut_and_stop_names_esc(main_window):
    keys = main_window.preferences_action.shortcut()
    assert not keys.isEmpty()  # Ctrl+, where the platform has no Preferences key
    assert "()" not in main_window.preferences_action.toolTip()
    assert "Esc" in main_window.stop_action.toolTip()
    # Every tool bar button says what it does, with its key where it has one.
    for action in main_window.top_bar.actions():
        if action.isSeparator():
            continue
        assert action.toolTip(), action.text()
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if shortcut:
            assert shortcut in action.toolTip()


def test_cancel_says_cancelled_after_once(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("SELECT pg_sleep(30);")
    with qtbot.waitSignal(playground.run_finished, timeout=15_000):
        assert playground.run_all()
        qtbot.waitUntil(lambda: playground.results.clock.elapsed() > 0.2, timeout=10_000)
        main_window.stop_action.trigger()
    last = playground.message_texts()[-1]
    assert _FINAL_TIME.fullmatch(last), last
    assert "canceling statement" not in " ".join(playground.message_texts())
    # And a normal run afterwards still works.
    playground.editor.setPlainText("SELECT 1;")
    run_and_wait(qtbot, playground)
    assert playground.result_models()[0].value(0, 0) == 1


# --------------------------------------------------------------------------- results


def _capped_view(qtbot) -> ResultsView:
    model = ResultsModel(cap=3)
    model.set_columns([Column("n", "int4")])
    model.append_rows([(1,), (2,), (3,)])
    model.finish(True, True)  # the cap was reached, the server had more
    view = ResultsView(model)
    qtbot.addWidget(view)
    return view


def test_capped_export_says_how_many_rows_and_footer_explains_the_cap(qtbot):
    view = _capped_view(qtbot)
    labels = [a.text() for a in view.build_menu().actions() if a.text().startswith("Export")]
    assert labels == ["Export 3 fetched rows as CSV…", "Export 3 fetched rows as JSON…"]
    assert view.summary_label.text() == "3 of >3 rows"
    assert "row cap" in view.summary_label.toolTip()


def test_finished_export_is_announced_in_the_status_bar(qtbot, tmp_path: Path):
    window = QMainWindow()
    qtbot.addWidget(window)
    view = _capped_view(qtbot)
    window.setCentralWidget(view)
    window.show()
    target = tmp_path / "out.csv"
    with qtbot.waitSignal(view.export_finished, timeout=10_000):
        view.export(target, "csv")
    assert target.read_text(encoding="utf-8") == "n\n1\n2\n3\n"
    assert view.export_message == f"Exported 3 rows to {target}"
    assert window.statusBar().currentMessage() == view.export_message


def test_cell_viewer_names_the_column_above_the_value(qtbot):
    viewer = CellViewer({"a": 1, "b": 2}, "doc: jsonb")
    qtbot.addWidget(viewer)
    assert viewer.summary_label.text() == "doc: jsonb — object (2)"
    plain = CellViewer("x" * 10)
    qtbot.addWidget(plain)
    assert plain.summary_label.text() == "10 characters"


# --------------------------------------------------------------------------- a running query


#: How a cancelled run's time reads: "Cancelled after 876 ms", "Cancelled after 2.70 s".
_FINAL_TIME = re.compile(r"Cancelled after (\d[\d,]* ms|\d+\.\d\d s)")


def _live_seconds(text: str, prefix: str = "Running… ") -> float:
    """3.4 from "Running… 3.4 s" (fails the test on any other shape)."""
    assert text.startswith(prefix) and text.endswith(" s"), text
    return float(text[len(prefix):-2])


def test_a_running_query_shows_a_live_clock_then_how_it_ended(qtbot, main_window, tmp_path):
    """A minute of "Running…" cannot tell a busy server from a hung one: the status counts
    the time like DBeaver's, cheaply, and a cancel leaves a tab that says so."""
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    label = main_window.status_label
    playground.editor.setPlainText("SELECT pg_sleep(30) AS nap;")
    assert playground.run_all()
    chrome_updates: list[int] = []
    playground.state_changed.connect(lambda: chrome_updates.append(1))
    qtbot.waitUntil(lambda: label.text().startswith("Running… ")
                    and _live_seconds(label.text()) >= 0.5, timeout=10_000)
    first = _live_seconds(label.text())
    qtbot.waitUntil(lambda: _live_seconds(label.text()) >= first + 0.3, timeout=10_000)
    assert playground.status == label.text()
    # Ticks update one label: no chrome refresh (state_changed) while the query runs.
    assert chrome_updates == []
    # The result tab's footer counts the statement's own time too.
    view = playground.results_tabs.widget(1)
    assert playground.results_tabs.tabText(1) == "Result 1"
    assert _live_seconds(view.elapsed_label.text(), "") >= 0.5
    image = main_window.grab()
    assert image.save(str(tmp_path / "running-query.png"))

    with qtbot.waitSignal(playground.run_finished, timeout=15_000):
        main_window.stop_action.trigger()
        assert label.text().startswith("Cancelling… ")
    final = label.text()
    assert _FINAL_TIME.fullmatch(final), final
    assert playground.status == "Ready" and playground.last_run == final
    assert label.text() == final
    assert not playground.results.clock.is_running  # the clock stopped: no more ticks

    # A statement cancelled before its first row keeps no empty tab; Messages says what
    # happened, in the same words and time as the status.
    assert playground.result_models() == []
    assert playground.results_tabs.count() == 1
    assert playground.results_tabs.currentWidget() is playground.messages
    assert playground.message_texts() == [final]

    # A run that finishes says how long it took.
    playground.editor.setPlainText("SELECT 1;")
    run_and_wait(qtbot, playground)
    assert label.text().startswith("Finished in "), label.text()
    assert playground.results_tabs.tabText(1) == "Result 1"


def test_the_clock_ticks_while_running_and_keeps_its_final_time(qtbot):
    from dbplay_desktop.ui.results.run_clock import RunClock, format_live, running_status

    assert format_live(3.44) == "3.4 s" and format_live(125.9) == "2 min 05 s"
    assert running_status(0.0) == "Running… 0.0 s"
    assert running_status(61, cancelling=True) == "Cancelling… 1 min 01 s"
    clock = RunClock(interval_ms=20)
    ticks: list[float] = []
    clock.ticked.connect(ticks.append)
    clock.start()
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=5_000)
    assert ticks == sorted(ticks) and clock.is_running
    final = clock.stop()
    assert not clock.is_running  # its timer is stopped: no tick can follow
    assert final >= ticks[-1] and clock.elapsed() == final == clock.stop()


def test_a_statement_failing_before_its_first_row_leaves_a_tab_that_says_so(
    qtbot, main_window
):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    # DECLARE succeeds; the error comes with the first FETCH, after the tab was made.
    playground.editor.setPlainText("SELECT 1 / (g - g) FROM generate_series(1, 3) g;")
    run_and_wait(qtbot, playground)
    tabs = playground.results_tabs
    assert tabs.count() == 2 and tabs.tabText(1) == "Result 1 (failed)"
    view = tabs.widget(1)
    assert view.summary_label.text() == "Failed: division by zero"
    assert "division by zero" in playground.message_texts()[-1]
    assert main_window.status_label.text().startswith("Failed after ")
    assert tabs.currentWidget() is playground.messages  # the error is in front


def test_partial_results_say_why_they_stopped(qtbot):
    model = ResultsModel()
    model.set_columns([Column("n", "int4")])
    model.append_rows([(1,), (2,)])
    model.finish(False, False, elapsed=2.1, cancelled=True)
    assert model.summary() == "2 rows (cancelled after 2.10 s)"
    model.reset()
    model.set_columns([Column("n", "int4")])
    model.finish(False, False, failure="could not\n  read block")
    view = ResultsView(model)
    qtbot.addWidget(view)
    assert view.summary_label.text() == "Failed: could not read block"
    model.reset()
    model.set_columns([Column("n", "int4")])
    model.finish(False, False)  # stopped with no reason to give
    assert model.summary() == "0 rows (stopped)"


def test_a_run_broken_outside_any_statement_finishes_its_streaming_tab(qtbot):
    """A result still streaming when the whole run broke must not say "streaming…" forever."""
    from PySide6.QtWidgets import QTabWidget

    from dbplay_desktop.engines.base import Session, Statement, StatementResult
    from dbplay_desktop.ui.playground.query_runner import QueryRunner
    from dbplay_desktop.ui.results.messages_pane import MessagesPane
    from dbplay_desktop.ui.results.run_results import RunResults

    def rows_then_break():
        yield [(1,)]
        raise RuntimeError("connection lost")

    class BreakingSession(Session):
        def execute(self, text):
            yield StatementResult(0, Statement.at(text, 0, len(text)), [Column("n", "int4")],
                                  _batches=rows_then_break())

        def cancel(self) -> None: ...

        def catalog(self):
            return []

        def close(self) -> None: ...

    editor = CodeEditor(language=language("postgresql"))
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    qtbot.addWidget(editor)
    messages = MessagesPane()
    tabs.addTab(messages, "Messages")
    results = RunResults(editor, tabs, messages, batch_size=100, row_cap=None)
    runner = QueryRunner(BreakingSession(), cap=None)
    results.attach(runner)
    results.begin("select n", 0)
    with qtbot.waitSignal(runner.all_done, timeout=10_000):
        runner.run("select n")
    assert results.end() > 0
    model = results.models()[0]
    assert model.is_finished and not model.is_streaming
    assert model.summary() == "1 row (failed: RuntimeError: connection lost)"
    assert tabs.tabText(1) == "Result 1 (failed)"


# --------------------------------------------------------------------------- menus


_PROPER_WORDS = {"PostgreSQL", "MongoDB", "SQLite", "Chroma", "Markdown"}


def _title_case_words(label: str) -> list[str]:
    """Words after the first that start with a capital and are no acronym or name."""
    text = label.split("\t")[0].replace("&", "").replace("…", "")
    words = [w.strip("()“”\"',:/") for w in text.split()]
    return [w for w in words[1:] if w and w[0].isupper() and not w.isupper()
            and w not in _PROPER_WORDS]


def _labels(menu) -> list[str]:
    labels = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        labels.append(action.text())
        if action.menu() is not None:
            labels.extend(_labels(action.menu()))
    return labels


def test_every_menu_is_in_sentence_case(qtbot, main_window):
    from PySide6.QtCore import QPoint

    from dbplay_desktop.ui.menu_text import standard_menu

    labels: list[str] = []
    for menu_action in main_window.menuBar().actions():
        labels.extend(_labels(menu_action.menu()))
    labels += [a.text() for a in main_window.top_bar.actions() if not a.isSeparator()]
    labels += _labels(_capped_view(qtbot).build_menu())
    plain = ResultsView()
    qtbot.addWidget(plain)
    labels += _labels(plain.build_menu())
    browser = main_window.template_browser
    labels += [a.text() for a in (browser.open_action, browser.import_action,
                                  browser.reveal_action, browser.rename_action,
                                  browser.delete_action, browser.refresh_action)]
    history = main_window.history_panel
    labels += [a.text() for a in (history.rerun_action, history.open_action,
                                  history.copy_action, history.clear_action)]
    editor = CodeEditor()
    qtbot.addWidget(editor)
    editor_menu = _labels(standard_menu(editor, QPoint(1, 1)))
    assert any(label.startswith("Select all") for label in editor_menu), editor_menu
    labels += editor_menu
    viewer = CellViewer("some text")
    qtbot.addWidget(viewer)
    labels += _labels(standard_menu(viewer.text_view, QPoint(1, 1)))
    # The labels the walkthrough met, now in sentence case:
    for wanted in ("Copy with header", "Open value…", "Export all rows as CSV…",
                   "Save state as template…", "Find and replace…"):
        assert wanted in labels
    offenders = {label: words for label in labels if (words := _title_case_words(label))}
    assert offenders == {}


# --------------------------------------------------------------------------- confirmations


def test_deleting_a_template_asks_with_delete_and_cancel(qtbot, tmp_path: Path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from dbplay_desktop.templates.library import TemplateLibrary, library_dir
    from dbplay_desktop.templates.writer import TemplateWriter
    from dbplay_desktop.ui.confirm import destructive_box
    from dbplay_desktop.ui.templates.browser import TemplateBrowser
    from tests.ui.conftest import answer_confirmations

    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    root = library_dir()
    root.mkdir(parents=True)
    with TemplateWriter(root / "notes.dbtpl", engine="postgresql", name="Notes") as writer:
        with writer.open("schema.sql") as stream:
            stream.write(b"CREATE TABLE t (id int);\n")
        writer.commit("15.4", {})
    (tmp_path / "samples").mkdir()
    browser = TemplateBrowser(TemplateLibrary(samples_dir=tmp_path / "samples"))
    qtbot.addWidget(browser)
    browser.select_path(root / "notes.dbtpl")

    # The box names the action; Cancel is the default and Esc's button, no Yes/No.
    box, confirm = destructive_box(browser, "Delete template", "Delete?", "Delete")
    qtbot.addWidget(box)
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Delete"]
    assert box.buttonRole(confirm) == QMessageBox.ButtonRole.DestructiveRole
    assert box.defaultButton().text() == "Cancel" and box.escapeButton().text() == "Cancel"

    asked = answer_confirmations(monkeypatch, "Cancel")
    browser.delete_action.trigger()
    assert len(asked) == 1 and "Notes" in asked[0].text()
    assert asked[0].windowTitle() == "Delete template"
    assert (root / "notes.dbtpl").exists()
    answer_confirmations(monkeypatch, "Delete")
    browser.delete_action.trigger()
    assert not (root / "notes.dbtpl").exists()


# --------------------------------------------------------------------------- README


def _readme_keys() -> list[str]:
    """The keys named in backticks in the README's "Using the window" section."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the window", 1)[1].split("\n## ", 1)[0]
    quoted = section.split("`")[1::2]
    return [q for q in quoted if q.startswith(("Ctrl+", "Shift+", "Alt+", "Esc", "F"))
            and " " not in q and not q.endswith(".dbtpl")]


def test_readme_shortcuts_are_the_apps(qtbot, main_window):
    """Every key the README promises does that thing in the window or the editor."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    from dbplay_desktop.ui.editor.commands import key_command

    def editor_command(keys: str) -> str | None:
        combination = QKeySequence(keys)[0]
        event = QKeyEvent(QEvent.Type.KeyPress, combination.key(),
                          combination.keyboardModifiers())
        return key_command(event)

    def window_action(keys: str):
        wanted = QKeySequence(keys)
        return [a for a in main_window.findChildren(QAction) if wanted in a.shortcuts()]

    w = main_window
    actions = {
        "Ctrl+N": w.new_action, "Ctrl+O": w.open_action, "Ctrl+S": w.save_action,
        "Ctrl+Shift+R": w.reset_action, "Ctrl+Shift+F": w.format_action,
        "Ctrl+Shift+H": w.history_dock.toggleViewAction(), "Ctrl+Q": w.quit_action,
    }
    editor_keys = {
        "Ctrl+Enter": "run_current", "Ctrl+Shift+Enter": "run_all", "Esc": "escape",
        "Ctrl+Space": "complete", "Ctrl+F": "find", "Ctrl+H": "replace", "Ctrl+/": "comment",
    }
    named = _readme_keys()
    # Ctrl+C and Ctrl+End belong to the results grid (Ctrl+End: tests/ui/test_fetch_more.py).
    assert sorted(set(named)) == sorted({*actions, *editor_keys, "Ctrl+C", "Ctrl+End"})
    for keys, action in actions.items():
        assert window_action(keys) == [action], keys
        assert editor_command(keys) is None, keys  # the editor lets it through
    for keys, command in editor_keys.items():
        assert editor_command(keys) == command, keys
    # Ctrl+C in the results grid copies the selection as TSV.
    view = ResultsView()
    qtbot.addWidget(view)
    assert view.copy_action.shortcut() == QKeySequence("Ctrl+C")
    # Ctrl+End is the table's own "move to end", which the grid takes to the last row.
    assert type(view.table).moveCursor is not QTableView.moveCursor
