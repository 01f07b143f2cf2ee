"""What every property checks, and the text strategies the engines' generators share.

:func:`check_statements` is the splitter contract: statements in order, each exactly its
slice of the text, no overlap, without whitespace around it, at the line and column
:class:`~dbplay_desktop.engines.base.LineIndex` gives, and nothing left between them but
what the language ignores. :func:`check_error` is the error contract: an
:class:`EngineError` whose message is one bounded line and whose position is in the text.
:func:`check_parsed` and :func:`refusal` are the parser contract built on both (what it
read covers the statements the splitter cut; what it refused, it refused properly), and
:func:`peak_memory` measures what a call allocates, for properties about memory.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
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
                     gap_is_ignorable: Callable[[str], bool],
                     is_space: Callable[[str], bool] = str.isspace) -> None:
    """The splitter contract for ``statements`` cut from ``text``.

    ``is_space`` says what the language calls white space (PostgreSQL's is ASCII only:
    to its lexer U+2028 is a letter, and part of a statement).
    """
    index = LineIndex(text)
    previous_end = 0
    for statement in statements:
        assert isinstance(statement, Statement)
        assert previous_end <= statement.start < statement.end <= len(text), statement
        assert statement.text == text[statement.start:statement.end]
        assert not is_space(statement.text[0]) and not is_space(statement.text[-1])
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


def check_one_line(error: BaseException, limit: int = MAX_MESSAGE) -> str:
    """The error contract where there is no text to point into (a file, a stream):
    the engine's family, one line of at most ``limit`` characters. Returns the message."""
    assert isinstance(error, EngineError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert message, "an empty message"
    assert "\n" not in message and "\r" not in message, message
    assert len(message) <= limit, f"a message of {len(message)} characters: {message[:200]}"
    return message


def outcome(function: Callable[[str], Any], text: str) -> Any:
    """``function(text)``, or ``None`` when it refused the text with a proper error.

    Any other exception (RecursionError, OverflowError, ...) fails the property.
    """
    try:
        return function(text)
    except EngineError as error:
        check_error(error, text)
        return None


def check_parsed(
    parse: Callable[[str], Iterable[Any]],
    text: str,
    *,
    statements: Callable[[str], Sequence[Statement]] | None = None,
    each: Callable[[Any], object] | None = None,
) -> list[Any] | None:
    """The parser contract: ``parse(text)`` reads or refuses in one line (:func:`outcome`).

    What it reads is a list of items, each with the :class:`Statement` it came from,
    exactly that statement's slice of the text; with ``statements`` (the splitter) the
    items' statements are the splitter's, in order. ``each`` checks one item further
    (it must not raise). Returns the items, or None when the text was refused.
    """
    parsed = outcome(parse, text)
    if parsed is None:
        return None
    items = list(parsed)
    for item in items:
        statement = item.statement
        assert statement.text == text[statement.start:statement.end], statement
        if each is not None:
            each(item)
    if statements is not None:
        assert [item.statement for item in items] == list(statements(text))
    return items


def refusal(function: Callable[[str], Any], text: str,
            family: type[EngineError] = EngineError) -> EngineError:
    """The error ``function(text)`` must raise: of ``family``, one bounded line in the text."""
    try:
        function(text)
    except family as error:
        check_error(error, text)
        return error
    raise AssertionError(f"{text[:60]!r} was accepted")


def peak_memory(function: Callable[..., Any], *args: Any) -> int:
    """The peak of Python's allocations (``tracemalloc``) while ``function(*args)`` runs.

    Exceptions propagate (wrap ``function`` in :func:`outcome` to accept a proper
    refusal). Allocations of C libraries that bypass Python's allocator are not seen.
    """
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


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
