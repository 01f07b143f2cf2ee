"""The window shows template and server text escaped and never as markup."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from dbplay_desktop.templates.library import TemplateLibrary, library_dir
from dbplay_desktop.ui.results.messages_pane import MessagesPane
from dbplay_desktop.ui.templates.browser import TemplateBrowser
from dbplay_desktop.ui.templates.delegate import entry_tooltip, stats_summary
from dbplay_desktop.ui.templates.save_dialog import SaveTemplateDialog
from tests.ui.test_template_browser import item_for, make_template

HOSTILE = "\x1b]0;pwned\x07\r\u202eexe.txt\x9b<img src='/etc/x'>&amp;"
SHOWN = "\\x1b]0;pwned\\x07\\r\\u202eexe.txt\\x9b<img src='/etc/x'>&amp;"
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


def assert_no_raw(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} in {text!r}"


@pytest.fixture
def hostile_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateLibrary:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    root = library_dir()
    root.mkdir(parents=True)
    make_template(root / "hostile.dbtpl", f"Shop{HOSTILE}", f"first line\n{HOSTILE}",
                  **{f"rows{HOSTILE}": 3})
    (root / "bad<b>x<i>\x1b.dbtpl").write_bytes(b"not a zip")
    samples = tmp_path / "samples"
    samples.mkdir()
    return TemplateLibrary(samples_dir=samples)


def test_browser_rows_and_tooltips_are_escaped(qtbot, hostile_library: TemplateLibrary) -> None:
    browser = TemplateBrowser(hostile_library)
    qtbot.addWidget(browser)
    browser.show()
    item = item_for(browser, f"Shop{SHOWN}")
    tooltip = item.toolTip(0)
    assert_no_raw(tooltip)
    assert "&lt;img src='/etc/x'&gt;&amp;amp;" in tooltip
    assert "<img" not in tooltip
    # The description keeps its line break in the tooltip, and only that.
    assert "first line<br>\\x1b]0;pwned" in tooltip
    entry = next(e for e in hostile_library.entries() if e.path.name == "hostile.dbtpl")
    assert entry_tooltip(entry) == tooltip
    summary = stats_summary(entry.stats)
    assert_no_raw(summary)
    assert "rows\\x1b]0;pwned" in summary


def test_browser_errors_are_never_markup(
    qtbot, hostile_library: TemplateLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: errors.append(text))
    browser = TemplateBrowser(hostile_library)
    qtbot.addWidget(browser)
    browser.show()
    broken = next(e for e in hostile_library.entries() if e.error)
    assert broken.path.name.startswith("bad<b>")
    browser.select_path(broken.path)
    browser.open_selected()
    [message] = errors
    assert_no_raw(message)
    # Explicit, escaped rich text: Qt shows "<b>x</b>" as those characters.
    assert message.startswith("<p style='white-space:pre-wrap'>")
    assert "bad&lt;b&gt;x&lt;i&gt;\\x1b.dbtpl" in message


def test_messages_pane_escapes_server_text(qtbot) -> None:
    pane = MessagesPane()
    qtbot.addWidget(pane)
    pane.add_message(0, 1, f"Query failed: {HOSTILE}", 0.1, 0, kind="error")
    pane.add_message(1, 2, "plain notice", None, None, kind="notice")
    assert pane.texts() == [f"Query failed: {SHOWN}", "plain notice"]
    tooltip = pane.topLevelItem(0).toolTip(2)
    assert_no_raw(tooltip)
    assert "&lt;img" in tooltip and "<img" not in tooltip
    assert pane.topLevelItem(1).toolTip(2) == "plain notice"


def test_save_dialog_shows_hidden_characters_and_limits(qtbot, tmp_path: Path) -> None:
    from dbplay_desktop.templates.limits import MAX_NAME_LENGTH

    dialog = SaveTemplateDialog(f"Shop{HOSTILE}", f"a\nb{HOSTILE}",
                                library=TemplateLibrary(root=tmp_path / "lib"))
    qtbot.addWidget(dialog)
    assert dialog.name_field.text() == f"Shop{SHOWN}"
    assert dialog.description_field.toPlainText() == f"a\nb{SHOWN}"
    assert dialog.problem.textFormat() == Qt.TextFormat.PlainText
    dialog.name_field.setText("n" * (MAX_NAME_LENGTH + 1))
    expected = f"A template name may have at most {MAX_NAME_LENGTH} characters."
    assert dialog.problem_text() == expected


def test_window_title_tabs_labels_and_errors(qtbot, main_window, make_template) -> None:
    path = make_template("CREATE TABLE t (id int);", name=f"Shop{HOSTILE}")
    playground = main_window.open_template(path)
    index = main_window.tabs.indexOf(playground)
    assert main_window.tabs.tabText(index).startswith(f"Shop{SHOWN}")
    assert main_window.windowTitle() == f"Shop{SHOWN} — Database Playground"
    for label in (main_window.engine_label, main_window.server_label,
                  main_window.database_label, main_window.status_label):
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert_no_raw(label.text())
    qtbot.waitUntil(lambda: playground.state in ("ready", "failed"), timeout=30_000)
    assert playground.state == "ready", playground.error
    assert_no_raw(main_window.statusBar().currentMessage())
    assert_no_raw(main_window.status_label.text())

    main_window.show_error("Restore failed", f"shop.dbtpl: {HOSTILE}")
    box = main_window.findChildren(QMessageBox)[-1]
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert box.text() == f"shop.dbtpl: {SHOWN}"
    box.close()
    main_window.close_playground(playground)
    qtbot.waitUntil(lambda: main_window.closing_playgrounds == 0, timeout=20_000)
