"""Confirmations for actions that cannot be undone, with the action named on its button.

"Delete the template?" answered with Yes/No makes the user read the question twice;
a button that says "Delete" next to "Cancel" does not (the platform guidelines of
GNOME, macOS and Windows all ask for this). Cancel is the default and Esc chooses it,
so a stray Enter never destroys anything.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget


def destructive_box(
    parent: QWidget | None, title: str, text: str, action: str, details: str = ""
) -> tuple[QMessageBox, QAbstractButton]:
    """The question box and its ``action`` button (the other one is Cancel, the default)."""
    box = QMessageBox(
        QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent
    )
    if details:
        box.setInformativeText(details)
    confirm = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    return box, confirm


def confirm_destructive(
    parent: QWidget | None, title: str, text: str, action: str, details: str = ""
) -> bool:
    """Ask with an ``action`` / Cancel box; True only when ``action`` was clicked."""
    box, confirm = destructive_box(parent, title, text, action, details)
    try:
        box.exec()
        return box.clickedButton() is confirm
    finally:
        box.deleteLater()
