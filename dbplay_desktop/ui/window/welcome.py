"""What the centre of the window shows when no playground is open.

A first-time user sees two obvious ways in -- a blank playground or a template -- rather
than an empty grey area.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from dbplay_desktop.ui import icons


class WelcomePage(QWidget):
    """A centred heading, a sentence, and New / Open buttons."""

    new_requested = Signal()
    open_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        logo = QLabel(self)
        logo.setPixmap(icons.icon("database").pixmap(QSize(64, 64)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heading = QLabel("Database Playground", self)
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setWeight(QFont.Weight.DemiBold)
        heading.setFont(font)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Every playground is a private, throwaway database.\n"
            "Start from scratch, or open a template: double-click one on the left,\n"
            "drop a .dbtpl file here, or use File › Open.",
            self,
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.new_button = QPushButton(icons.icon("new-playground"), "New blank playground", self)
        self.open_button = QPushButton(icons.icon("open"), "Open template…", self)
        self.new_button.clicked.connect(self.new_requested)
        self.open_button.clicked.connect(self.open_requested)
        for button in (self.new_button, self.open_button):
            button.setIconSize(QSize(20, 20))
            button.setMinimumHeight(34)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(logo)
        layout.addWidget(heading)
        layout.addSpacing(8)
        layout.addWidget(text)
        layout.addSpacing(16)
        layout.addLayout(buttons)
        layout.addStretch(3)
