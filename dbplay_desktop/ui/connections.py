"""The connection manager dialog: pick, edit, test and save server connections.

A connection can be typed as one address (``postgresql://ann@db.local:5432/shop``) or as
separate host / port / user / password / database fields; both views stay in sync as the
user types. The address field never shows the password: a password pasted inside an
address moves to the password field when the address field loses focus.

"Test connection" runs on a worker thread (the engine sets a connect timeout), so an
unreachable server shows a one-line message after a few seconds and never freezes the
window. Passwords go to the OS keyring through :class:`ConnectionStore`; without a
keyring the dialog says the password will be asked each time.

Typical use by the main window::

    dialog = ConnectionDialog(store, self, current=settings.last_connection)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        profile, password = dialog.selected()
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.connections import (
    DEFAULT_PORTS,
    EMBEDDED_NAME,
    ConnectionProfile,
    ConnectionStore,
    ProfileError,
    embedded_profile,
)
from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.workers import Worker, connect_in_context, start_worker

__all__ = [
    "NO_KEYRING_MESSAGE",
    "ConnectionDialog",
    "ask_password",
    "one_line_error",
    "probe_server",
]

NO_KEYRING_MESSAGE = "No system keyring available: the password will be asked each time"
EMBEDDED_NOTE = (
    "The built-in PostgreSQL server runs privately for dbplay and starts when needed."
    " Nothing to configure."
)
_OK_COLOR = "#1a7f37"
_ERROR_COLOR = "#d1242f"


def probe_server(uri: str) -> str:
    """Connect to ``uri`` and return e.g. ``"PostgreSQL 15.18"``; runs on a worker thread."""
    from dbplay_desktop.engines.registry import engine_for_uri

    engine = engine_for_uri(uri)
    try:
        version = engine.server_version().split()
    finally:
        engine.close()
    return f"{engine.display_name} {version[0] if version else ''}".strip()


def one_line_error(exc: BaseException) -> str:
    """A user-readable single line for any exception (engine errors are already one)."""
    if isinstance(exc, EngineError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def ask_password(profile: ConnectionProfile, parent: QWidget | None = None) -> str | None:
    """Ask for the password of ``profile`` (when the keyring has none); ``None`` if cancelled."""
    who = f"{profile.user}@{profile.host}" if profile.user else profile.host or profile.name
    text, ok = QInputDialog.getText(
        parent,
        "Password",
        f"Password for {who} ({profile.name}):",
        QLineEdit.EchoMode.Password,
    )
    return text if ok else None


class ConnectionDialog(QDialog):
    """Lists the saved connections and edits one at a time.

    ``current`` preselects a profile by name. After ``exec()`` returned ``Accepted``,
    :meth:`selected` gives the chosen profile and its password (from the form, which the
    keyring fills in for saved profiles). The profile may have unsaved edits: what the
    user sees is what they connect to.
    """

    def __init__(
        self,
        store: ConnectionStore | None = None,
        parent: QWidget | None = None,
        *,
        current: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store if store is not None else ConnectionStore()
        self.setWindowTitle("Connections")
        self.setObjectName("ConnectionDialog")
        self.setWindowIcon(icons.icon("connect"))
        self._selected: tuple[ConnectionProfile, str | None] | None = None
        self._loaded_name: str | None = None  # the saved profile shown in the form
        self._options: dict[str, str] = {}
        self._scheme = ""
        self._syncing = False
        self._test_generation = itertools.count(1)
        self._current_test = 0
        self._build()
        self.reload(select=current or EMBEDDED_NAME)

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.profile_list = QListWidget()
        self.profile_list.setObjectName("profileList")
        self.profile_list.setMinimumWidth(200)
        self.profile_list.currentItemChanged.connect(self._on_current_item_changed)
        self.profile_list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.new_button = QPushButton(icons.icon("new-playground"), "&New")
        self.new_button.clicked.connect(self.new_profile)
        self.delete_button = QPushButton(icons.icon("delete"), "&Delete")
        self.delete_button.clicked.connect(self.delete_profile)
        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.new_button)
        list_buttons.addWidget(self.delete_button)
        list_buttons.addStretch()
        left = QVBoxLayout()
        left.addWidget(self.profile_list)
        left.addLayout(list_buttons)

        self.name_edit = QLineEdit()
        self.engine_combo = QComboBox()
        self._fill_engines()
        self.uri_edit = QLineEdit()
        self.uri_edit.setPlaceholderText("postgresql://user@host:5432/database")
        self.uri_edit.setToolTip(
            "The whole address at once; it stays in sync with the fields below."
            " A password typed here moves to the password field."
        )
        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText("localhost")
        self.port_edit = QLineEdit()
        self.port_edit.setValidator(QIntValidator(1, 65535, self.port_edit))
        self.port_edit.setMaximumWidth(80)
        self.user_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.database_edit = QLineEdit()
        self.keyring_label = QLabel(NO_KEYRING_MESSAGE)
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setEnabled(False)
        self.keyring_label.setVisible(not self.store.keyring_available())
        self.embedded_label = self._embedded_panel()

        host_row = QHBoxLayout()
        host_row.addWidget(self.host_edit, 1)
        host_row.addWidget(QLabel("Port:"))
        host_row.addWidget(self.port_edit)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)

        host_label = QLabel("&Host:")
        host_label.setBuddy(self.host_edit)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Name:", self.name_edit)
        form.addRow("&Engine:", self.engine_combo)
        form.addRow("&Address:", self.uri_edit)
        form.addRow(line)
        form.addRow(host_label, host_row)
        form.addRow("&User:", self.user_edit)
        form.addRow("&Password:", self.password_edit)
        form.addRow("", self.keyring_label)
        form.addRow("&Database:", self.database_edit)

        self.test_button = QPushButton(icons.icon("connect"), "&Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.save_button = QPushButton(icons.icon("save-template"), "&Save")
        self.save_button.clicked.connect(self.save_profile)
        actions = QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addStretch()
        actions.addWidget(self.save_button)
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        # The fields and actions hide for the built-in server, which has nothing to edit.
        self.form_widget = QWidget()
        fields = QVBoxLayout(self.form_widget)
        fields.setContentsMargins(0, 0, 0, 0)
        fields.addLayout(form)
        fields.addLayout(actions)
        fields.addWidget(self.status_label)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.embedded_label)
        right.addWidget(self.form_widget)
        right.addStretch()
        self.editor = QWidget()
        self.editor.setLayout(right)
        self.editor.setMinimumWidth(420)

        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.editor, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton(
            "&Connect", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.connect_button.setIcon(icons.icon("connect"))
        self.connect_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(self.buttons)

        self.uri_edit.textEdited.connect(self._on_uri_edited)
        self.uri_edit.editingFinished.connect(self._on_uri_finished)
        for edit in (
            self.host_edit, self.port_edit, self.user_edit, self.database_edit, self.name_edit
        ):
            edit.textEdited.connect(self._on_fields_edited)
        self.engine_combo.currentIndexChanged.connect(self._on_engine_changed)
        self.resize(720, 420)

    def _embedded_panel(self) -> QWidget:
        """What the built-in server shows instead of fields: its badge and a sentence."""
        panel = QWidget()
        badge = QLabel()
        badge.setPixmap(icons.engine_icon("postgresql").pixmap(48, 48))
        badge.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(EMBEDDED_NAME)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        note = QLabel(EMBEDDED_NOTE)
        note.setWordWrap(True)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(note)
        text.addStretch()
        layout = QHBoxLayout(panel)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(badge)
        layout.addLayout(text, 1)
        return panel

    def _fill_engines(self) -> None:
        from dbplay_desktop.engines.registry import engine_names

        for name in engine_names() or ["postgresql"]:
            self.engine_combo.addItem(icons.engine_icon(name), icons.engine_label(name), name)

    def _select_engine(self, engine: str) -> None:
        index = self.engine_combo.findData(engine)
        if index < 0:  # a saved profile for an engine that is not installed here
            self.engine_combo.addItem(icons.engine_icon(engine), icons.engine_label(engine), engine)
            index = self.engine_combo.count() - 1
        self.engine_combo.setCurrentIndex(index)

    # -- the list ------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Re-read the profiles and select ``select`` (or keep the current one)."""
        if select is None and self.profile_list.currentItem() is not None:
            select = self.profile_list.currentItem().text()
        try:
            profiles = self.store.profiles()
        except ProfileError as exc:
            profiles = [embedded_profile()]
            self.show_status(str(exc), ok=False)
        self.profile_list.blockSignals(True)
        self.profile_list.clear()
        target = None
        for profile in profiles:
            item = QListWidgetItem(icons.engine_icon(profile.engine), profile.name)
            item.setData(Qt.ItemDataRole.UserRole, profile)
            item.setToolTip(profile.display_uri())
            self.profile_list.addItem(item)
            if profile.name == select:
                target = item
        self.profile_list.blockSignals(False)
        self.profile_list.setCurrentItem(target or self.profile_list.item(0))

    def _on_current_item_changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        profile: ConnectionProfile = item.data(Qt.ItemDataRole.UserRole)
        password = None if profile.embedded else self.store.password(profile.name)
        self.load_profile(profile, password)

    def load_profile(self, profile: ConnectionProfile, password: str | None = None) -> None:
        """Show ``profile`` in the form (read-only for the built-in server)."""
        self._loaded_name = profile.name
        self._options = dict(profile.options)
        self._scheme = profile.scheme
        self._syncing = True
        try:
            self.name_edit.setText(profile.name)
            self._select_engine(profile.engine)
            self.host_edit.setText(profile.host)
            self.port_edit.setText("" if profile.port is None else str(profile.port))
            self.user_edit.setText(profile.user)
            self.password_edit.setText(password or "")
            self.database_edit.setText(profile.database)
            self.uri_edit.setText("" if profile.embedded else profile.uri())
            self.uri_edit.setCursorPosition(0)
        finally:
            self._syncing = False
        self._update_port_hint()
        self._set_embedded(profile.embedded)
        self.show_status("")

    def _set_embedded(self, embedded: bool) -> None:
        self.embedded_label.setVisible(embedded)
        self.form_widget.setVisible(not embedded)
        for widget in (
            self.name_edit, self.engine_combo, self.uri_edit, self.host_edit, self.port_edit,
            self.user_edit, self.password_edit, self.database_edit,
        ):
            widget.setEnabled(not embedded)
        self.keyring_label.setVisible(not embedded and not self.store.keyring_available())
        self.save_button.setEnabled(not embedded)
        self.delete_button.setEnabled(not embedded and self._loaded_name is not None)
        self.test_button.setEnabled(not embedded)

    def new_profile(self) -> None:
        """Start a blank PostgreSQL profile with a free name."""
        existing = {self.profile_list.item(i).text() for i in range(self.profile_list.count())}
        name = next(
            candidate
            for candidate in ("New connection", *(f"New connection {n}" for n in range(2, 999)))
            if candidate not in existing
        )
        self.profile_list.blockSignals(True)
        self.profile_list.setCurrentItem(None)
        self.profile_list.clearSelection()
        self.profile_list.blockSignals(False)
        self.load_profile(ConnectionProfile(name=name, host="localhost"))
        self._loaded_name = None
        self.delete_button.setEnabled(False)
        self.name_edit.setFocus()
        self.name_edit.selectAll()

    # -- form <-> address --------------------------------------------------------------
    def form_profile(self) -> ConnectionProfile:
        """The profile as the fields describe it; raises :class:`ProfileError` if unusable."""
        current = self.profile_list.currentItem()
        if current is not None and current.data(Qt.ItemDataRole.UserRole).embedded:
            return embedded_profile()
        port_text = self.port_edit.text().strip()
        if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
            raise ProfileError(f"the port {port_text!r} is not a number from 1 to 65535")
        return ConnectionProfile(
            name=self.name_edit.text().strip(),
            engine=self.engine_combo.currentData() or "postgresql",
            host=self.host_edit.text().strip(),
            port=int(port_text) if port_text else None,
            user=self.user_edit.text().strip(),
            database=self.database_edit.text().strip(),
            options=dict(self._options),
            scheme=self._scheme,
        )

    def _on_fields_edited(self, _text: str = "") -> None:
        if self._syncing:
            return
        try:
            uri = self.form_profile().uri()
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return
        self._syncing = True
        try:
            self.uri_edit.setText(uri)
            self.uri_edit.setCursorPosition(0)
        finally:
            self._syncing = False
        self.show_status("")

    def _on_engine_changed(self, _index: int) -> None:
        if self._syncing:
            return
        self._scheme = ""  # a scheme like mongodb+srv belongs to the engine it came with
        self._update_port_hint()
        self._on_fields_edited()

    def _update_port_hint(self) -> None:
        port = DEFAULT_PORTS.get(self.engine_combo.currentData() or "")
        self.port_edit.setPlaceholderText(str(port) if port else "")

    def _on_uri_edited(self, text: str) -> None:
        if self._syncing:
            return
        if not text.strip():
            return
        try:
            profile, password = ConnectionProfile.from_uri(self.name_edit.text(), text)
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return
        self._options = dict(profile.options)
        self._scheme = profile.scheme
        self._syncing = True
        try:
            self._select_engine(profile.engine)
            self.host_edit.setText(profile.host)
            self.port_edit.setText("" if profile.port is None else str(profile.port))
            self.user_edit.setText(profile.user)
            self.database_edit.setText(profile.database)
            if password is not None:
                self.password_edit.setText(password)
        finally:
            self._syncing = False
        self._update_port_hint()
        self.show_status("")

    def _on_uri_finished(self) -> None:
        """Rewrite the address in its normal form, without the password."""
        if self._syncing or not self.uri_edit.isEnabled() or not self.uri_edit.text().strip():
            return
        try:
            ConnectionProfile.from_uri(self.name_edit.text(), self.uri_edit.text())
            normal = self.form_profile().uri()
        except ProfileError:
            return  # the error is already shown; leave the user's text alone
        self._syncing = True
        try:
            self.uri_edit.setText(normal)
        finally:
            self._syncing = False

    def show_status(self, text: str, ok: bool | None = None) -> None:
        """Show a one-line result under the buttons: green when ``ok``, red when not."""
        color = {True: _OK_COLOR, False: _ERROR_COLOR}.get(ok) if ok is not None else None
        self.status_label.setStyleSheet(f"color: {color};" if color else "")
        self.status_label.setText(text)
        self.status_label.setToolTip(text)

    # -- actions -------------------------------------------------------------------------
    def test_connection(self) -> None:
        """Try the form's address on a worker; the result appears in the status line."""
        try:
            uri = self.form_profile().uri(self.password_edit.text() or None)
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return
        self._current_test = generation = next(self._test_generation)
        self.test_button.setEnabled(False)
        self.test_button.setText("Testing…")
        self.show_status("Connecting…")
        # Connect before starting: a refused connection can finish before this returns.
        worker = Worker(probe_server, uri)
        worker.generation = generation
        connect_in_context(
            worker.signals.returned, self, lambda v: self._on_test_result(generation, v, None)
        )
        connect_in_context(
            worker.signals.errored, self, lambda e: self._on_test_result(generation, None, e)
        )
        start_worker(worker)

    def _on_test_result(
        self, generation: int, version: str | None, error: BaseException | None
    ) -> None:
        if generation != self._current_test:
            return  # an older test finished after a newer one started
        self.test_button.setText("&Test connection")
        self.test_button.setEnabled(not self.form_is_embedded())
        if error is not None:
            self.show_status(one_line_error(error), ok=False)
        else:
            self.show_status(f"Connected: {version}", ok=True)

    def form_is_embedded(self) -> bool:
        current = self.profile_list.currentItem()
        return current is not None and current.data(Qt.ItemDataRole.UserRole).embedded

    def save_profile(self) -> bool:
        """Save the form as a profile (renaming the one it was loaded from)."""
        try:
            profile = self.form_profile()
            existing = {p.name for p in self.store.profiles()}
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return False
        if profile.name != self._loaded_name and profile.name in existing:
            answer = QMessageBox.question(
                self,
                "Replace connection",
                f"A connection named {profile.name!r} exists already. Replace it?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        password = self.password_edit.text() or None
        try:
            stored = self.store.save(profile, password, replace=self._loaded_name)
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return False
        self.reload(select=profile.name)
        if password and not stored:
            self.show_status(f"Saved. {NO_KEYRING_MESSAGE}.", ok=True)
            self.password_edit.setText(password)  # still usable for Connect / Test
        else:
            self.show_status("Saved.", ok=True)
        return True

    def delete_profile(self) -> None:
        """Delete the selected saved profile after asking."""
        name = self._loaded_name
        if name is None or name == EMBEDDED_NAME:
            return
        answer = QMessageBox.question(
            self, "Delete connection", f"Delete the connection {name!r} and its saved password?"
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.store.delete(name)
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return
        self.reload(select=EMBEDDED_NAME)
        self.show_status(f"Deleted {name!r}.", ok=True)

    def accept(self) -> None:
        """Connect: remember the form's profile and password, then close."""
        try:
            profile = self.form_profile()
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return
        if not profile.embedded and not profile.name:
            self.show_status("the connection needs a name", ok=False)
            return
        password = None if profile.embedded else (self.password_edit.text() or None)
        self._selected = (profile, password)
        super().accept()

    def selected(self) -> tuple[ConnectionProfile, str | None] | None:
        """The profile and password chosen with Connect, or ``None`` if cancelled."""
        return self._selected
