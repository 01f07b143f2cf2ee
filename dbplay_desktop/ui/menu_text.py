"""Menu labels in sentence case, the way every dbplay menu writes them.

dbplay's own menus say "Save state as template…" and "Copy with header"; Qt's built-in
context menus of text fields say "Select All". :func:`sentence_case_menu` brings such a
menu in line, keeping mnemonics (``&``), shortcuts after a tab, and acronyms (CSV, SQL).
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu, QPlainTextEdit

#: Names that keep their capital anywhere in a label (engines add their display names).
PROPER_NAMES = frozenset({"Markdown", "Python"})


@cache
def proper_names() -> frozenset[str]:
    """:data:`PROPER_NAMES` plus every registered engine's display name."""
    from dbplay_desktop.engines.registry import descriptors

    return PROPER_NAMES | {found.display_name for found in descriptors()}


def sentence_case(label: str) -> str:
    """ "Select &All\\tCtrl+A" -> "Select &all\\tCtrl+A"; "Copy as CSV" is left alone."""
    text, tab, keys = label.partition("\t")
    words = text.split(" ")
    for position, word in enumerate(words):
        if position == 0:
            continue
        letters = word.replace("&", "")
        # Only a capital followed by small letters is lowered: CSV and JSON stay.
        if letters.strip("…,.:;()") in proper_names():
            continue
        if len(letters) > 1 and letters[0].isupper() and letters[1:].islower():
            index = word.index(letters[0])
            words[position] = word[:index] + word[index].lower() + word[index + 1:]
    return " ".join(words) + tab + keys


def sentence_case_menu(menu: QMenu) -> QMenu:
    """Re-label every action of ``menu`` (and its submenus) in sentence case."""
    for action in menu.actions():
        if action.isSeparator():
            continue
        action.setText(sentence_case(action.text()))
        if action.menu() is not None:
            sentence_case_menu(action.menu())
    return menu


def standard_menu(edit: QPlainTextEdit, position: QPoint) -> QMenu:
    """Qt's context menu of ``edit`` (undo, copy, paste, select all...) in sentence case."""
    return sentence_case_menu(edit.createStandardContextMenu(position))


def use_sentence_case_menu(edit: QPlainTextEdit) -> None:
    """Give ``edit`` its standard context menu, relabelled by :func:`standard_menu`."""
    edit.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    edit.customContextMenuRequested.connect(lambda pos: _popup(edit, pos))


def _popup(edit: QPlainTextEdit, position: QPoint) -> None:
    menu = standard_menu(edit, position)
    menu.exec(edit.viewport().mapToGlobal(position))  # the position is the viewport's
    menu.deleteLater()
