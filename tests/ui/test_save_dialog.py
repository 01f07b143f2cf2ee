"""The save dialog: nothing moves when options change, whole paths, Browse…, the script box."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect

from dbplay_desktop.templates.library import TemplateLibrary
from dbplay_desktop.ui.templates.save_dialog import SaveTemplateDialog

LONG = "/home/someone/projects/course-material/2024/spring/week-07/shop-with-three-orders.dbtpl"


def make_dialog(qtbot, tmp_path: Path, **kwargs) -> SaveTemplateDialog:
    dialog = SaveTemplateDialog("Shop", "three orders",
                                library=TemplateLibrary(root=tmp_path / "lib"), **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def geometry(dialog: SaveTemplateDialog) -> dict[str, QRect]:
    widgets = ("name_field", "description_field", "script_box", "library_button",
               "file_button", "path_field", "browse_button", "problem", "buttons")
    return {name: QRect(getattr(dialog, name).geometry()) for name in widgets} | {
        "dialog": QRect(0, 0, dialog.width(), dialog.height())
    }


def test_choosing_another_file_moves_nothing(qtbot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    before = geometry(dialog)
    assert not dialog.path_field.isEnabled()
    dialog.file_button.setChecked(True)
    qtbot.waitUntil(lambda: dialog.path_field.isEnabled())
    assert geometry(dialog) == before
    dialog.path_field.setText("")  # now there is a problem to show
    assert dialog.problem.text() == "Choose a file to save into."
    assert geometry(dialog) == before
    dialog.path_field.setText("/no/such/folder/x.dbtpl")
    assert "does not exist" in dialog.problem.text()
    assert geometry(dialog) == before
    dialog.library_button.setChecked(True)
    assert dialog.problem.text() == ""
    assert geometry(dialog) == before


def test_the_path_field_is_wide_and_shows_long_paths_elided(qtbot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    assert dialog.path_field.width() >= 300
    dialog.file_button.setChecked(True)
    dialog.path_field.setText(LONG)
    dialog.name_field.setFocus()
    qtbot.waitUntil(lambda: not dialog.path_field.hasFocus())
    shown = dialog.path_field.displayed_text()
    assert shown != LONG and "…" in shown
    assert shown.startswith("/home/") and shown.endswith(".dbtpl")  # elided in the middle
    assert LONG in dialog.path_field.toolTip()
    short = "/tmp/x.dbtpl"
    dialog.path_field.setText(short)
    assert dialog.path_field.displayed_text() == short


def test_another_file_starts_from_a_suggestion_that_follows_the_name(qtbot, tmp_path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    dialog.file_button.setChecked(True)
    assert dialog.path_field.text() == str(Path.home() / "Shop.dbtpl")
    dialog.name_field.setText("Shop v2")
    assert Path(dialog.path_field.text()).name == "Shop v2.dbtpl"
    dialog.path_field.setFocus()
    qtbot.keyClicks(dialog.path_field, "x")  # the user's own edit: no longer follows
    edited = dialog.path_field.text()
    dialog.name_field.setText("Shop v3")
    assert dialog.path_field.text() == edited


def test_browse_uses_the_chosen_file_and_cancel_changes_nothing(qtbot, tmp_path) -> None:
    dialog = make_dialog(qtbot, tmp_path)
    starts: list[str] = []
    answers = iter(["", str(tmp_path / "mine.dbtpl")])
    dialog.choose_file = lambda start: starts.append(start) or next(answers)
    dialog.browse_button.click()  # cancelled
    assert dialog.library_button.isChecked() and dialog.path_field.text() == ""
    assert starts == [str(Path.home() / "Shop.dbtpl")]
    dialog.browse_button.click()
    assert dialog.file_button.isChecked()
    assert dialog.path_field.text() == str(tmp_path / "mine.dbtpl")
    choice = dialog.choice()
    assert choice.path == (tmp_path / "mine.dbtpl").resolve() and not choice.into_library


def test_the_script_box_says_what_is_saved(qtbot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, tmp_path, script_lines=12)
    assert dialog.script_box.isEnabled() and dialog.script_box.isChecked()
    assert dialog.script_box.text() == "Include the editor's script (12 lines)"
    assert dialog.choice().include_script
    dialog.script_box.setChecked(False)
    assert not dialog.choice().include_script
    empty = make_dialog(qtbot, tmp_path)
    assert not empty.script_box.isEnabled()
    assert empty.script_box.text() == "Include the editor's script (the editor is empty)"
    assert not empty.choice().include_script
