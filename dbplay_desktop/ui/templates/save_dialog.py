"""The "Save state as template…" dialog: a name, a description, and where the file goes.

Most users save into their template library (it then shows up in the browser at once);
"Another file" is for sharing a template by mail or a repository. The dialog only
collects the choices; the main window runs the dump on a worker with a progress dialog.

The layout never moves while the user chooses: every row exists from the start (the
file row is disabled, not hidden, while the library is chosen) and the line that says
why Save is disabled keeps its height when it is empty, so nothing jumps under the
pointer. Paths are shown whole, elided in the middle when they do not fit, with the full
path in the tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFocusEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QStyle,
    QStyleOptionFrame,
    QVBoxLayout,
    QWidget,
)

from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.templates.library import TEMPLATE_SUFFIX, TemplateLibrary, safe_file_stem
from dbplay_desktop.templates.manifest import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH

#: Horizontal padding QLineEdit keeps around its text (Qt's private constant).
_LINE_EDIT_MARGIN = 2


@dataclass(frozen=True)
class SaveChoice:
    """What the user chose: ``path`` is final (a free library path or their own file).
    ``include_script``: store the editor's text in the template too."""

    name: str
    description: str
    path: Path
    into_library: bool
    include_script: bool = True


class PathField(QLineEdit):
    """A path entry that shows a long path elided in the middle while it is not being
    edited (the start and the file name stay readable), with the full path as tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.textChanged.connect(self._update_tooltip)

    def displayed_text(self) -> str:
        """What the field shows right now: the path, or its middle-elided form."""
        text = self.text()
        if self.hasFocus():
            return text
        return self.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideMiddle, self._text_rect().width()
        )

    def _text_rect(self):
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        rect = self.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, self)
        margins = self.textMargins()
        return rect.adjusted(
            margins.left() + _LINE_EDIT_MARGIN, margins.top(),
            -margins.right() - _LINE_EDIT_MARGIN, -margins.bottom(),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        shown = self.displayed_text()
        if shown == self.text():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelLineEdit, option, painter,
                                   self)
        group = QPalette.ColorGroup.Normal if self.isEnabled() else QPalette.ColorGroup.Disabled
        painter.setPen(self.palette().color(group, QPalette.ColorRole.Text))
        painter.drawText(self._text_rect(), Qt.AlignmentFlag.AlignVCenter, shown)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.update()

    def _update_tooltip(self, text: str) -> None:
        self.setToolTip(qt_text(text) if text else "")


class ElidedLabel(QLabel):
    """A one-line label that elides its text in the middle instead of growing."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.full_text = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(qt_text(text) if text else "")
        self.update()

    def displayed_text(self) -> str:
        return self.fontMetrics().elidedText(
            self.full_text, Qt.TextElideMode.ElideMiddle, self.contentsRect().width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        group = QPalette.ColorGroup.Normal if self.isEnabled() else QPalette.ColorGroup.Disabled
        painter.setPen(self.palette().color(group, QPalette.ColorRole.WindowText))
        painter.drawText(self.contentsRect(), Qt.AlignmentFlag.AlignVCenter,
                         self.displayed_text())

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setHeight(self.fontMetrics().height())
        return hint


class SaveTemplateDialog(QDialog):
    """Ask for name, description and destination; :meth:`choice` holds the answer.

    ``script_lines`` is the number of lines of the editor's script (0: nothing to save
    besides the database); :meth:`choose_file` opens the file dialog and may be replaced
    (tests never open a real one).
    """

    def __init__(
        self,
        name: str = "",
        description: str = "",
        *,
        library: TemplateLibrary | None = None,
        script_lines: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save state as template")
        self.setMinimumWidth(560)
        self.library = library if library is not None else TemplateLibrary()
        self._path_edited = False

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
        self.name_field.textChanged.connect(self._on_name_changed)
        self.description_field = QPlainTextEdit(safe_text(description, multiline=True), self)
        self.description_field.setPlaceholderText("What is in it, what it is for (optional)")
        self.description_field.setFixedHeight(80)
        self.description_field.textChanged.connect(self._update)

        self.script_box = QCheckBox(self)
        if script_lines > 0:
            lines = "1 line" if script_lines == 1 else f"{script_lines:,} lines"
            self.script_box.setText(f"Include the editor's script ({lines})")
            self.script_box.setChecked(True)
            self.script_box.setToolTip(
                "The script is shown in the editor when the template is opened; "
                "it is never run by itself."
            )
        else:
            self.script_box.setText("Include the editor's script (the editor is empty)")
            self.script_box.setEnabled(False)

        self.library_button = QRadioButton("My template library", self)
        self.library_location = ElidedLabel(str(self.library.root), self)
        self.library_location.setEnabled(False)  # drawn as secondary text
        self.file_button = QRadioButton("Another file", self)
        self.library_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.library_button)
        group.addButton(self.file_button)
        group.buttonToggled.connect(self._on_destination_toggled)
        self.path_field = PathField(self)
        self.path_field.setPlaceholderText(str(Path.home() / f"template{TEMPLATE_SUFFIX}"))
        self.path_field.textChanged.connect(self._update)
        self.path_field.textEdited.connect(self._on_path_edited)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setToolTip("Choose the file with the file dialog")
        self.browse_button.clicked.connect(self._browse)

        # The destination block: radio buttons on the left, what they mean indented
        # under them; every row is there from the start.
        indent = self.style().pixelMetric(QStyle.PixelMetric.PM_ExclusiveIndicatorWidth) + 8
        where = QGridLayout()
        where.setContentsMargins(0, 0, 0, 0)
        where.setColumnMinimumWidth(0, indent)
        where.setColumnStretch(1, 1)
        where.addWidget(self.library_button, 0, 0, 1, 3)
        where.addWidget(self.library_location, 1, 1, 1, 2)
        where.addWidget(self.file_button, 2, 0, 1, 3)
        where.addWidget(self.path_field, 3, 1)
        where.addWidget(self.browse_button, 3, 2)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name:", self.name_field)
        form.addRow("Description:", self.description_field)
        form.addRow("Script:", self.script_box)
        form.addRow("Save into:", where)

        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Two lines reserved, so the dialog keeps its size whether or not there is one.
        self.problem.setMinimumHeight(2 * self.fontMetrics().lineSpacing())
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
        script = self.script_box.isEnabled() and self.script_box.isChecked()
        if self.file_button.isChecked():
            path = Path(self.path_field.text().strip()).expanduser()
            if path.suffix.lower() != TEMPLATE_SUFFIX:
                path = path.with_name(path.name + TEMPLATE_SUFFIX)
            return SaveChoice(name, description, path.resolve(), into_library=False,
                              include_script=script)
        return SaveChoice(name, description, self.library.path_for_new(name),
                          into_library=True, include_script=script)

    def choose_file(self, start: str) -> str:
        """Ask for a file with the platform's save dialog; ``""`` when cancelled."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Save template as", start, f"dbplay templates (*{TEMPLATE_SUFFIX})"
        )
        return path

    # -- internals ---------------------------------------------------------------------
    def _suggested_path(self) -> str:
        stem = safe_file_stem(self.name_field.text().strip() or "template")
        return str(Path.home() / f"{stem}{TEMPLATE_SUFFIX}")

    def _on_destination_toggled(self, *_args: object) -> None:
        if self.file_button.isChecked() and not self.path_field.text().strip():
            # Start from a real path, so the user sees where the file would go.
            self.path_field.setText(self._suggested_path())
        self._update()

    def _on_name_changed(self) -> None:
        # A path the dialog suggested follows the name until the user edits it.
        if self.file_button.isChecked() and not self._path_edited:
            self.path_field.setText(self._suggested_path())
        self._update()

    def _on_path_edited(self) -> None:
        self._path_edited = True

    def _update(self) -> None:
        into_file = self.file_button.isChecked()
        self.path_field.setEnabled(into_file)
        problem = self.problem_text()
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problem)

    def _browse(self) -> None:
        start = self.path_field.text().strip() or self._suggested_path()
        path = self.choose_file(start)
        if path:
            self._path_edited = True
            self.file_button.setChecked(True)
            self.path_field.setText(path)
