"""Errors in a batch, as the Messages pane and the editor show them: the statements that
did not run, the server's SQLSTATE, detail and hint, the failing statement marked, one
time per run, and a cancel said once."""

from __future__ import annotations

from tests.ui.conftest import run_and_wait, wait_ready


def _playground(qtbot, window, text: str):
    playground = window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText(text)
    return playground


def test_statements_after_a_runtime_error_are_listed_as_not_run(qtbot, main_window):
    text = "select 1;\nselect 1/0;\nselect 2;\nselect 3;\n"
    playground = _playground(qtbot, main_window, text)
    run_and_wait(qtbot, playground)
    pane = playground.messages
    assert pane.texts() == [
        "1 row returned",
        "Query failed at line 2: division by zero",  # no column: the statement failed
        "Not run: select 2",
        "Not run: select 3",
    ]
    assert pane.kinds() == ["ok", "error", "skipped", "skipped"]
    assert [pane.topLevelItem(i).text(1) for i in range(4)] == ["1", "2", "3", "4"]
    assert pane.details(1) == ["SQLSTATE 22012"]
    # The whole failing statement is marked, not column 1 of its line.
    start = text.index("select 1/0")
    marks = playground.editor.error_marks()
    assert [(s, e) for s, e, _ in marks] == [(start, start + len("select 1/0"))]
    assert marks[0][2] == "Query failed: division by zero\nSQLSTATE 22012"
    # Activating a "not run" line goes to its statement.
    pane.itemActivated.emit(pane.topLevelItem(3), 2)
    assert playground.editor.textCursor().position() == text.index("select 3")


def test_detail_and_hint_are_lines_under_the_error_and_in_the_marks_tooltip(
    qtbot, main_window
):
    text = ("create table u (id int primary key);\ninsert into u values (1), (1);\n"
            "select 5;\n")
    playground = _playground(qtbot, main_window, text)
    run_and_wait(qtbot, playground)
    pane = playground.messages
    assert pane.texts()[1] == (
        'Query failed at line 2: duplicate key value violates unique constraint "u_pkey"')
    assert pane.details(1) == ["SQLSTATE 23505", "Detail: Key (id)=(1) already exists."]
    assert pane.texts()[2:] == ["Not run: select 5"]
    tip = playground.editor.error_marks()[0][2]
    assert tip.splitlines() == [
        'Query failed: duplicate key value violates unique constraint "u_pkey"',
        "SQLSTATE 23505", "Detail: Key (id)=(1) already exists.",
    ]

    playground.editor.setPlainText("select 1;\nselect now() + true;\n")
    run_and_wait(qtbot, playground)
    error, details = pane.texts()[1], pane.details(1)
    assert error.startswith("Query failed at line 2, column "), error  # a position
    assert "operator does not exist" in error
    assert details[0] == "SQLSTATE 42883"
    assert details[-1].startswith("Hint: No operator matches"), details
    assert any(line.startswith("Hint: ") for line in playground.editor.error_marks()[0][2]
               .splitlines())


def test_a_run_shows_one_time_for_a_statement(qtbot, main_window):
    playground = _playground(qtbot, main_window, "select 1;")
    run_and_wait(qtbot, playground)
    view = playground.results_tabs.widget(1)
    took = view.elapsed_label.text()
    assert took
    assert main_window.status_label.text() == f"Finished in {took}"
    assert playground.messages.topLevelItem(0).text(3) == took
    assert "in all" in main_window.status_label.toolTip()


def test_a_cancel_is_said_once_and_the_rest_is_not_run(qtbot, main_window):
    playground = _playground(qtbot, main_window, "select pg_sleep(30);\nselect 2;\n")
    with qtbot.waitSignal(playground.run_finished, timeout=15_000):
        assert playground.run_all()
        qtbot.waitUntil(lambda: playground.results.clock.elapsed() > 0.2, timeout=10_000)
        main_window.stop_action.trigger()
    texts = playground.message_texts()
    status = main_window.status_label.text()
    assert status.startswith("Cancelled after ")
    assert texts == [status, "Not run: select 2"]
    assert playground.messages.topLevelItem(0).text(3) == ""  # the time is in the text
    assert playground.results_tabs.count() == 1  # no empty cancelled tab


def test_a_cancelled_statement_that_had_rows_keeps_its_tab(qtbot, main_window):
    main_window.app_settings.batch_size = 5
    playground = _playground(
        qtbot, main_window, "select g, pg_sleep(0.02) from generate_series(1, 5000) g;")
    with qtbot.waitSignal(playground.run_finished, timeout=30_000):
        assert playground.run_all()
        qtbot.waitUntil(lambda: bool(playground.result_models())
                        and playground.result_models()[0].received_count > 0, timeout=20_000)
        main_window.stop_action.trigger()
    model = playground.result_models()[0]
    assert model.received_count > 0
    assert playground.results_tabs.tabText(1) == "Result 1 (cancelled)"
    assert playground.message_texts()[-1].startswith("Cancelled after ")


def test_the_rows_of_an_earlier_run_are_freed(qtbot, main_window):
    """A playground lives long: each run's results go when the next run replaces them."""
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("select g from generate_series(1, 5000) g")
    run_and_wait(qtbot, playground)
    (first,) = playground.result_models()
    gone: list[bool] = []
    first.destroyed.connect(lambda *_: gone.append(True))
    run_and_wait(qtbot, playground)
    qtbot.waitUntil(lambda: bool(gone), timeout=10_000)


def test_whether_a_run_changed_the_playground_comes_from_the_engine(qtbot, main_window):
    """A read leaves the playground unchanged, DDL and DML change it: the engine says so
    per statement (``StatementResult.changes_state``); the window parses nothing."""
    playground = _playground(qtbot, main_window, "select 1;\nshow search_path;\n"
                             "explain select 1;\nvalues (2);")
    run_and_wait(qtbot, playground)
    assert not playground.results.had_error
    assert playground.results.changed_state is False
    playground.editor.setPlainText("create table changed (a int);\nselect 1;")
    run_and_wait(qtbot, playground)
    assert playground.results.changed_state is True
    playground.editor.setPlainText("select 1;\ninsert into changed values (1);")
    run_and_wait(qtbot, playground)
    assert playground.results.changed_state is True
    # a data-modifying WITH is a change, and its rows still show
    playground.editor.setPlainText(
        "with gone as (delete from changed returning a) select a from gone;")
    run_and_wait(qtbot, playground)
    assert playground.results.changed_state is True
    assert playground.result_models()[0].rows() == [(1,)]


def test_results_and_the_query_runner_name_no_engine():
    """The grid, its run results and the query runner are engine-neutral: no engine or
    driver is named in their code, comments or docstrings."""
    from pathlib import Path

    import dbplay_desktop.ui.playground.query_runner as runner
    import dbplay_desktop.ui.results as results

    files = [Path(runner.__file__), *Path(results.__file__).parent.glob("*.py")]
    names = ("postgres", "pglast", "psycopg", "sqlite", "mongo", "chroma")
    found = [(path.name, name) for path in files
             for name in names if name in path.read_text(encoding="utf-8").lower()]
    assert found == []
