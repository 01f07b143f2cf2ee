"""The "Save state as template…" dialog: a name, a description, and where the file goes.

Most users save into their template library (it then shows up in the browser at once);
"Another file…" is for sharing a template by mail or a repository. The dialog only
collects the choices; the main window runs the dump on a worker with a progress dialog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.display_text import safe_text
from dbplay_desktop.templates.library import TEMPLATE_SUFFIX, TemplateLibrary, safe_file_stem
from dbplay_desktop.templates.manifest import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH


@dataclass(frozen=True)
class SaveChoice:
    """What the user chose: ``path`` is final (a free library path or their own file)."""

    name: str
    description: str
    path: Path
    into_library: bool


class SaveTemplateDialog(QDialog):
    """Ask for name, description and destination; :meth:`choice` holds the answer."""

    def __init__(
        self,
        name: str = "",
        description: str = "",
        *,
        library: TemplateLibrary | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save state as template")
        self.setMinimumWidth(460)
        self.library = library if library is not None else TemplateLibrary()

        intro = QLabel(
            "Saves the playground's current database state (schema and data) as a "
            ".dbtpl file that anyone can open as a new playground.",
            self,
        )
        intro.setWordWrap(True)

        # A name and description taken over from an opened template are shown with any
        # hidden or control characters made visible, so the user sees what is saved.
        self.name_field = QLineEdit(safe_text(name), self)
        self.name_field.setPlaceholderText("e.g. Shop with 3 orders")
        self.name_field.textChanged.connect(self._update)
        self.description_field = QPlainTextEdit(safe_text(description, multiline=True), self)
        self.description_field.setPlaceholderText("What is in it, what it is for (optional)")
        self.description_field.setFixedHeight(80)
        self.description_field.textChanged.connect(self._update)

        self.library_button = QRadioButton("My template library", self)
        self.file_button = QRadioButton("Another file:", self)
        self.library_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.library_button)
        group.addButton(self.file_button)
        group.buttonToggled.connect(lambda *_: self._update())
        self.path_field = QLineEdit(self)
        self.path_field.setPlaceholderText("/path/to/file.dbtpl")
        self.path_field.textChanged.connect(self._update)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.clicked.connect(self._browse)

        file_row = QHBoxLayout()
        file_row.addWidget(self.file_button)
        file_row.addWidget(self.path_field, 1)
        file_row.addWidget(self.browse_button)

        form = QFormLayout()
        form.addRow("Name:", self.name_field)
        form.addRow("Description:", self.description_field)
        where = QVBoxLayout()
        where.addWidget(self.library_button)
        where.addLayout(file_row)
        form.addRow("Save into:", where)

        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self._update()

    # -- answers -----------------------------------------------------------------------
    def problem_text(self) -> str:
        """Why Save is disabled, or ``""``."""
        name = self.name_field.text().strip()
        if not name:
            return "Give the template a name."
        if len(name) > MAX_NAME_LENGTH:
            return f"A template name may have at most {MAX_NAME_LENGTH} characters."
        if len(self.description_field.toPlainText().strip()) > MAX_DESCRIPTION_LENGTH:
            return f"A description may have at most {MAX_DESCRIPTION_LENGTH:,} characters."
        if self.file_button.isChecked():
            text = self.path_field.text().strip()
            if not text:
                return "Choose a file to save into."
            parent = Path(text).expanduser().parent
            if not parent.is_dir():
                return f"The folder {parent} does not exist."
        return ""

    def choice(self) -> SaveChoice:
        """The chosen name, description and target path (call after ``exec`` accepted)."""
        name = self.name_field.text().strip()
        description = self.description_field.toPlainText().strip()
        if self.file_button.isChecked():
            path = Path(self.path_field.text().strip()).expanduser()
            if path.suffix.lower() != TEMPLATE_SUFFIX:
                path = path.with_name(path.name + TEMPLATE_SUFFIX)
            return SaveChoice(name, description, path.resolve(), into_library=False)
        return SaveChoice(name, description, self.library.path_for_new(name), into_library=True)

    # -- internals ---------------------------------------------------------------------
    def _update(self) -> None:
        into_file = self.file_button.isChecked()
        self.path_field.setEnabled(into_file)
        self.browse_button.setEnabled(into_file)
        problem = self.problem_text()
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problem)

    def _browse(self) -> None:
        stem = safe_file_stem(self.name_field.text().strip() or "template")
        start = self.path_field.text().strip() or str(Path.home() / f"{stem}{TEMPLATE_SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save template as", start, f"dbplay templates (*{TEMPLATE_SUFFIX})"
        )
        if path:
            self.file_button.setChecked(True)
            self.path_field.setText(path)
