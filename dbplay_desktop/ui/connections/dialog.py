"""The connection manager dialog: pick, edit, test and save server connections.

The dialog lists the saved connections; the one selected is edited in a
:class:`~.connection_form.ConnectionForm`, where it can be typed as one address or as
separate fields.

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
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.connections import (
    EMBEDDED_NAME,
    ConnectionProfile,
    ConnectionStore,
    ProfileError,
    embedded_profile,
)
from dbplay_desktop.engines.base import EngineError
from dbplay_desktop.ui import icons
from dbplay_desktop.ui.confirm import confirm_destructive
from dbplay_desktop.ui.connections.form import EMBEDDED_NOTE, NO_KEYRING_MESSAGE, ConnectionForm
from dbplay_desktop.ui.workers import Worker, connect_in_context, start_worker

__all__ = [
    "EMBEDDED_NOTE",
    "NO_KEYRING_MESSAGE",
    "ConnectionDialog",
    "ConnectionForm",
    "ask_password",
    "one_line_error",
    "probe_server",
]


def probe_server(uri: str) -> str:
    """Connect to ``uri`` and return its engine and version (``"<engine> 16.4"``); runs on a
    worker thread."""
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
    user sees is what they connect to. The fields are :attr:`form`'s.
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

        # Parented by the layout below, after the list: the Tab order starts at the list.
        self.form = ConnectionForm(self.store.keyring_available)
        self.form.test_button.clicked.connect(self.test_connection)
        self.form.save_button.clicked.connect(self.save_profile)

        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.form, 1)

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
        self.resize(720, 420)

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
        self.form.load_profile(profile, password)
        self._set_embedded(profile.embedded)
        self.show_status("")

    def _set_embedded(self, embedded: bool) -> None:
        self.form.set_embedded(embedded)
        self.delete_button.setEnabled(not embedded and self._loaded_name is not None)

    def new_profile(self) -> None:
        """Start a blank profile (of the usual engine) with a free name."""
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
        self.form.name_edit.setFocus()
        self.form.name_edit.selectAll()

    # -- the form ------------------------------------------------------------------------
    def form_profile(self) -> ConnectionProfile:
        """The profile as the form describes it; raises :class:`ProfileError` if unusable."""
        if self.form_is_embedded():
            return embedded_profile()
        return self.form.fields_profile()

    def form_is_embedded(self) -> bool:
        current = self.profile_list.currentItem()
        return current is not None and current.data(Qt.ItemDataRole.UserRole).embedded

    def show_status(self, text: str, ok: bool | None = None) -> None:
        """Show a one-line result under the buttons: green when ``ok``, red when not."""
        self.form.show_status(text, ok)

    # -- actions -------------------------------------------------------------------------
    def test_connection(self) -> None:
        """Try the form's address on a worker; the result appears in the status line."""
        try:
            uri = self.form_profile().uri(self.form.password_edit.text() or None)
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return
        self._current_test = generation = next(self._test_generation)
        self.form.test_button.setEnabled(False)
        self.form.test_button.setText("Testing…")
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
        self.form.test_button.setText("&Test connection")
        self.form.test_button.setEnabled(not self.form_is_embedded())
        if error is not None:
            self.show_status(one_line_error(error), ok=False)
        else:
            self.show_status(f"Connected: {version}", ok=True)

    def save_profile(self) -> bool:
        """Save the form as a profile (renaming the one it was loaded from)."""
        try:
            profile = self.form_profile()
            existing = {p.name for p in self.store.profiles()}
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return False
        replacing = profile.name != self._loaded_name and profile.name in existing
        if replacing and not confirm_destructive(
            self,
            "Replace connection",
            f"A connection named {profile.name!r} exists already. Replace it?",
            "Replace",
        ):
            return False
        password = self.form.password_edit.text() or None
        try:
            stored = self.store.save(profile, password, replace=self._loaded_name)
        except ProfileError as exc:
            self.show_status(str(exc), ok=False)
            return False
        self.reload(select=profile.name)
        if password and not stored:
            self.show_status(f"Saved. {NO_KEYRING_MESSAGE}.", ok=True)
            self.form.password_edit.setText(password)  # still usable for Connect / Test
        else:
            self.show_status("Saved.", ok=True)
        return True

    def delete_profile(self) -> None:
        """Delete the selected saved profile after asking."""
        name = self._loaded_name
        if name is None or name == EMBEDDED_NAME:
            return
        if not confirm_destructive(
            self, "Delete connection",
            f"Delete the connection {name!r} and its saved password?", "Delete",
        ):
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
        password = None if profile.embedded else (self.form.password_edit.text() or None)
        self._selected = (profile, password)
        super().accept()

    def selected(self) -> tuple[ConnectionProfile, str | None] | None:
        """The profile and password chosen with Connect, or ``None`` if cancelled."""
        return self._selected
