"""How the template browser shows a template: the three-line rows and their texts.

:class:`EntryDelegate` paints each template as name and date, description, and engine ·
size · object counts, with the engine's badge; the formatting helpers here make those
texts and the row's tooltip. Kept apart from :mod:`.template_browser` (the dock's
behaviour: filtering, file operations, watching the folder) because painting is the part
that changes with the look, and the helpers are useful without any widget.

Names, descriptions, counts and errors come from the template file: every text drawn or
put in the tooltip passes :mod:`dbplay_desktop.display_text` first. The row shows one
line of description; the tooltip keeps the description's own line breaks (it is
multi-line by design) but escapes every other control character.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from dbplay_desktop.display_text import safe_html, safe_text
from dbplay_desktop.engines import registry
from dbplay_desktop.templates.library import TemplateEntry
from dbplay_desktop.ui import icons

#: Item data role holding the row's :class:`TemplateEntry` (a group's title for groups).
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
#: Item data role holding the row's kind: :data:`GROUP`, :data:`ENTRY` or :data:`PLACEHOLDER`.
KIND_ROLE = Qt.ItemDataRole.UserRole + 2
GROUP, ENTRY, PLACEHOLDER = "group", "entry", "placeholder"

_ICON_SIZE = 28
_PAD = 6
# Object counts in the order they are listed; the row shows only the telling ones
# (the tooltip shows them all).
_STAT_ORDER = (
    "tables", "collections", "rows", "documents", "records",
    "views", "materialized_views", "functions",
)
_STAT_DETAIL_ONLY = frozenset({"schemas", "sequences", "indexes", "types"})
_SINGULAR = {"indexes": "index", "matviews": "materialized view", "rows": "row"}


# --------------------------------------------------------------------------- formatting


def human_size(size: int) -> str:
    """``812 bytes``, ``12 KB``, ``3.4 MB`` (powers of 1024, short and rounded)."""
    if size < 1024:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _stat_label(key: str, count: int) -> str:
    words = key.replace("_", " ")
    if count == 1:
        words = _SINGULAR.get(key, words[:-1] if words.endswith("s") else words)
    return f"{count:,} {words}"


def stats_summary(stats: dict[str, int], *, brief: bool = True) -> str:
    """``5 tables · 1,200 rows``: the non-zero object counts, most telling first.

    ``brief`` leaves out counts that say little at a glance (schemas, indexes, ...).
    """
    keys = [k for k in _STAT_ORDER if stats.get(k)]
    keys += sorted(
        k for k in stats
        if k not in _STAT_ORDER and stats[k] and not (brief and k in _STAT_DETAIL_ONLY)
    )
    return safe_text(" · ".join(_stat_label(k, stats[k]) for k in keys))


def entry_date(entry: TemplateEntry) -> QDateTime:
    """When the template was made (the manifest's time, else the file's)."""
    when = QDateTime.fromString(entry.created_at, Qt.DateFormat.ISODate)
    if not when.isValid():
        when = QDateTime.fromSecsSinceEpoch(int(entry.mtime))
    return when.toLocalTime()


def short_date(entry: TemplateEntry) -> str:
    return entry_date(entry).toString("d MMM yyyy")


def entry_tooltip(entry: TemplateEntry) -> str:
    """Rich-text tooltip with everything the row had to cut short."""
    esc = safe_html
    parts = [f"<b>{esc(entry.name)}</b>"]
    if entry.error:
        parts.append(f"<span style='color:#cf222e'>{esc(entry.error)}</span>")
    if entry.description:
        parts.append(esc(entry.description, multiline=True))
    details = [registry.display_name(entry.engine)] if entry.engine else []
    details.append(human_size(entry.size))
    if entry.stats:
        details.append(stats_summary(entry.stats, brief=False) or "empty")
    parts.append(esc(" · ".join(details)))
    created = entry_date(entry).toString("yyyy-MM-dd HH:mm")
    origin = "Sample template" if entry.sample else "Created"
    parts.append(f"<small>{origin} {esc(created)}<br>{esc(str(entry.path))}</small>")
    return "<p style='white-space:pre-wrap'>" + "<br>".join(parts) + "</p>"


# --------------------------------------------------------------------------- painting


class EntryDelegate(QStyledItemDelegate):
    """Four lines per template: name and date, two of description, engine · size · counts."""

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFont]:
        base = QFont(option.font)
        bold = QFont(base)
        bold.setBold(True)
        small = QFont(base)
        small.setPointSizeF(max(base.pointSizeF() * 0.88, 7.0))
        return bold, base, small

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        kind = index.data(KIND_ROLE)
        if kind == ENTRY:
            bold, base, small = self._fonts(option)
            lines = (bold, *[base] * DESCRIPTION_LINES, small)
            height = sum(QFontMetrics(f).height() for f in lines)
            return QSize(200, height + 2 * _PAD + 2)
        size = super().sizeHint(option, index)
        return QSize(size.width(), size.height() + (10 if kind == GROUP else 8))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        kind = index.data(KIND_ROLE)
        if kind == GROUP:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = QIcon()  # background and selection only; the badge is drawn below
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_color = opt.palette.color(role)
        muted = QColor(text_color)
        muted.setAlphaF(0.72 if selected else 0.62)
        painter.save()
        try:
            if kind == PLACEHOLDER:
                self._paint_placeholder(painter, opt, index, muted)
            else:
                entry: TemplateEntry = index.data(ENTRY_ROLE)
                self._paint_entry(painter, opt, entry, text_color, muted, selected)
        finally:
            painter.restore()

    def _paint_placeholder(
        self, painter: QPainter, opt: QStyleOptionViewItem, index: QModelIndex, color: QColor
    ) -> None:
        font = QFont(opt.font)
        font.setItalic(True)
        painter.setFont(font)
        painter.setPen(color)
        rect = opt.rect.adjusted(_PAD, 0, -_PAD, 0)
        text = QFontMetrics(font).elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideRight, rect.width()
        )
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def _paint_entry(
        self,
        painter: QPainter,
        opt: QStyleOptionViewItem,
        entry: TemplateEntry,
        text_color: QColor,
        muted: QColor,
        selected: bool,
    ) -> None:
        bold, base, small = self._fonts(opt)
        rect = opt.rect.adjusted(_PAD, _PAD, -_PAD, -_PAD)
        badge = icons.icon("warning") if entry.error else icons.engine_icon(entry.engine)
        icon_rect = QRect(rect.left(), rect.top() + 2, _ICON_SIZE, _ICON_SIZE)
        badge.paint(painter, icon_rect)
        left = icon_rect.right() + 1 + 8
        width = max(rect.right() - left, 10)

        # Line 1: name (bold), date on the right.
        fm_small = QFontMetrics(small)
        date = short_date(entry)
        date_width = fm_small.horizontalAdvance(date)
        fm_bold = QFontMetrics(bold)
        line1 = QRect(left, rect.top(), width, fm_bold.height())
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(line1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, date)
        name_width = max(width - date_width - 8, 10)
        painter.setFont(bold)
        painter.setPen(text_color)
        name = fm_bold.elidedText(safe_text(entry.name), Qt.TextElideMode.ElideRight, name_width)
        painter.drawText(
            QRect(left, rect.top(), name_width, fm_bold.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            name,
        )

        # Lines 2-3: description (wrapped), or the reason the file cannot be opened.
        fm = QFontMetrics(base)
        painter.setFont(base)
        if entry.error:
            dark = opt.palette.color(QPalette.ColorRole.Base).lightness() < 128
            painter.setPen(text_color if selected else QColor("#ff7b72" if dark else "#cf222e"))
            text = safe_text(entry.error)
        else:
            painter.setPen(muted)
            text = safe_text(" ".join(entry.description.split())) or "No description"
        top = line1.bottom() + 1
        for line_text in wrap_lines(text, fm, width, DESCRIPTION_LINES):
            painter.drawText(
                QRect(left, top, width, fm.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                line_text,
            )
            top += fm.height()
        top = line1.bottom() + 1 + DESCRIPTION_LINES * fm.height()

        # Last line: engine · size · counts, dropping the least telling counts to fit.
        details = [registry.display_name(entry.engine)] if entry.engine else []
        details.append(human_size(entry.size))
        details += stats_parts(entry.stats)
        painter.setFont(small)
        painter.setPen(muted)
        painter.drawText(
            QRect(left, top, width, fm_small.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fit_parts(details, fm_small, width),
        )


#: Lines of description a row shows (the tooltip has all of it).
DESCRIPTION_LINES = 2


def wrap_lines(text: str, metrics: QFontMetrics, width: int, count: int) -> list[str]:
    """``text`` word-wrapped into at most ``count`` lines of ``width`` pixels; the last
    line is elided when the text goes on (a long word is elided on its own line)."""
    lines: list[str] = []
    words = text.split(" ")
    while words and len(lines) < count:
        if len(lines) == count - 1:
            lines.append(_elided(" ".join(words), metrics, width))
            break
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= width:
            line = f"{line} {words.pop(0)}"
        lines.append(_elided(line, metrics, width))
    return lines


def _elided(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` as it is when it fits (Qt's elider can cut a text that fits exactly)."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)


def stats_parts(stats: dict[str, int]) -> list[str]:
    """The row's object counts, most telling first (see :func:`stats_summary`)."""
    summary = stats_summary(stats)
    return summary.split(" · ") if summary else []


def fit_parts(parts: list[str], metrics: QFontMetrics, width: int) -> str:
    """``a · b · c`` without the trailing parts that do not fit (whole parts, not
    half-words: the tooltip lists them all); elided only if the first two do not fit."""
    kept = list(parts)
    while len(kept) > 2 and metrics.horizontalAdvance(" · ".join(kept)) > width:
        kept.pop()
    return _elided(" · ".join(kept), metrics, width)


