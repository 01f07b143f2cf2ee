"""The main window on the real test PostgreSQL: titles, save and reopen, closing, drops."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from dbplay_desktop.templates.reader import read_manifest
from dbplay_desktop.ui.templates.save_dialog import SaveChoice, SaveTemplateDialog
from tests.ui.conftest import run_and_wait, wait_ready


def test_window_title_rules(qtbot, main_window, shop_template):
    assert main_window.windowTitle() == "Database Playground"
    assert main_window.stack.currentWidget() is main_window.welcome
    blank = main_window.new_playground()
    assert main_window.windowTitle() == "Untitled playground — Database Playground"
    shop = main_window.open_template(shop_template)
    assert main_window.windowTitle() == "Test shop — Database Playground"
    main_window.tabs.setCurrentWidget(blank)
    assert main_window.windowTitle() == "Untitled playground — Database Playground"
    wait_ready(qtbot, blank)
    wait_ready(qtbot, shop)
    assert main_window.database_label.text() == f"Sandbox: {blank.database}"
    assert "PostgreSQL" in main_window.engine_label.text()
    main_window.close_playground(blank)
    main_window.close_playground(shop)
    assert main_window.windowTitle() == "Database Playground"
    qtbot.waitUntil(lambda: main_window.closing_playgrounds == 0, timeout=20_000)


def test_closing_a_tab_drops_its_database(qtbot, main_window, pg_engine):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    database = playground.database
    assert database in pg_engine.list_databases()
    main_window.tabs.tabCloseRequested.emit(main_window.tabs.indexOf(playground))
    assert main_window.tabs.count() == 0
    qtbot.waitUntil(lambda: main_window.closing_playgrounds == 0, timeout=20_000)
    assert database not in pg_engine.list_databases()


def test_close_offers_to_save_only_when_changed(qtbot, main_window):
    asked: list[str] = []
    main_window.ask_save = lambda playground: asked.append(playground.title) or "cancel"
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    with qtbot.waitSignal(playground.run_finished, timeout=30_000):
        assert playground.run_text("SELECT 1;", None)  # as from the history: editor empty
    assert main_window.close_playground(playground)  # unchanged: closes without asking
    assert asked == []
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("SELECT 1;")
    run_and_wait(qtbot, playground)
    assert not playground.modified and playground.script_changed
    assert not main_window.close_playground(playground)  # the script changed: it asks
    assert asked == ["Untitled playground"]
    main_window.ask_save = lambda playground: "discard"
    assert main_window.close_playground(playground)
    asked.clear()
    main_window.ask_save = lambda playground: asked.append(playground.title) or "cancel"
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("CREATE TABLE x (id int);")
    run_and_wait(qtbot, playground)
    assert main_window.tabs.tabText(main_window.tabs.indexOf(playground)).endswith("•")
    assert not main_window.close_playground(playground)  # the user pressed Cancel
    assert asked == ["Untitled playground"]
    assert main_window.tabs.count() == 1
    main_window.ask_save = lambda playground: "discard"
    assert main_window.close_playground(playground)
    qtbot.waitUntil(lambda: main_window.closing_playgrounds == 0, timeout=20_000)


def test_save_state_as_template_and_reopen(qtbot, main_window, data_dir, tmp_path):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText(
        "CREATE TABLE pets (name text);\nINSERT INTO pets VALUES ('Rex'), ('Tom');"
    )
    run_and_wait(qtbot, playground)
    assert playground.modified

    dialog = SaveTemplateDialog(library=main_window.library, parent=main_window)
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Save).isEnabled()
    dialog.name_field.setText("Pets")
    dialog.description_field.setPlainText("two pets")
    choice = dialog.choice()
    assert choice.into_library and choice.path.parent == main_window.library.root
    dialog.deleteLater()

    saved = main_window.save_playground(playground, choice)
    assert saved is not None and saved.is_file()
    manifest = read_manifest(saved)
    assert (manifest.name, manifest.description) == ("Pets", "two pets")
    assert not playground.modified
    assert main_window.windowTitle() == "Pets — Database Playground"
    assert any(entry.path == saved for entry in main_window.template_browser.entries())
    assert str(saved.resolve()) in main_window.recent_files()

    elsewhere = main_window.save_playground(
        playground, SaveChoice("Pets copy", "", tmp_path / "copy.dbtpl", into_library=False)
    )
    assert elsewhere == tmp_path / "copy.dbtpl" and elsewhere.is_file()

    reopened = main_window.open_template(saved)
    wait_ready(qtbot, reopened)
    assert reopened.database != playground.database
    reopened.editor.setPlainText("SELECT name FROM pets ORDER BY name;")
    run_and_wait(qtbot, reopened)
    model = reopened.result_models()[0]
    assert [model.value(0, 0), model.value(1, 0)] == ["Rex", "Tom"]


def test_drop_a_template_file_on_the_window(qtbot, main_window, shop_template):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(shop_template))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    main_window.dropEvent(event)  # Qt only routes drops while a real drag is on
    assert event.isAccepted()
    assert main_window.tabs.count() == 1
    playground = main_window.current_playground()
    assert playground.template_path == shop_template.resolve()
    wait_ready(qtbot, playground)


def test_unreachable_server_is_one_clear_line(qtbot, data_dir, tmp_path):
    from dbplay_desktop.templates.library import TemplateLibrary
    from dbplay_desktop.ui.window.main_window import MainWindow

    window = MainWindow(server_uri="postgresql://nobody@127.0.0.1:9/postgres?connect_timeout=2",
                        library=TemplateLibrary(samples_dir=tmp_path))
    window.show()
    with qtbot.waitSignal(window.engine_failed, timeout=20_000) as blocker:
        window.start_server()
    message = blocker.args[0]
    assert "\n" not in message and "127.0.0.1" in message
    playground = window.new_playground()  # still usable: the tab says why it waits
    assert "No database server" in playground.banner.text()
    assert window.windowTitle() == "Untitled playground — Database Playground"
    with qtbot.waitSignal(window.shutdown_finished, timeout=10_000):
        window.close()
    window.deleteLater()


def test_geometry_and_recent_files_are_remembered(qtbot, main_window, shop_template):
    main_window.open_template(shop_template)
    assert main_window.recent_files()[0] == str(Path(shop_template).resolve())
    main_window.resize(1111, 777)
    main_window._save_geometry()
    assert not main_window.app_settings.window_state.isEmpty()
    assert not main_window.app_settings.window_geometry.isEmpty()
    main_window._fill_recent_menu()
    assert main_window.recent_menu.actions()[0].text() == Path(shop_template).name


def test_runs_are_recorded_in_the_history_and_rerun(qtbot, main_window):
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("SELECT 42 AS answer;")
    run_and_wait(qtbot, playground)
    panel = main_window.history_panel
    qtbot.waitUntil(lambda: len(panel.entries()) == 1, timeout=5_000)
    entry = panel.entries()[0]
    assert entry.text == "SELECT 42 AS answer;" and entry.ok and entry.database
    playground.editor.setPlainText("")
    with qtbot.waitSignal(playground.run_finished, timeout=10_000):
        panel.rerun_requested.emit("SELECT 7;\nSELECT nope;")
    assert playground.result_models()[0].value(0, 0) == 7
    assert "line 2" in playground.message_texts()[-1]
    assert playground.editor.error_marks() == []  # the text is not in the editor
    qtbot.waitUntil(lambda: len(panel.entries()) == 2, timeout=5_000)
    assert not panel.entries()[0].ok


def test_find_action_opens_the_find_bar_of_the_current_playground(qtbot, main_window):
    from tests.ui.conftest import wait_ready

    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("select 1;\nselect 2;\n")
    bar = playground.editor_pane.find_bar
    assert bar.isHidden()
    main_window.find_action.trigger()
    assert not bar.isHidden()


def test_an_unsafe_template_fails_in_one_line_and_leaves_no_database(
    qtbot, main_window, pg_engine, tmp_path
):
    from dbplay_desktop.templates.container import TemplateWriter

    target = tmp_path / "written-by-template"
    path = tmp_path / "evil.dbtpl"
    with TemplateWriter(path, engine="postgresql", name="Evil") as writer:
        with writer.open("dump.sql") as out:
            out.write(f"CREATE TABLE t (x int);\nCOPY t TO '{target}';\n".encode())
        writer.commit("15", {})
    before = set(pg_engine.list_databases())
    playground = main_window.open_template(path)
    qtbot.waitUntil(lambda: playground.state in ("ready", "failed"), timeout=30_000)
    assert playground.state == "failed"
    assert "dump.sql:2" in playground.error and "\n" not in playground.error
    assert not target.exists()
    assert set(pg_engine.list_databases()) == before
    assert "could not be prepared" in main_window.catalog_tree.placeholder.text()
