"""Memory on hostile input: what the parsers hold grows with the text, never beyond.

Python's own allocations (``tracemalloc``) while parsing a deeply nested or very wide
statement stay within a fixed multiple of the text's size: no input makes either parser
build something quadratic. (Sizes, not times: this asserts no clock.)
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dbplay_desktop.engines.chroma.calls.parse import parse_calls
from dbplay_desktop.engines.mongo.shell.parse import parse_shell
from tests.fuzz.support import budget, outcome, peak_memory

#: Bytes of Python allocations allowed per character of input, plus a fixed allowance
#: (measured: about 250 per character for a 200,000-character nested document).
_PER_CHARACTER = 1500
_FIXED = 16 * 1024 * 1024

_SHELL = [("db.a.find(", "{a:", "1", "}", ")"), ("db.a.insertMany([", "{a: 1, b: 'xx'},", "",
                                                  "", "])"),
          ("db.a.find(", "[", "", "", ")"), ("db.a.find({a: ", "NumberLong(", "1", ")", "})"),
          ("db.a.find({a: '", "x", "", "", "'})"), ("db.a.find({", "a: 1, ", "", "", "})")]
_CALLS = [("docs.get(where=", "{'a':", "1", "}", ")"), ("docs.add(ids=[", "'a',", "", "", "])"),
          ("docs.get(", "[", "", "", ")"), ("docs.get(", "-", "1", "", ")"),
          ("docs.get(where={", "'a': 1, ", "", "", "})"), ("docs.get(ids=", "(", "1", ",)", ")")]


@st.composite
def _hostile(draw: st.DrawFn, shapes: list[tuple[str, str, str, str, str]]) -> str:
    head, repeated, middle, closer, tail = draw(st.sampled_from(shapes))
    count = draw(st.integers(1, 30_000))
    closed = count if draw(st.booleans()) else draw(st.integers(0, count))
    return head + repeated * count + middle + closer * closed + tail


@budget(8)
@given(_hostile(_SHELL))
def test_shell_parser_memory_grows_with_the_text(text: str) -> None:
    parse_shell("db.a.find()")  # the grammar loads outside the measurement
    assert peak_memory(outcome, parse_shell, text) <= _FIXED + _PER_CHARACTER * len(text)


@budget(8)
@given(_hostile(_CALLS))
def test_calls_parser_memory_grows_with_the_text(text: str) -> None:
    assert peak_memory(outcome, parse_calls, text) <= _FIXED + _PER_CHARACTER * len(text)
