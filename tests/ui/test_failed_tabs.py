"""A playground whose template cannot be opened says why in the tab, offers Retry where
trying again can help and Close always, and never looks usable while it is not."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import craft_template


def _wait_failed(qtbot, playground) -> None:
    qtbot.waitUntil(lambda: playground.state in ("ready", "failed"), timeout=30_000)
    assert playground.state == "failed"


def _database_actions(window) -> dict[str, bool]:
    actions = (window.run_action, window.run_all_action, window.save_action,
               window.reset_action, window.format_action, window.refresh_catalog_action,
               window.stop_action)
    return {action.text(): action.isEnabled() for action in actions}


def _assert_dead_tab(window, playground) -> None:
    """Nothing that needs a database is offered, and no editor pretends to work."""
    assert not any(_database_actions(window).values()), _database_actions(window)
    assert window.close_tab_action.isEnabled()
    assert playground.banner.isVisible() and playground.banner.is_error
    assert playground.banner.close_button.isVisible()
    assert not playground.results_tabs.isVisible()
    assert not playground.editor_pane.isVisible()
    assert playground.editor.isReadOnly()
    assert not playground.run_all()


def test_a_file_that_is_not_a_template_fails_with_close_and_no_retry(
    qtbot, main_window, tmp_path: Path
):
    bad = tmp_path / "x.dbtpl"
    bad.write_text("not a zip at all")
    playground = main_window.open_template(bad)
    _wait_failed(qtbot, playground)
    assert "not a ZIP" in playground.banner.text()
    assert playground.banner.text().startswith("Could not open “x”: ")
    assert not playground.banner.retry_button.isVisible()  # it would fail the same way
    _assert_dead_tab(main_window, playground)
    assert main_window.status_label.text() == "Failed"
    # Close in the banner closes the tab.
    playground.banner.close_button.click()
    qtbot.waitUntil(lambda: main_window.tabs.count() == 0, timeout=10_000)


def test_a_template_refused_by_the_scan_offers_no_retry(qtbot, main_window, tmp_path: Path):
    path = craft_template(tmp_path / "evil.dbtpl", b"COPY (SELECT 1) TO PROGRAM 'id';\n")
    playground = main_window.open_template(path)
    _wait_failed(qtbot, playground)
    assert "refused" in playground.banner.text()
    assert not playground.banner.retry_button.isVisible()
    _assert_dead_tab(main_window, playground)


def test_a_restore_error_offers_retry_and_retry_opens_the_fixed_template(
    qtbot, main_window, tmp_path: Path
):
    path = craft_template(tmp_path / "broken.dbtpl", b"INSERT INTO missing VALUES (1);\n")
    playground = main_window.open_template(path)
    _wait_failed(qtbot, playground)
    assert "missing" in playground.banner.text()
    assert playground.banner.retry_button.isVisible()
    assert playground.banner.retry_button.text() == "Retry"
    _assert_dead_tab(main_window, playground)

    # The author fixes the file; Retry opens it in the same tab, which now works.
    craft_template(path, b"CREATE TABLE fixed (id int);\n")
    playground.banner.retry_button.click()
    qtbot.waitUntil(lambda: playground.state in ("ready", "failed")
                    and playground._prepare_worker is None, timeout=30_000)
    assert playground.state == "ready", playground.error
    assert not playground.banner.isVisible()
    assert playground.editor_pane.isVisible() and playground.results_tabs.isVisible()
    assert not playground.editor.isReadOnly()
    actions = _database_actions(main_window)
    assert actions["Run all"] and actions["Reset playground"] and actions["Format"]
    assert not actions["Stop"]


def test_text_typed_before_the_failure_stays_readable_but_read_only(
    qtbot, main_window, tmp_path: Path
):
    bad = tmp_path / "typed.dbtpl"
    bad.write_text("not a zip")
    playground = main_window.open_template(bad)
    playground.editor.setPlainText("SELECT 'my work';")
    _wait_failed(qtbot, playground)
    assert playground.editor_pane.isVisible() and playground.editor.isReadOnly()
    assert playground.editor.toPlainText() == "SELECT 'my work';"
    assert not playground.results_tabs.isVisible()
    assert not main_window.format_action.isEnabled()
    assert main_window.find_action.isEnabled()  # finding in the kept text still works


def test_no_server_banner_offers_retry_and_close(qtbot, data_dir, tmp_path: Path):
    from dbplay_desktop.templates.library import TemplateLibrary
    from dbplay_desktop.ui.window.main_window import MainWindow

    window = MainWindow(server_uri="postgresql://nobody@127.0.0.1:9/postgres?connect_timeout=2",
                        library=TemplateLibrary(samples_dir=tmp_path))
    window.show()
    with qtbot.waitSignal(window.engine_failed, timeout=20_000):
        window.start_server()
    playground = window.new_playground()
    banner = playground.banner
    assert banner.text().startswith("No database server: ")
    assert banner.retry_button.isVisible() and banner.close_button.isVisible()
    assert not window.stop_action.isEnabled()  # nothing to stop while no server answers
    with qtbot.waitSignal(window.engine_failed, timeout=20_000):
        banner.retry_button.click()  # tries the server again
    banner.close_button.click()
    qtbot.waitUntil(lambda: window.tabs.count() == 0, timeout=10_000)
    with qtbot.waitSignal(window.shutdown_finished, timeout=10_000):
        window.close()
    window.deleteLater()
