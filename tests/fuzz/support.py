"""What every property checks, and the text strategies the engines' generators share.

:func:`check_statements` is the splitter contract: statements in order, each exactly its
slice of the text, no overlap, without whitespace around it, at the line and column
:class:`~dbplay_desktop.engines.base.LineIndex` gives, and nothing left between them but
what the language ignores. :func:`check_error` is the error contract: an
:class:`EngineError` whose message is one bounded line and whose position is in the text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from dbplay_desktop.engines.base import LineIndex, Statement
from dbplay_desktop.errors import EngineError

#: The longest error message a user should get: a sentence and a location, never the input.
MAX_MESSAGE = 300
#: How many times more examples the fuzz profile tries (``DBPLAY_FUZZ=<n>`` sets it).
_DEFAULT_FUZZ_FACTOR = 10


def _fuzz_factor() -> int:
    raw = os.environ.get("DBPLAY_FUZZ", "")
    if raw.isdigit() and int(raw) > 1:
        return int(raw)
    return _DEFAULT_FUZZ_FACTOR


def budget(examples: int) -> settings:
    """``examples`` per test in ``make test``; many times more under the fuzz profile."""
    fuzzing = settings.get_current_profile_name() == "fuzz"
    return settings(max_examples=examples * (_fuzz_factor() if fuzzing else 1))


# --------------------------------------------------------------------------- checks


def check_statements(text: str, statements: Sequence[Statement],
                     gap_is_ignorable: Callable[[str], bool]) -> None:
    """The splitter contract for ``statements`` cut from ``text``."""
    index = LineIndex(text)
    previous_end = 0
    for statement in statements:
        assert isinstance(statement, Statement)
        assert previous_end <= statement.start < statement.end <= len(text), statement
        assert statement.text == text[statement.start:statement.end]
        assert not statement.text[0].isspace() and not statement.text[-1].isspace()
        assert (statement.line, statement.column) == index.locate(statement.start)
        assert Statement.at(text, statement.start, statement.end) == statement
        gap = text[previous_end:statement.start]
        assert gap_is_ignorable(gap), f"text lost between statements: {gap!r}"
        previous_end = statement.end
    tail = text[previous_end:]
    assert gap_is_ignorable(tail), f"text lost after the last statement: {tail!r}"


def check_error(error: BaseException, text: str) -> None:
    """The error contract: the engine's family, one bounded line, a position in ``text``."""
    assert isinstance(error, EngineError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert message, "an empty message"
    assert "\n" not in message and "\r" not in message, message
    assert len(message) <= MAX_MESSAGE, f"a message of {len(message)} characters: {message[:200]}"
    if error.position is not None:
        assert 0 <= error.position <= len(text), (error.position, len(text))
        if error.line is not None:
            assert (error.line, error.column) == LineIndex(text).locate(error.position)


def outcome(function: Callable[[str], Any], text: str) -> Any:
    """``function(text)``, or ``None`` when it refused the text with a proper error.

    Any other exception (RecursionError, OverflowError, ...) fails the property.
    """
    try:
        return function(text)
    except EngineError as error:
        check_error(error, text)
        return None


# --------------------------------------------------------------------------- strategies

#: Characters that stress offsets: line breaks of every kind, wide and combining
#: characters, a lone surrogate (the editor can hand one over), NUL, a BOM.
AWKWARD = ["\n", "\r", "\r\n", "\t", "\x0c", "\x0b", "\x00", "\u2028", "\u2029", "\x85",
           "\ufeff", "\u200b", "\u00a0", "é", "e\u0301", "€", "😀", "\U0010ffff", "\ud800",
           "\udfff", "\\", "\\\n"]

any_text = st.text(st.characters(exclude_categories=()), max_size=300)
awkward_text = st.lists(
    st.sampled_from(AWKWARD) | st.characters(exclude_categories=()), max_size=80
).map("".join)


def soup(tokens: Sequence[str], max_size: int = 60) -> st.SearchStrategy[str]:
    """Texts made of ``tokens`` (a language's punctuation and words) and awkward characters."""
    return st.lists(st.sampled_from(list(tokens)) | st.sampled_from(AWKWARD) | st.just(" "),
                    max_size=max_size).map("".join)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str], tokens: Sequence[str]) -> str:
    """``base`` text with a few edits: cut short, a piece dropped, doubled or swapped,
    a token or awkward character put in anywhere."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        size = len(text)
        at = draw(st.integers(0, size))
        choice = draw(st.integers(0, 4))
        if choice == 0:
            text = text[:at]
        elif choice == 1:
            end = draw(st.integers(at, size))
            text = text[:at] + text[end:]
        elif choice == 2:
            end = draw(st.integers(at, min(size, at + 40)))
            text = text[:end] + text[at:end] + text[end:]
        elif choice == 3:
            piece = draw(st.sampled_from(list(tokens)) | st.sampled_from(AWKWARD))
            text = text[:at] + piece + text[at:]
        else:
            middle = draw(st.integers(at, size))
            text = text[middle:] + text[:at] + text[at:middle]
    return text


@st.composite
def nested(draw: st.DrawFn, pairs: Sequence[tuple[str, str]], inner: Sequence[str],
           max_depth: int = 3000) -> str:
    """One value nested ``depth`` deep in ``pairs`` (``("{a:", "}")``), closed or not."""
    opener, closer = draw(st.sampled_from(list(pairs)))
    depth = draw(st.integers(1, max_depth))
    middle = draw(st.sampled_from(list(inner)))
    closed = draw(st.integers(0, depth)) if draw(st.booleans()) else depth
    return opener * depth + middle + closer * closed
