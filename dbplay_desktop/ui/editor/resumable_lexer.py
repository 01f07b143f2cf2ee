"""Running a Pygments ``RegexLexer`` from the start of any line, one line at a time.

Pygments lexes whole strings; the editor's highlighter must lex one line and carry the
lexer's state to the next, so that typing re-lexes a handful of lines rather than the whole
script. :class:`ResumableRegexLexer` runs a ``RegexLexer``'s own rule tables itself and
reports where each line leaves the state stack (and any token that runs on past the line
end). Kept out of :mod:`.highlighter` because it is plain Pygments with no Qt, and the part
that has to follow Pygments' internals when Pygments changes.
"""

from __future__ import annotations

import bisect
from typing import Any


class ResumableRegexLexer:
    """Runs a Pygments ``RegexLexer``'s rules from any position with a given state stack.

    Mirrors ``RegexLexer.get_tokens_unprocessed`` (Pygments 2.x) but stops at a line end
    and reports where it stopped, which the stock generator cannot. A match that runs
    past the line end (a long comment or ``$$`` body) is remembered until the text
    changes, so each following line reuses it instead of matching it again from its
    start, which would make a 10,000-line comment quadratic.
    """

    def __init__(self, lexer: Any) -> None:
        self.lexer = lexer
        self.tokendefs = lexer._tokens
        # (position, stack) -> (match end, stack after, token starts, tokens)
        self._spans: dict[tuple[int, tuple[str, ...]], tuple[int, tuple[str, ...], list, list]] = {}

    def forget(self) -> None:
        """Drop remembered matches; call whenever the text changes."""
        self._spans.clear()

    def _match(self, text: str, pos: int, statestack: list[str]):
        """The first rule matching at ``pos``: (end, tokens, transition) or None."""
        from pygments.token import _TokenType

        lexer = self.lexer
        for rexmatch, action, new_state in self.tokendefs[statestack[-1]]:
            m = rexmatch(text, pos)
            if not m:
                continue
            match_end = m.end()
            tokens: list[tuple[int, int, Any]] = []
            if action is not None:
                if type(action) is _TokenType:
                    tokens.append((pos, match_end - pos, action))
                else:
                    # Callbacks may report positions relative to a sub-string (the
                    # $$-body lexer does); tokens are contiguous, so count along.
                    running = pos
                    for index, ttype, value in action(lexer, m):
                        at = index if index >= running else running
                        tokens.append((at, len(value), ttype))
                        running = at + len(value)
            return match_end, tokens, new_state
        return None

    def lex_line(
        self, text: str, start: int, stack: tuple[str, ...], line_start: int, line_end: int
    ) -> tuple[list[tuple[int, int, Any]], tuple[str, ...], int]:
        """Tokens overlapping ``text[line_start:line_end]``, the stack at the next line.

        Lexing begins at ``start`` (<= ``line_start``) with ``stack``. Returns the clipped
        tokens as ``(position, length, token_type)``, the state stack where the next line
        starts, and the position of a token match that straddles the line end (or -1).
        """
        from pygments.token import Error, Whitespace

        # Some callbacks look around their match in the whole text (a $$ body's LANGUAGE
        # clause may follow it); lexers that need that keep the text as ``lexer.text``.
        self.lexer.text = text
        next_line = line_end + 1
        size = len(text)
        statestack = list(stack)
        tokens: list[tuple[int, int, Any]] = []
        pos = start

        def keep(at: int, length: int, ttype: Any) -> None:
            end = at + length
            if end > line_start and at < line_end:
                lo = max(at, line_start)
                tokens.append((lo, min(end, line_end) - lo, ttype))

        span = self._spans.get((start, stack)) if start < line_start else None
        if span is not None:
            match_end, after, starts, span_tokens = span
            first = max(0, bisect.bisect_right(starts, line_start) - 1)
            for at, length, ttype in span_tokens[first:]:
                if at >= line_end:
                    break
                keep(at, length, ttype)
            if match_end > next_line:
                return tokens, stack, start
            pos = match_end
            statestack = list(after)

        while pos < next_line and pos < size:
            found = self._match(text, pos, statestack)
            if found is None:
                if text[pos] == "\n":
                    statestack = ["root"]
                    keep(pos, 1, Whitespace)
                else:
                    keep(pos, 1, Error)
                pos += 1
                continue
            match_end, match_tokens, new_state = found
            for at, length, ttype in match_tokens:
                keep(at, length, ttype)
            before = tuple(statestack)
            if new_state is not None:
                _apply_transition(statestack, new_state)
            if pos < next_line < match_end:
                starts = [t[0] for t in match_tokens]
                self._spans[(pos, before)] = (match_end, tuple(statestack), starts, match_tokens)
                return tokens, before, pos
            pos = match_end
        return tokens, tuple(statestack), -1


def _apply_transition(statestack: list[str], new_state: Any) -> None:
    """Apply a Pygments state transition (as ``RegexLexer`` does) to ``statestack``."""
    if isinstance(new_state, tuple):
        for state in new_state:
            if state == "#pop":
                if len(statestack) > 1:
                    statestack.pop()
            elif state == "#push":
                statestack.append(statestack[-1])
            else:
                statestack.append(state)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(statestack):
            del statestack[1:]
        else:
            del statestack[new_state:]
    elif new_state == "#push":
        statestack.append(statestack[-1])


def supports_resume(lexer: Any) -> bool:
    """Whether the lexer is a plain ``RegexLexer`` whose rules we may run ourselves.

    Its rule tables must be all there is to it: a lexer class whose
    ``get_tokens_unprocessed`` rewrites the stream (promoting names to builtins, lexing
    an embedded language, ...) would highlight differently when its rules are run
    here, and is highlighted line by line instead. One kind of override is safe: one
    that only keeps the whole text as ``self.text`` (for callbacks that look around
    their match) and hands over to ``RegexLexer``'s, since :meth:`ResumableRegexLexer
    .lex_line` keeps the text there too.
    """
    from pygments.lexer import ExtendedRegexLexer, RegexLexer

    if not isinstance(lexer, RegexLexer) or isinstance(lexer, ExtendedRegexLexer):
        return False
    for cls in type(lexer).__mro__:
        if cls is RegexLexer:
            return True
        method = cls.__dict__.get("get_tokens_unprocessed")
        if method is not None and not _only_keeps_text(method):
            return False
    return True


#: The names an override may use and still only keep the text and hand over:
#: ``self.text = text; yield from super().get_tokens_unprocessed(text, ...)``.
_HAND_OVER_NAMES = frozenset({"text", "super", "get_tokens_unprocessed", "RegexLexer"})


def _only_keeps_text(method: Any) -> bool:
    code = getattr(method, "__code__", None)
    if code is None:
        return False
    nested = any(hasattr(const, "co_names") for const in code.co_consts)
    return not nested and set(code.co_names) <= _HAND_OVER_NAMES
