"""The app's preferences and window state: one typed wrapper around ``QSettings``.

Every value has a default here, so a fresh profile needs nothing configured and the rest
of the UI never deals with QSettings' string-typed storage. When ``DBPLAY_DATA_DIR`` is
set (tests, portable installs) the settings are an INI file, ``settings.ini``, in that
folder; otherwise they use the platform's native store (registry, plist, ~/.config)
under organisation ``dbplay`` and application ``Database Playground``.

:class:`SettingsDialog` edits the query preferences; :attr:`AppSettings.changed` tells
the window which keys changed so it can apply them (e.g. the editor font size).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.app_dirs import create_private_file
from dbplay_desktop.connections import EMBEDDED_NAME
from dbplay_desktop.display_text import qt_text, safe_text

__all__ = ["AppSettings", "SettingsDialog", "open_settings"]

ORGANIZATION = "dbplay"
APPLICATION = "Database Playground"
SETTINGS_FILE = "settings.ini"

DEFAULT_BATCH_SIZE = 500
DEFAULT_ROW_CAP = 10_000
DEFAULT_STATEMENT_TIMEOUT_S = 0
DEFAULT_FONT_SIZE = 11
DEFAULT_THEME = "system"
THEMES = ("system", "light", "dark")
MAX_RECENT_FILES = 10

# (minimum, maximum) for the numeric preferences; values read back are clamped to these.
BATCH_SIZE_RANGE = (10, 100_000)
ROW_CAP_RANGE = (100, 10_000_000)
TIMEOUT_RANGE = (0, 24 * 3600)
FONT_SIZE_RANGE = (6, 48)

_KEYS = {
    "batch_size": "query/batch_size",
    "row_cap": "query/row_cap",
    "statement_timeout_s": "query/statement_timeout_s",
    "editor_font_size": "editor/font_size",
    "recent_files": "files/recent",
    "window_geometry": "window/geometry",
    "window_state": "window/state",
    "last_connection": "connections/last",
    "default_engine": "connections/default_engine",
    "theme": "appearance/theme",
}


def _open_qsettings() -> QSettings:
    override = os.environ.get("DBPLAY_DATA_DIR")
    if override:
        path = Path(override).expanduser() / SETTINGS_FILE
        _create_private(path)
        return QSettings(str(path), QSettings.Format.IniFormat)
    store = QSettings(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )
    if os.name == "posix" and os.path.isabs(store.fileName()):
        _create_private(Path(store.fileName()))
    return store


def _create_private(path: Path) -> None:
    """Settings name recent files and connections: the file is made 0600 (its folder
    0700) before Qt first writes it; Qt keeps an existing file's mode when it saves."""
    try:
        create_private_file(path)
    except OSError:
        pass  # Qt reports an unwritable store by not saving; the window still works


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], value))


class AppSettings(QObject):
    """Typed access to the preferences; each property reads and writes the store directly.

    ``changed`` carries the property name (``"editor_font_size"``, ...) after a setter
    stored a different value. Pass ``store`` to use a specific ``QSettings`` (tests).
    """

    changed = Signal(str)

    def __init__(self, store: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else _open_qsettings()

    # -- plumbing ------------------------------------------------------------------------
    def _int(self, name: str, default: int, bounds: tuple[int, int]) -> int:
        raw = self.store.value(_KEYS[name], default)
        try:
            return _clamp(int(raw), bounds)
        except (TypeError, ValueError):
            return default

    def _set(self, name: str, value: Any) -> None:
        """Store ``value`` and emit ``changed`` if it differs from what the getter gave."""
        key = _KEYS[name]
        current = self._stored_recent_files() if name == "recent_files" else getattr(self, name)
        self.store.setValue(key, value)
        if current != value:
            self.changed.emit(name)

    def value(self, key: str, default: Any = None) -> Any:
        """Any other UI state (splitter sizes, dock layout) under a free-form key."""
        return self.store.value(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self.store.setValue(key, value)

    def sync(self) -> None:
        """Write pending changes to disk now (Qt also does it on exit)."""
        self.store.sync()

    def reset_query_preferences(self) -> None:
        """Batch size, row cap, timeout and font size back to their defaults."""
        self.batch_size = DEFAULT_BATCH_SIZE
        self.row_cap = DEFAULT_ROW_CAP
        self.statement_timeout_s = DEFAULT_STATEMENT_TIMEOUT_S
        self.editor_font_size = DEFAULT_FONT_SIZE

    # -- query preferences ------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """Rows fetched from the server per batch (``Session.batch_size``)."""
        return self._int("batch_size", DEFAULT_BATCH_SIZE, BATCH_SIZE_RANGE)

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._set("batch_size", _clamp(int(value), BATCH_SIZE_RANGE))

    @property
    def row_cap(self) -> int:
        """The most rows a result grid loads ("10,000 of >10,000 rows")."""
        return self._int("row_cap", DEFAULT_ROW_CAP, ROW_CAP_RANGE)

    @row_cap.setter
    def row_cap(self, value: int) -> None:
        self._set("row_cap", _clamp(int(value), ROW_CAP_RANGE))

    @property
    def statement_timeout_s(self) -> int:
        """Seconds one statement may run; 0 means no limit."""
        return self._int("statement_timeout_s", DEFAULT_STATEMENT_TIMEOUT_S, TIMEOUT_RANGE)

    @statement_timeout_s.setter
    def statement_timeout_s(self, value: int) -> None:
        self._set("statement_timeout_s", _clamp(int(value), TIMEOUT_RANGE))

    @property
    def statement_timeout(self) -> float | None:
        """The timeout as ``Session.set_timeout`` wants it: ``None`` for no limit."""
        seconds = self.statement_timeout_s
        return float(seconds) if seconds > 0 else None

    @property
    def editor_font_size(self) -> int:
        """Point size of the editor's monospace font."""
        return self._int("editor_font_size", DEFAULT_FONT_SIZE, FONT_SIZE_RANGE)

    @editor_font_size.setter
    def editor_font_size(self, value: int) -> None:
        self._set("editor_font_size", _clamp(int(value), FONT_SIZE_RANGE))

    # -- recent files --------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        """Recently opened templates, most recent first; files gone from disk are dropped."""
        stored = self._stored_recent_files()
        existing = [path for path in stored if Path(path).is_file()]
        if existing != stored:
            self.store.setValue(_KEYS["recent_files"], existing)
        return existing

    def add_recent_file(self, path: str | os.PathLike[str]) -> None:
        """Put ``path`` at the top of the recent files (moving it if already listed)."""
        text = str(Path(path).expanduser().absolute())
        files = [text, *(p for p in self._stored_recent_files() if p != text)]
        self._set("recent_files", files[:MAX_RECENT_FILES])

    def remove_recent_file(self, path: str | os.PathLike[str]) -> None:
        text = str(Path(path).expanduser().absolute())
        self._set("recent_files", [p for p in self._stored_recent_files() if p != text])

    def clear_recent_files(self) -> None:
        self._set("recent_files", [])

    def _stored_recent_files(self) -> list[str]:
        raw = self.store.value(_KEYS["recent_files"], [])
        if raw is None or raw == "":
            return []
        if isinstance(raw, str):  # INI files give a single entry back as a plain string
            raw = [raw]
        files: list[str] = []
        for item in raw:
            if isinstance(item, str) and item and item not in files:
                files.append(item)
        return files[:MAX_RECENT_FILES]

    # -- window state --------------------------------------------------------------------
    @property
    def window_geometry(self) -> QByteArray:
        """``QMainWindow.saveGeometry()`` from the last session (empty the first time)."""
        return self._bytes("window_geometry")

    @window_geometry.setter
    def window_geometry(self, value: QByteArray | bytes) -> None:
        self.store.setValue(_KEYS["window_geometry"], QByteArray(value))

    @property
    def window_state(self) -> QByteArray:
        """``QMainWindow.saveState()`` (docks and toolbars) from the last session."""
        return self._bytes("window_state")

    @window_state.setter
    def window_state(self, value: QByteArray | bytes) -> None:
        self.store.setValue(_KEYS["window_state"], QByteArray(value))

    def _bytes(self, name: str) -> QByteArray:
        raw = self.store.value(_KEYS[name])
        if isinstance(raw, QByteArray):
            return raw
        if isinstance(raw, bytes | bytearray):
            return QByteArray(bytes(raw))
        return QByteArray()

    # -- other state ---------------------------------------------------------------------
    @property
    def last_connection(self) -> str:
        """The name of the connection used last (the built-in servers at first)."""
        value = self.store.value(_KEYS["last_connection"], EMBEDDED_NAME)
        return str(value) if value else EMBEDDED_NAME

    @last_connection.setter
    def last_connection(self, name: str) -> None:
        self._set("last_connection", name or EMBEDDED_NAME)

    @property
    def default_engine(self) -> str:
        """The engine *New playground* (Ctrl+N) makes a playground of ("" for the
        window's own choice)."""
        value = self.store.value(_KEYS["default_engine"], "")
        return str(value) if value else ""

    @default_engine.setter
    def default_engine(self, name: str) -> None:
        self._set("default_engine", name or "")

    # -- the engines' own preferences ----------------------------------------------------
    def engine_setting(self, engine: str, key: str) -> str:
        """An engine's own preference (see ``EngineDescriptor.settings``); "" when unset."""
        value = self.store.value(f"engines/{engine}/{key}", "")
        return str(value) if value else ""

    def set_engine_setting(self, engine: str, key: str, value: str) -> None:
        name = f"engines/{engine}/{key}"
        if self.engine_setting(engine, key) != value:
            self.store.setValue(name, value)
            self.changed.emit(name)
        self.apply_engine_settings()

    def apply_engine_settings(self) -> None:
        """Hand the engines their preferences through the environment variables they read
        (a variable the user set outside dbplay wins while no preference is stored)."""
        from dbplay_desktop.engines.registry import descriptors

        for descriptor in descriptors():
            for setting in descriptor.settings:
                value = self.engine_setting(descriptor.name, setting.key)
                if value:
                    os.environ[setting.env] = value

    @property
    def theme(self) -> str:
        """``"system"`` (follow the desktop's light/dark palette), ``"light"`` or ``"dark"``."""
        value = str(self.store.value(_KEYS["theme"], DEFAULT_THEME))
        return value if value in THEMES else DEFAULT_THEME

    @theme.setter
    def theme(self, value: str) -> None:
        if value not in THEMES:
            raise ValueError(f"unknown theme {value!r}: expected one of {', '.join(THEMES)}")
        self._set("theme", value)


# --------------------------------------------------------------------------- the dialog


class SettingsDialog(QDialog):
    """Edits batch size, row cap, statement timeout, editor font size and the engine of
    *New playground*.

    Values are stored when the user presses OK (:meth:`accept`); "Restore Defaults" only
    fills in the defaults. The window listens to :attr:`AppSettings.changed`.
    """

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.setObjectName("SettingsDialog")

        self.batch_size = self._spin(BATCH_SIZE_RANGE, 100, " rows")
        self.batch_size.setToolTip("Rows fetched from the server at a time while results stream.")
        self.row_cap = self._spin(ROW_CAP_RANGE, 1000, " rows")
        self.row_cap.setToolTip("The most rows one result loads; the grid says if there are more.")
        self.statement_timeout = self._spin(TIMEOUT_RANGE, 5, " s")
        self.statement_timeout.setSpecialValueText("No limit")
        self.statement_timeout.setToolTip(
            "Stop a statement that runs longer than this. You can always cancel by hand."
        )
        self.font_size = self._spin(FONT_SIZE_RANGE, 1, " pt")
        self.font_size.setToolTip("Point size of the editor font.")
        self.default_engine = QComboBox()
        self.default_engine.setToolTip(
            "The engine of a playground made with New playground (Ctrl+N); the menu beside "
            "it offers every engine."
        )
        self.default_engine.addItem("Automatic", "")
        from dbplay_desktop.engines.registry import descriptors

        for descriptor in descriptors():
            if descriptor.available:
                self.default_engine.addItem(descriptor.display_name, descriptor.name)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("&Batch size:", self.batch_size)
        form.addRow("&Row limit per result:", self.row_cap)
        form.addRow("Statement &timeout:", self.statement_timeout)
        form.addRow("Editor &font size:", self.font_size)
        form.addRow("New playground &engine:", self.default_engine)
        self.engine_fields: dict[tuple[str, str], QLineEdit] = {}
        engine_groups = self._engine_groups()
        note = QLabel("Changes apply to queries run from now on.")
        note.setWordWrap(True)
        note.setEnabled(False)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        restore = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.clicked.connect(self.restore_defaults)
        self.buttons = buttons

        layout = QVBoxLayout(self)
        self.setMinimumWidth(480)
        layout.addLayout(form)
        for group in engine_groups:
            layout.addWidget(group)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.load()

    def _engine_groups(self) -> list[QGroupBox]:
        """One group per engine that has preferences of its own, from its descriptor."""
        from dbplay_desktop.engines.registry import descriptors

        groups = []
        for descriptor in descriptors():
            if not descriptor.settings:
                continue
            group = QGroupBox(safe_text(descriptor.display_name), self)
            rows = QFormLayout(group)
            for setting in descriptor.settings:
                edit = QLineEdit(group)
                edit.setToolTip(qt_text(setting.help or setting.env))
                edit.setPlaceholderText(f"${setting.env}")
                self.engine_fields[(descriptor.name, setting.key)] = edit
                field: QWidget = edit
                if setting.kind == "folder":
                    field = QWidget(group)
                    line = QHBoxLayout(field)
                    line.setContentsMargins(0, 0, 0, 0)
                    browse = QPushButton("Browse…", field)
                    browse.clicked.connect(lambda _=False, e=edit: self._browse_folder(e))
                    line.addWidget(edit, 1)
                    line.addWidget(browse)
                rows.addRow(safe_text(setting.label) + ":", field)
            groups.append(group)
        return groups

    def _browse_folder(self, edit: QLineEdit) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if chosen:
            edit.setText(chosen)

    @staticmethod
    def _spin(bounds: tuple[int, int], step: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(*bounds)
        spin.setSingleStep(step)
        spin.setSuffix(suffix)
        spin.setGroupSeparatorShown(True)
        spin.setMinimumWidth(140)
        return spin

    def load(self) -> None:
        """Show the stored values."""
        self.batch_size.setValue(self.settings.batch_size)
        self.row_cap.setValue(self.settings.row_cap)
        self.statement_timeout.setValue(self.settings.statement_timeout_s)
        self.font_size.setValue(self.settings.editor_font_size)
        index = self.default_engine.findData(self.settings.default_engine)
        self.default_engine.setCurrentIndex(max(index, 0))
        for (engine, key), edit in self.engine_fields.items():
            edit.setText(self.settings.engine_setting(engine, key))

    def restore_defaults(self) -> None:
        """Show the default values (stored only on OK)."""
        self.batch_size.setValue(DEFAULT_BATCH_SIZE)
        self.row_cap.setValue(DEFAULT_ROW_CAP)
        self.statement_timeout.setValue(DEFAULT_STATEMENT_TIMEOUT_S)
        self.font_size.setValue(DEFAULT_FONT_SIZE)
        self.default_engine.setCurrentIndex(0)

    def accept(self) -> None:
        self.settings.batch_size = self.batch_size.value()
        self.settings.row_cap = self.row_cap.value()
        self.settings.statement_timeout_s = self.statement_timeout.value()
        self.settings.editor_font_size = self.font_size.value()
        self.settings.default_engine = self.default_engine.currentData() or ""
        for (engine, key), edit in self.engine_fields.items():
            self.settings.set_engine_setting(engine, key, edit.text().strip())
        self.settings.sync()
        super().accept()


def open_settings(settings: AppSettings, parent: QWidget | None = None) -> bool:
    """Show the preferences dialog modally; returns whether the user pressed OK."""
    dialog = SettingsDialog(settings, parent)
    return dialog.exec() == QDialog.DialogCode.Accepted
