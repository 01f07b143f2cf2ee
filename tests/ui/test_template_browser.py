"""The template browser dock on a real library folder (offscreen Qt)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QInputDialog, QMessageBox

from dbplay_desktop.templates.library import TemplateLibrary, library_dir
from dbplay_desktop.templates.reader import read_manifest
from dbplay_desktop.templates.writer import TemplateWriter
from dbplay_desktop.ui.templates.browser import (
    ENTRY,
    KIND_ROLE,
    TemplateBrowser,
    human_size,
    stats_summary,
)
from tests.ui.conftest import answer_confirmations


def make_template(path: Path, name: str, description: str = "", **stats: int) -> Path:
    with TemplateWriter(path, engine="postgresql", name=name, description=description) as w:
        with w.open("schema.sql") as stream:
            stream.write(b"CREATE TABLE t (id int);\n")
        w.commit("15.4", stats)
    return path


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateLibrary:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    root = library_dir()
    root.mkdir(parents=True)
    samples = tmp_path / "samples"
    samples.mkdir()
    make_template(root / "shop.dbtpl", "Shop", "Customers and orders", tables=4, rows=1200)
    make_template(root / "notes.dbtpl", "Notes", "A notebook", tables=1)
    make_template(samples / "school.dbtpl", "School timetable", "Teachers and rooms", tables=5)
    return TemplateLibrary(samples_dir=samples)


@pytest.fixture
def browser(qtbot, library: TemplateLibrary) -> TemplateBrowser:
    widget = TemplateBrowser(library)
    qtbot.addWidget(widget)
    widget.resize(320, 500)
    widget.show()
    return widget


def shown(browser: TemplateBrowser) -> dict[str, list[str]]:
    """Group title -> names of the entries under it, as displayed."""
    groups: dict[str, list[str]] = {}
    for g in range(browser.tree.topLevelItemCount()):
        group = browser.tree.topLevelItem(g)
        names = [
            group.child(c).data(0, Qt.ItemDataRole.DisplayRole)
            for c in range(group.childCount())
            if group.child(c).data(0, KIND_ROLE) == ENTRY
        ]
        groups[group.text(0)] = names
    return groups


def item_for(browser: TemplateBrowser, name: str):
    for g in range(browser.tree.topLevelItemCount()):
        group = browser.tree.topLevelItem(g)
        for c in range(group.childCount()):
            if group.child(c).text(0) == name:
                return group.child(c)
    raise AssertionError(f"{name} is not shown")


def test_formatting_helpers() -> None:
    assert human_size(512) == "512 bytes"
    assert human_size(12 * 1024 + 100) == "12 KB"
    assert human_size(int(3.4 * 1024 * 1024)) == "3.4 MB"
    assert stats_summary({"rows": 1200, "tables": 5}) == "5 tables · 1,200 rows"
    stats = {"schemas": 1, "indexes": 1, "views": 2, "materialized_views": 1, "tables": 1}
    assert stats_summary(stats) == "1 table · 2 views · 1 materialized view"
    assert stats_summary(stats, brief=False) == (
        "1 table · 2 views · 1 materialized view · 1 index · 1 schema"
    )
    assert stats_summary({}) == ""


def test_lists_entries_grouped(browser: TemplateBrowser) -> None:
    assert shown(browser) == {
        "My templates  (2)": ["Notes", "Shop"],
        "Samples  (1)": ["School timetable"],
    }
    tip = item_for(browser, "Shop").toolTip(0)
    assert "Customers and orders" in tip and "4 tables · 1,200 rows" in tip


def test_empty_library_shows_a_hint(qtbot, tmp_path: Path) -> None:
    widget = TemplateBrowser(TemplateLibrary(tmp_path / "lib", tmp_path / "none"))
    qtbot.addWidget(widget)
    assert widget.entries() == []
    group = widget.tree.topLevelItem(0)
    assert group.text(0) == "My templates  (0)"
    assert "No templates yet" in group.child(0).text(0)
    assert (tmp_path / "lib").is_dir()


def test_search_filters(browser: TemplateBrowser) -> None:
    browser.search_field.setText("orders")
    assert shown(browser) == {"My templates  (1)": ["Shop"]}
    browser.search_field.setText("TEACHERS rooms")
    assert shown(browser) == {"My templates  (0)": [], "Samples  (1)": ["School timetable"]}
    browser.search_field.clear()
    assert len(browser.entries()) == 3


def test_double_click_and_enter_open(qtbot, browser: TemplateBrowser) -> None:
    item = item_for(browser, "Shop")
    browser.tree.setCurrentItem(item)
    rect = browser.tree.visualItemRect(item)
    with qtbot.waitSignal(browser.open_requested) as blocker:
        viewport = browser.tree.viewport()
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [browser.library.root / "shop.dbtpl"]
    browser.tree.setCurrentItem(item_for(browser, "School timetable"))
    with qtbot.waitSignal(browser.open_requested) as blocker:
        qtbot.keyClick(browser.tree, Qt.Key.Key_Return)
    assert blocker.args[0].name == "school.dbtpl"


def test_library_changes_refresh_the_view(qtbot, browser: TemplateBrowser) -> None:
    library = browser.library
    shop = next(e for e in library.entries() if e.name == "Shop")
    library.rename(shop, "Corner shop")
    qtbot.waitUntil(lambda: "Corner shop" in shown(browser)["My templates  (2)"], timeout=5000)
    notes = next(e for e in library.entries() if e.name == "Notes")
    library.delete(notes)
    qtbot.waitUntil(lambda: shown(browser).get("My templates  (1)") == ["Corner shop"])
    shutil.copy(library.samples_dir / "school.dbtpl", library.root / "copied.dbtpl")
    qtbot.waitUntil(lambda: len(browser.entries()) == 3, timeout=5000)


def test_rename_and_delete_through_the_ui(
    qtbot, browser: TemplateBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser.tree.setCurrentItem(item_for(browser, "Shop"))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Big shop", True))
    browser.rename_action.trigger()
    assert shown(browser)["My templates  (2)"] == ["Big shop", "Notes"]
    assert read_manifest(browser.library.root / "Big shop.dbtpl").name == "Big shop"
    assert browser.selected_entry().name == "Big shop"

    answer_confirmations(monkeypatch, "Delete")
    browser.delete_action.trigger()
    assert shown(browser)["My templates  (1)"] == ["Notes"]


def test_delete_key_only_acts_on_the_list(
    qtbot, browser: TemplateBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = answer_confirmations(monkeypatch, "Delete")
    browser.tree.setCurrentItem(item_for(browser, "Notes"))
    browser.search_field.setFocus()
    qtbot.keyClick(browser.search_field, Qt.Key.Key_Delete)
    assert asked == []
    browser.tree.setFocus()
    qtbot.keyClick(browser.tree, Qt.Key.Key_Delete)
    assert len(asked) == 1 and "Notes" in asked[0].text()
    assert shown(browser)["My templates  (1)"] == ["Shop"]


def test_samples_cannot_be_renamed_or_deleted(browser: TemplateBrowser) -> None:
    browser.tree.setCurrentItem(item_for(browser, "School timetable"))
    assert browser.open_action.isEnabled()
    assert not browser.rename_action.isEnabled()
    assert not browser.delete_action.isEnabled()
    browser.tree.setCurrentItem(item_for(browser, "Notes"))
    assert browser.rename_action.isEnabled() and browser.delete_action.isEnabled()


def test_drop_imports_templates(
    qtbot, browser: TemplateBrowser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: errors.append(text))
    incoming = make_template(tmp_path / "shop.dbtpl", "Friend's shop")
    junk = tmp_path / "junk.dbtpl"
    junk.write_bytes(b"nope")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(incoming)), QUrl.fromLocalFile(str(junk))])
    event = QDropEvent(
        QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    browser.dropEvent(event)
    assert (browser.library.root / "shop (2).dbtpl").exists()
    assert "Friend's shop" in shown(browser)["My templates  (3)"]
    assert browser.selected_entry().name == "Friend's shop"
    assert len(errors) == 1 and "junk.dbtpl is not a valid template" in errors[0]


def test_broken_file_is_listed_and_not_opened(
    qtbot, browser: TemplateBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text: errors.append(text))
    (browser.library.root / "broken.dbtpl").write_bytes(b"junk")
    browser.refresh()
    browser.tree.setCurrentItem(item_for(browser, "broken"))
    assert not browser.open_action.isEnabled()
    with qtbot.assertNotEmitted(browser.open_requested):
        browser.open_selected()
    assert errors and "not a ZIP archive" in errors[0]


def test_screenshot(browser: TemplateBrowser, tmp_path: Path) -> None:
    browser.tree.setCurrentItem(item_for(browser, "Shop"))
    image = browser.grab()
    assert image.save(str(tmp_path / "browser.png"))
    assert image.width() > 100


def test_every_icon_renders(qtbot) -> None:
    from dbplay_desktop.engines import registry
    from dbplay_desktop.ui import icons

    for name in icons.ACTION_ICONS:
        assert icons.icon_path(name).is_file(), name
        image = icons.icon(name).pixmap(24, 24).toImage()
        assert not image.isNull(), name
        opaque = sum(
            1 for x in range(0, 24, 2) for y in range(0, 24, 2) if image.pixelColor(x, y).alpha()
        )
        assert opaque > 3, f"{name} looks empty"
    # Engine badges come from the descriptors (icon_path), names as templates carry them too.
    for descriptor in registry.descriptors():
        assert descriptor.icon_path is not None and descriptor.icon_path.is_file()
        for badge in (icons.engine_icon(descriptor), icons.engine_icon(descriptor.name)):
            image = badge.pixmap(24, 24).toImage()
            assert not image.isNull(), descriptor.name
            assert sum(1 for x in range(0, 24, 2) for y in range(0, 24, 2)
                       if image.pixelColor(x, y).alpha()) > 3, f"{descriptor.name} looks empty"
    assert not icons.engine_icon("no-such-engine").isNull()
    assert not icons.engine_icon(None).isNull()
    assert icons.icon("no-such-icon").isNull()
    assert registry.display_name("postgresql") == "PostgreSQL"
