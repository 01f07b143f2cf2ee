"""The window's layout as a user first sees it: docks that keep their room, rows that fit."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics

from dbplay_desktop.ui.templates.delegate import fit_parts, wrap_lines


def test_history_opens_beside_the_playgrounds_not_under_the_browser(qtbot, main_window):
    qtbot.waitUntil(lambda: main_window.templates_dock.height() > 100, timeout=10_000)
    browser_height = main_window.templates_dock.height()
    main_window.history_dock.show()
    qtbot.waitUntil(lambda: main_window.history_dock.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: main_window.history_dock.height() > 50, timeout=10_000)
    # The left docks keep the whole height; History starts right of them.
    assert main_window.templates_dock.height() >= browser_height - 8  # layout rounding
    browser_right = main_window.templates_dock.geometry().right()
    assert main_window.history_dock.geometry().left() > browser_right


def test_the_template_browser_starts_wide_enough_for_its_rows(qtbot, main_window):
    qtbot.waitUntil(lambda: main_window.templates_dock.width() >= 340, timeout=10_000)


def test_descriptions_wrap_to_two_lines_and_elide_only_the_last():
    metrics = QFontMetrics(QFont())
    text = "A lending library: authors, books, members and loans. A trigger sets due dates."
    width = metrics.horizontalAdvance("A lending library: authors,")
    lines = wrap_lines(text, metrics, width, 2)
    assert len(lines) == 2
    assert lines[0] == "A lending library:" or lines[0].startswith("A lending library")
    assert not lines[0].endswith("…")
    assert lines[1].endswith("…")
    assert wrap_lines("Short.", metrics, width, 2) == ["Short."]


def test_counts_drop_whole_parts_rather_than_cut_one():
    metrics = QFontMetrics(QFont())
    parts = ["PostgreSQL", "9.6 KB", "4 tables", "530 rows", "1 view"]
    width = metrics.horizontalAdvance("PostgreSQL · 9.6 KB · 4 tables · 53")
    assert fit_parts(parts, metrics, width) == "PostgreSQL · 9.6 KB · 4 tables"
    assert fit_parts(parts, metrics, 10_000) == " · ".join(parts)
