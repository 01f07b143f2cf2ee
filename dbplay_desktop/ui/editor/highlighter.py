"""Syntax highlighting for the query editor, driven by Pygments lexers.

Highlighting is incremental, one text block (line) at a time, so typing stays fast in a
10,000-line script. Pygments lexes whole strings, so :mod:`.resumable_lexer` runs a
Pygments ``RegexLexer``'s own rule tables itself, starting at a line and carrying the
lexer's state stack from line to line. A token that spans lines (a ``/* ... */`` comment
matched by one rule, a ``$$`` function body) is remembered as "starts N characters before
this line", and the next line is lexed again from that token's start. Both facts fit in the block's
integer state, so Qt re-highlights exactly the lines whose starting state changed.

Very large edits (a pasted megabyte, opening a ``/*`` at the top) would take seconds to
lex at once; each burst of highlighting has a time budget, lines past it (and outside the
visible area) are marked pending and finished from a timer in small slices.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QPalette,
    QSyntaxHighlighter,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)

from dbplay_desktop.ui.editor.resumable_lexer import ResumableRegexLexer, supports_resume

#: Text format property set on string ("string"), comment ("comment") and quoted
#: identifier ("identifier") formats, so bracket matching and completion can tell code
#: from literal text.
LITERAL_PROPERTY = QTextFormat.Property.UserProperty + 1

LIGHT_STYLE = "default"
DARK_STYLE = "monokai"

_DISTANCE_BITS = 21  # a token may straddle line ends for up to 2 MiB
_MAX_DISTANCE = (1 << _DISTANCE_BITS) - 1
_MAX_STACKS = (1 << (31 - _DISTANCE_BITS)) - 1
_STATE_STALE = -2  # a deferred line about to be re-highlighted
_MARK_BATCH = 4_000  # deferred lines marked stale per slice (more than a slice can lex)
_RECHECK_LINES = 300  # lines above an edit lexed again once typing pauses
_RECHECK_DELAY_MS = 300
_MAX_EDITS_TRACKED = 64  # edits remembered per typing pause (typing makes one per key)
_BURST_BUDGET = 0.025  # seconds of lexing before lines out of sight are deferred
_SLICE_BUDGET = 0.02  # seconds per deferred slice
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def resolve_lexer(name: str) -> Any:
    """The Pygments lexer of that name (a language spec's ``lexer``); plain text when
    there is none or Pygments does not know it."""
    from pygments.lexers import get_lexer_by_name
    from pygments.lexers.special import TextLexer
    from pygments.util import ClassNotFound

    key = (name or "").strip()
    if not key:
        return TextLexer()
    try:
        return get_lexer_by_name(key, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer()


def is_dark(palette: QPalette) -> bool:
    """Whether a palette is a dark theme, judged from the window background."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def qt_units(text: str) -> str:
    """``text`` with each non-BMP character doubled, so indices match Qt's UTF-16 positions."""
    if text.isascii() or _ASTRAL.search(text) is None:
        return text
    return _ASTRAL.sub("\ufffd\ufffd", text)


class TokenFormats:
    """Maps Pygments token types to text formats of a Pygments style, without backgrounds.

    Backgrounds stay the palette's, so the editor matches the rest of the window; only
    foreground colour, bold and italic come from the style.
    """

    def __init__(self, style_name: str) -> None:
        from pygments.styles import get_style_by_name

        self.style = get_style_by_name(style_name)
        self._cache: dict[Any, QTextCharFormat | None] = {}

    def format_for(self, ttype: Any) -> QTextCharFormat | None:
        cached = self._cache.get(ttype, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        from pygments.token import Comment, String, Whitespace

        if ttype in Whitespace:
            self._cache[ttype] = None
            return None
        styled = ttype
        while not self.style.styles_token(styled) and styled.parent is not None:
            styled = styled.parent  # lexer-specific token types fall back to their family
        spec = self.style.style_for_token(styled)
        fmt: QTextCharFormat | None = QTextCharFormat()
        assert fmt is not None
        if spec.get("color"):
            fmt.setForeground(QColor("#" + spec["color"]))
        if spec.get("bold"):
            fmt.setFontWeight(QFont.Weight.Bold)
        if spec.get("italic"):
            fmt.setFontItalic(True)
        if ttype in Comment:
            fmt.setProperty(LITERAL_PROPERTY, "comment")
        elif ttype in String.Name:  # a quoted identifier: completion still helps
            fmt.setProperty(LITERAL_PROPERTY, "identifier")
        elif ttype in String:
            fmt.setProperty(LITERAL_PROPERTY, "string")
        if not fmt.propertyCount():
            fmt = None
        self._cache[ttype] = fmt
        return fmt


class PygmentsHighlighter(QSyntaxHighlighter):
    """Highlights a document with a Pygments lexer, line by line, in palette-aware colours."""

    def __init__(self, document: QTextDocument, language: str = "") -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self._text_cache: str | None = None
        # Connected before the base class connects its own handler, so the cached
        # document text is dropped before any re-highlighting of an edit starts.
        document.contentsChange.connect(self._forget_text)
        self._stacks: list[tuple[str, ...]] = [("root",)]
        self._stack_ids: dict[tuple[str, ...], int] = {("root",): 0}
        self._burst_deadline: float | None = None
        self._pending: list[tuple[QTextCursor, QTextCursor]] = []  # deferred runs of lines
        self._continue_timer = QTimer(self)
        self._continue_timer.setSingleShot(True)
        self._continue_timer.setInterval(1)
        self._continue_timer.timeout.connect(self._continue_deferred)
        self._edits: list[QTextCursor] = []  # where the text changed since typing paused
        self._edits_overflowed = False
        self._recheck_timer = QTimer(self)
        self._recheck_timer.setSingleShot(True)
        self._recheck_timer.setInterval(_RECHECK_DELAY_MS)
        self._recheck_timer.timeout.connect(self._recheck_before_edit)
        #: Returns the first and last block numbers on screen; those are never deferred.
        self.visible_blocks: Callable[[], tuple[int, int]] | None = None
        self.language = ""
        self._lexer: Any = None
        self._runner: ResumableRegexLexer | None = None
        self._formats = TokenFormats(LIGHT_STYLE)
        self._set_lexer(language)
        self.setDocument(document)
        # Owned by the document from here on (made without a parent only so the handler
        # above runs first): it goes when the editor's document goes, never lingers.
        self.setParent(document)

    # -- configuration ---------------------------------------------------------
    def set_language(self, language: str) -> bool:
        """Switch to the Pygments lexer named ``language`` ("" for none); returns False
        when Pygments knows no such lexer (plain text then)."""
        known = self._set_lexer(language)
        self.rehighlight()
        return known

    def _set_lexer(self, language: str) -> bool:
        from pygments.lexers.special import TextLexer

        self._pending.clear()
        self._edits.clear()
        self.language = language
        self._lexer = resolve_lexer(language)
        self._runner = ResumableRegexLexer(self._lexer) if supports_resume(self._lexer) else None
        return not isinstance(self._lexer, TextLexer) or language.lower() in ("text", "")

    @property
    def lexer(self) -> Any:
        return self._lexer

    def set_dark(self, dark: bool, light_style: str = LIGHT_STYLE, dark_style: str = DARK_STYLE):
        """Pick the Pygments style for a dark or light background and re-highlight."""
        self._formats = TokenFormats(dark_style if dark else light_style)
        self.rehighlight()

    # -- document text ---------------------------------------------------------
    def _forget_text(self, position: int, removed: int, added: int) -> None:
        self._text_cache = None
        if self._runner is None or not (removed or added):
            return
        self._runner.forget()
        doc = self.document()
        if doc is None:
            return
        position = min(position, doc.characterCount() - 1)
        if self._edits and doc.findBlock(position) == self._edits[-1].block():
            pass  # typing on the same line: one entry
        elif len(self._edits) < _MAX_EDITS_TRACKED:
            cursor = QTextCursor(doc)
            cursor.setPosition(position)
            self._edits.append(cursor)
        else:  # many scattered edits: keep the first and the last position only
            self._edits.sort(key=QTextCursor.position)
            del self._edits[1:-1]
            if position < self._edits[0].position():
                self._edits[0].setPosition(position)
            elif position > self._edits[-1].position():
                self._edits[-1].setPosition(position)
            self._edits_overflowed = True
        self._recheck_timer.start()

    def _recheck_before_edit(self) -> None:
        """Re-highlight the lines just before an edit once typing pauses.

        Qt re-highlights from the edited line downwards, but a Pygments rule may have
        looked ahead past its line: ``AS $$`` on line 10 only becomes a string once the
        closing ``$$`` is typed on line 20. Lines up to ``_RECHECK_LINES`` above the edit,
        and the whole of a multi-line token running into it, are lexed again in the
        background; only lines whose formats really change are laid out again.
        """
        doc = self.document()
        edits, self._edits = self._edits, []
        if doc is None:
            return
        numbers = sorted({doc.findBlock(c.position()).blockNumber() for c in edits})
        if self._edits_overflowed and numbers:
            numbers = [*range(numbers[0], numbers[-1] + 1, _RECHECK_LINES), numbers[-1]]
        self._edits_overflowed = False
        runs: list[tuple[int, int]] = []  # block numbers, merged
        for number in numbers:
            first, last = max(0, number - _RECHECK_LINES), number - 1
            if last < first:
                continue
            if runs and first <= runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], last)
            else:
                runs.append((first, last))
        for first_number, last_number in runs:
            first = doc.findBlockByNumber(first_number)
            while first.previous().isValid() and self._decode(first.previous().userState())[1]:
                first = first.previous()  # a multi-line token runs into the window
            last = doc.findBlockByNumber(last_number)
            self._pending.append((QTextCursor(first), QTextCursor(last)))
        if runs:
            self._start_continuation()

    def _document_text(self) -> str:
        if self._text_cache is None:
            doc = self.document()
            self._text_cache = qt_units(doc.toPlainText()) if doc is not None else ""
        return self._text_cache

    # -- states ----------------------------------------------------------------
    def _encode(self, stack: tuple[str, ...], distance: int) -> int:
        stack_id = self._stack_ids.get(stack)
        if stack_id is None:
            if len(self._stacks) > _MAX_STACKS:
                stack_id = 0
            else:
                stack_id = len(self._stacks)
                self._stacks.append(stack)
                self._stack_ids[stack] = stack_id
        if distance > _MAX_DISTANCE:
            distance = 0
        return (stack_id << _DISTANCE_BITS) | distance

    def _decode(self, state: int) -> tuple[tuple[str, ...], int]:
        if state < 0:
            return ("root",), 0
        stack_id = state >> _DISTANCE_BITS
        stack = self._stacks[stack_id] if stack_id < len(self._stacks) else ("root",)
        return stack, state & _MAX_DISTANCE

    # -- highlighting ----------------------------------------------------------
    def highlightBlock(self, text: str) -> None:
        if self._runner is None:
            self._highlight_line_only(text)
            return
        previous = self.previousBlockState()
        block = self.currentBlock()
        if self._over_budget(block):
            self._defer(block)
            return
        stack, distance = self._decode(previous)
        line_start = block.position()
        source = self._document_text()
        line_end = line_start + len(qt_units(text))
        tokens, next_stack, straddle = self._runner.lex_line(
            source, line_start - distance, stack, line_start, line_end
        )
        for at, length, ttype in tokens:
            fmt = self._formats.format_for(ttype)
            if fmt is not None:
                self.setFormat(at - line_start, length, fmt)
        next_distance = line_end + 1 - straddle if straddle >= 0 else 0
        self.setCurrentBlockState(self._encode(next_stack, next_distance))

    def _highlight_line_only(self, text: str) -> None:
        """Fallback for lexers we cannot resume: each line lexed on its own."""
        from pygments.lexers.special import TextLexer

        if isinstance(self._lexer, TextLexer):
            return
        for index, ttype, value in self._tokens_of(text):
            fmt = self._formats.format_for(ttype)
            if fmt is not None:
                self.setFormat(index, len(value), fmt)

    def _tokens_of(self, text: str) -> Iterator[tuple[int, Any, str]]:
        return self._lexer.get_tokens_unprocessed(qt_units(text))

    # -- time budget -------------------------------------------------------------
    def _over_budget(self, block: QTextBlock) -> bool:
        now = time.perf_counter()
        if self._burst_deadline is None:
            self._burst_deadline = now + _BURST_BUDGET
            QTimer.singleShot(0, self._end_burst)
            return False
        if now <= self._burst_deadline:
            return False
        if self.visible_blocks is not None:
            first, last = self.visible_blocks()
            if first <= block.blockNumber() <= last:
                return False
        return True

    def _end_burst(self) -> None:
        self._burst_deadline = None

    def _defer(self, block: QTextBlock) -> None:
        """Leave this line for the timer.

        The block keeps its old state, which stops Qt's cascade here, and its old formats,
        so nothing flickers. Deferred lines are kept as runs of neighbouring blocks (a
        pasted megabyte is one run, not 20,000 entries).
        """
        for rng in block.layout().formats():
            self.setFormat(rng.start, rng.length, rng.format)
        if self._pending:
            last = self._pending[-1][1]
            if last.block().next() == block:
                last.setPosition(block.position())
                self._start_continuation()
                return
        self._pending.append((QTextCursor(block), QTextCursor(block)))
        self._start_continuation()

    def _start_continuation(self) -> None:
        if not self._continue_timer.isActive():
            self._continue_timer.start()

    def _continue_deferred(self) -> None:
        """Highlight deferred lines for one time slice; the timer comes back if more remain.

        The lines of a run are first marked with a state no real line has, so one
        ``rehighlightBlock`` call cascades through them (Qt goes on to the next line only
        when a line's state changed); past the slice budget the cascade defers again.
        """
        deadline = time.perf_counter() + _SLICE_BUDGET
        while self._pending and time.perf_counter() < deadline:
            self._pending.sort(key=lambda run: run[0].position())
            first, last = self._pending.pop(0)
            block, last_number = first.block(), last.block().blockNumber()
            marked = block
            for _ in range(_MARK_BATCH):
                if not marked.isValid() or marked.blockNumber() > last_number:
                    break
                marked.setUserState(_STATE_STALE)
                marked = marked.next()
            if marked.isValid() and marked.blockNumber() <= last_number:
                self._pending.append((QTextCursor(marked), last))
            if block.isValid():
                self._burst_deadline = deadline
                try:
                    self.rehighlightBlock(block)
                finally:
                    self._burst_deadline = None
        if self._pending:
            self._start_continuation()

    def pending(self) -> bool:
        """Whether some lines still wait for their highlighting (for tests and benchmarks)."""
        return (
            bool(self._pending) or self._continue_timer.isActive() or self._recheck_timer.isActive()
        )


def literal_kind_at(block: QTextBlock, column: int) -> str | None:
    """``"string"``/``"comment"`` when the highlighter marked that character so, else None."""
    layout = block.layout()
    if layout is None:
        return None
    for rng in layout.formats():
        if rng.start <= column < rng.start + rng.length:
            kind = rng.format.property(LITERAL_PROPERTY)
            if kind:
                return str(kind)
    return None
