"""AppSettings and the preferences dialog, stored in a temporary settings.ini."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings

from dbplay_desktop.connections import EMBEDDED_NAME
from dbplay_desktop.ui.settings import (
    DEFAULT_FONT_SIZE,
    MAX_RECENT_FILES,
    AppSettings,
    SettingsDialog,
)


@pytest.fixture
def settings(data_dir: Path) -> AppSettings:
    return AppSettings()


def test_settings_live_in_the_data_dir_when_overridden(
    settings: AppSettings, data_dir: Path
) -> None:
    assert settings.store.format() == QSettings.Format.IniFormat
    assert Path(settings.store.fileName()) == data_dir / "settings.ini"


def test_defaults(settings: AppSettings) -> None:
    assert settings.batch_size == 500
    assert settings.row_cap == 10_000
    assert settings.statement_timeout_s == 0
    assert settings.statement_timeout is None
    assert settings.editor_font_size == DEFAULT_FONT_SIZE
    assert settings.recent_files == []
    assert settings.window_geometry.isEmpty() and settings.window_state.isEmpty()
    assert settings.last_connection == EMBEDDED_NAME
    assert settings.theme == "system"


def test_values_roundtrip_through_the_ini_file(settings: AppSettings, data_dir: Path) -> None:
    settings.batch_size = 2000
    settings.row_cap = 50_000
    settings.statement_timeout_s = 30
    settings.editor_font_size = 14
    settings.window_geometry = b"\x01\x02\x00geometry"
    settings.window_state = QByteArray(b"state\xff")
    settings.last_connection = "staging"
    settings.theme = "dark"
    settings.sync()
    assert "batch_size=2000" in (data_dir / "settings.ini").read_text()

    again = AppSettings()
    assert again.batch_size == 2000
    assert again.row_cap == 50_000
    assert again.statement_timeout == 30.0
    assert again.editor_font_size == 14
    assert bytes(again.window_geometry.data()) == b"\x01\x02\x00geometry"
    assert bytes(again.window_state.data()) == b"state\xff"
    assert again.last_connection == "staging"
    assert again.theme == "dark"


def test_out_of_range_and_garbage_values_fall_back(settings: AppSettings) -> None:
    settings.batch_size = 0
    assert settings.batch_size == 10
    settings.store.setValue("query/row_cap", "lots")
    assert settings.row_cap == 10_000
    settings.store.setValue("appearance/theme", "purple")
    assert settings.theme == "system"
    with pytest.raises(ValueError, match="unknown theme"):
        settings.theme = "purple"


def test_changed_signal_names_the_setting(qtbot, settings: AppSettings) -> None:
    with qtbot.waitSignal(settings.changed, timeout=1000) as blocker:
        settings.editor_font_size = 16
    assert blocker.args == ["editor_font_size"]
    with qtbot.assertNotEmitted(settings.changed):
        settings.editor_font_size = 16


def test_recent_files_order_dedupe_cap_and_pruning(
    settings: AppSettings, tmp_path: Path
) -> None:
    files = []
    for n in range(MAX_RECENT_FILES + 3):
        path = tmp_path / f"t{n}.dbtpl"
        path.write_bytes(b"x")
        files.append(path)
    settings.add_recent_file(files[0])
    assert settings.recent_files == [str(files[0])]  # a single entry survives the INI file
    for path in files[1:]:
        settings.add_recent_file(path)
    recent = settings.recent_files
    assert len(recent) == MAX_RECENT_FILES
    assert recent[0] == str(files[-1])

    settings.add_recent_file(files[-4])  # re-opening moves it to the top, no duplicate
    recent = settings.recent_files
    assert recent[0] == str(files[-4]) and recent.count(str(files[-4])) == 1

    files[-1].unlink()
    assert str(files[-1]) not in settings.recent_files
    assert str(files[-1]) not in AppSettings().recent_files

    settings.remove_recent_file(files[-4])
    assert str(files[-4]) not in settings.recent_files
    settings.clear_recent_files()
    assert settings.recent_files == []


def test_dialog_edits_and_restores_defaults(qtbot, settings: AppSettings) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.batch_size.value() == 500
    assert dialog.statement_timeout.text() == "No limit"
    dialog.batch_size.setValue(1000)
    dialog.row_cap.setValue(25_000)
    dialog.statement_timeout.setValue(15)
    dialog.font_size.setValue(13)
    dialog.accept()
    assert (settings.batch_size, settings.row_cap) == (1000, 25_000)
    assert (settings.statement_timeout_s, settings.editor_font_size) == (15, 13)

    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.row_cap.value() == 25_000
    dialog.restore_defaults()
    dialog.reject()
    assert settings.row_cap == 25_000  # cancelled: nothing stored
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.restore_defaults()
    dialog.accept()
    assert (settings.batch_size, settings.row_cap, settings.statement_timeout_s) == (
        500, 10_000, 0
    )


def test_dialog_screenshot(qtbot, settings: AppSettings, tmp_path: Path) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.grab().save(str(tmp_path / "settings.png"))


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_settings_file_is_private(data_dir: Path) -> None:
    import stat

    old_umask = os.umask(0o022)
    try:
        settings = AppSettings()
        settings.row_cap = 500
        settings.sync()
    finally:
        os.umask(old_umask)
    path = Path(settings.store.fileName())
    assert path.parent == data_dir and path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_engines_own_setting_is_in_preferences_and_reaches_its_engine(
    qtbot, settings: AppSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma's embedding model folder (a descriptor setting): shown in its engine's group,
    stored, and handed to the engine through the variable it reads."""
    from dbplay_desktop.engines.registry import descriptor
    from dbplay_desktop.ui.settings import SettingsDialog

    setting = descriptor("chroma").settings[0]
    monkeypatch.delenv(setting.env, raising=False)
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    edit = dialog.engine_fields[("chroma", setting.key)]
    assert edit.text() == ""
    folder = tmp_path / "models"
    edit.setText(str(folder))
    dialog.accept()
    assert settings.engine_setting("chroma", setting.key) == str(folder)
    assert os.environ[setting.env] == str(folder)
    again = SettingsDialog(settings)
    qtbot.addWidget(again)
    assert again.engine_fields[("chroma", setting.key)].text() == str(folder)
