"""The right-hand side of the connection dialog: the fields of one connection.

A connection can be typed as one address (``scheme://ann@db.local:port/shop``) or as
separate host / port / user / password / database fields; both views stay in sync as the
user types. The address field never shows the password: a password pasted inside an
address moves to the password field when the address field loses focus. The built-in
server has nothing to edit, so it shows a short note instead of the fields.

Kept apart from :class:`~.connections.ConnectionDialog` (the list of saved profiles and
what Save / Delete / Test / Connect do with them) because keeping the address and the
fields in step is a job of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.connections import (
    EMBEDDED_NAME,
    ConnectionProfile,
    ProfileError,
    default_port,
)
from dbplay_desktop.engines import registry
from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.ui import icons

NO_KEYRING_MESSAGE = "No system keyring available: the password will be asked each time"
EMBEDDED_NOTE = (
    "Each engine's built-in server runs privately for dbplay and starts when needed."
    " Nothing to configure."
)


def local_defaults_text() -> str:
    """One line per registered engine: what its built-in default is."""
    lines = []
    for descriptor in registry.descriptors():
        local = descriptor.local_label or (
            "built-in" if descriptor.local_server or descriptor.local_uri
            else "no built-in server: add a connection")
        lines.append(f"{descriptor.display_name}: {local}")
    return "\n".join(lines)
_OK_COLOR = "#1a7f37"
_ERROR_COLOR = "#d1242f"


class ConnectionForm(QWidget):
    """Name, engine, address and fields of one profile, plus Test / Save and a status line.

    The form only edits; the dialog owns the buttons' actions (``test_button`` and
    ``save_button`` are here so they sit under the fields and hide with them).
    ``keyring_available`` is asked whether to warn that passwords cannot be stored.
    """

    def __init__(
        self, keyring_available: Callable[[], bool], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._keyring_available = keyring_available
        self._options: dict[str, str] = {}
        self._scheme = ""
        self._syncing = False
        self._build()

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        self.name_edit = QLineEdit()
        self.engine_combo = QComboBox()
        self._fill_engines()
        self.uri_edit = QLineEdit()
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
        self.keyring_label.setVisible(not self._keyring_available())
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
        self.save_button = QPushButton(icons.icon("save-template"), "&Save")
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
        right = QVBoxLayout(self)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.embedded_label)
        right.addWidget(self.form_widget)
        right.addStretch()
        self.setMinimumWidth(420)

        self.uri_edit.textEdited.connect(self._on_uri_edited)
        self.uri_edit.editingFinished.connect(self._on_uri_finished)
        for edit in (
            self.host_edit, self.port_edit, self.user_edit, self.database_edit, self.name_edit
        ):
            edit.textEdited.connect(self._on_fields_edited)
        self.engine_combo.currentIndexChanged.connect(self._on_engine_changed)

    def _embedded_panel(self) -> QWidget:
        """What the built-in server shows instead of fields: its badge and a sentence."""
        panel = QWidget()
        badge = QLabel()
        badge.setPixmap(icons.icon("database").pixmap(48, 48))
        badge.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(EMBEDDED_NAME)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        note = QLabel(EMBEDDED_NOTE)
        note.setWordWrap(True)
        defaults = QLabel(local_defaults_text())
        defaults.setTextFormat(Qt.TextFormat.PlainText)
        defaults.setWordWrap(True)
        self.local_defaults_label = defaults
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(note)
        text.addWidget(defaults)
        text.addStretch()
        layout = QHBoxLayout(panel)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(badge)
        layout.addLayout(text, 1)
        return panel

    def _fill_engines(self) -> None:
        for name in registry.engine_names():
            self.engine_combo.addItem(icons.engine_icon(name), registry.display_name(name), name)

    def _select_engine(self, engine: str) -> None:
        if not engine:  # the built-in profile is every engine's: keep the choice shown
            return
        index = self.engine_combo.findData(engine)
        if index < 0:  # a saved profile for an engine that is not installed here
            self.engine_combo.addItem(icons.engine_icon(engine), registry.display_name(engine),
                                      engine)
            index = self.engine_combo.count() - 1
        self.engine_combo.setCurrentIndex(index)

    # -- showing a profile ---------------------------------------------------------------
    def load_profile(self, profile: ConnectionProfile, password: str | None = None) -> None:
        """Fill the fields from ``profile`` (the address without its password)."""
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

    def set_embedded(self, embedded: bool) -> None:
        """Show the built-in server's note instead of the (then disabled) fields."""
        self.embedded_label.setVisible(embedded)
        self.form_widget.setVisible(not embedded)
        for widget in (
            self.name_edit, self.engine_combo, self.uri_edit, self.host_edit, self.port_edit,
            self.user_edit, self.password_edit, self.database_edit,
        ):
            widget.setEnabled(not embedded)
        self.keyring_label.setVisible(not embedded and not self._keyring_available())
        self.save_button.setEnabled(not embedded)
        self.test_button.setEnabled(not embedded)

    def show_status(self, text: str, ok: bool | None = None) -> None:
        """Show a one-line result under the buttons: green when ``ok``, red when not."""
        color = {True: _OK_COLOR, False: _ERROR_COLOR}.get(ok) if ok is not None else None
        self.status_label.setStyleSheet(f"color: {color};" if color else "")
        self.status_label.setText(text)
        self.status_label.setToolTip(text)

    # -- form <-> address --------------------------------------------------------------
    def fields_profile(self) -> ConnectionProfile:
        """The profile as the fields describe it; raises :class:`ProfileError` if unusable."""
        port_text = self.port_edit.text().strip()
        if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
            raise ProfileError(f"the port {port_text!r} is not a number from 1 to 65535")
        return ConnectionProfile(
            name=self.name_edit.text().strip(),
            engine=self.engine_combo.currentData() or self.engine_combo.itemData(0) or "",
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
            uri = self.fields_profile().uri()
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
        self._scheme = ""  # a scheme like name+srv belongs to the engine it came with
        self._update_port_hint()
        self._on_fields_edited()

    def _update_port_hint(self) -> None:
        """The port and address hints of the engine chosen (its usual port, an example)."""
        engine = self.engine_combo.currentData() or ""
        port = default_port(engine)
        self.port_edit.setPlaceholderText(str(port) if port else "")
        try:
            example = registry.descriptor(engine).uri_example if engine else ""
        except EngineError:  # not installed here
            example = ""
        self.uri_edit.setPlaceholderText(example)

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
            normal = self.fields_profile().uri()
        except ProfileError:
            return  # the error is already shown; leave the user's text alone
        self._syncing = True
        try:
            self.uri_edit.setText(normal)
        finally:
            self._syncing = False
