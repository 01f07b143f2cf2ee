"""The splitter's two ways (asking sqlite3.complete_statement, and the Python automaton)
cut every text at the same places, and those are the places SQLite itself says."""

from __future__ import annotations

import io
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbplay_desktop.engines.sqlite.script import _Cutter, read_statements, split_sql

#: Pieces that make the tokenizer's hard cases when strung together at random.
FRAGMENTS = [
    ";", " ", "\n", "\r\n", "\t", "\v", "\f", "'", "''", '"', '""', "`", "[", "]", "--", "/*",
    "*/", "-", "/", "*", "x'ab;'", "X'00'", "'a;b'", '"c;d"', "[e;f]", "`g;h`", "-- c;\n",
    "/* c; */", "create", "CREATE", "temp", "TEMPORARY", "trigger", "Trigger", "begin",
    "end", "END", "End", "explain", "EXPLAIN", "select", "table", "1", "1end", "a", "é",
    "€", "\x00", "$", "_", "endx", "xend", "(", ")", "case", "when", "then", "ünd",
]

PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

texts = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)


def _sqlite_ends(text: str) -> tuple[list[tuple[int, int]], int] | None:
    """SQLite's answer: each statement ends at the first ``;`` that completes it."""
    spans, start, semi = [], 0, 0
    while True:
        semi = text.find(";", semi) + 1
        if not semi:
            return spans, start
        if "\x00" in text[start:semi]:
            return None  # SQLite's C text ends at a NUL: it cannot be asked
        if sqlite3.complete_statement(text[start:semi]):
            spans.append((start, semi))
            start = semi


def _cut(text: str, fast: bool) -> tuple[list[tuple[int, int]], int]:
    cutter = _Cutter(fast=fast)
    spans = list(cutter.cut(text, final=True))
    return spans, cutter.start


def _cut_in_pieces(text: str, fast: bool, sizes: list[int]) -> tuple[list[tuple[int, int]], int]:
    """The same text fed a few characters at a time, the buffer trimmed as the reader does."""
    cutter, buffer, offset, pos, spans = _Cutter(fast=fast), "", 0, 0, []
    sizes = sizes or [1]
    turn = 0
    while pos < len(text):
        step = sizes[turn % len(sizes)]
        turn += 1
        buffer += text[pos : pos + step]
        pos += step
        spans += [(a + offset, b + offset) for a, b in cutter.cut(buffer, final=False)]
        if cutter.start:
            keep = cutter.start
            buffer, offset = buffer[keep:], offset + keep
            cutter.shift(keep)
    spans += [(a + offset, b + offset) for a, b in cutter.cut(buffer, final=True)]
    return spans, cutter.start + offset


@PROPERTY
@given(texts)
def test_the_automaton_cuts_where_sqlite_says(text):
    expected = _sqlite_ends(text)
    if expected is not None:
        assert _cut(text, fast=False) == expected


@PROPERTY
@given(texts)
def test_the_fast_way_cuts_where_the_automaton_does(text):
    assert _cut(text, fast=True) == _cut(text, fast=False)


@PROPERTY
@given(texts, st.lists(st.integers(1, 6), min_size=1, max_size=5), st.booleans())
def test_cutting_in_pieces_cuts_the_same(text, sizes, fast):
    assert _cut_in_pieces(text, fast, sizes) == _cut(text, fast=False)


TRICKY = [
    "select 'a;b', \"c;d\", [e;f], `g;h` from t; select 2;",
    "select 'it''s; here'; select '';",
    "select x'00ff;'; select X'';",
    "select 1 -- a comment; with ;\n; select 2 /* block; */;",
    "create trigger t after insert on x begin select 1; select 'end;'; end; select 3;",
    "CREATE TEMP TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; END ; X;",
    "create temporary trigger t before delete on x begin delete from y; end /* c */ ; 4;",
    "explain create trigger t after insert on x begin select 1; end; select 5;",
    "create trigger t after insert on x begin select 1; end -- no ; yet\n; select 6;",
    "create trigger t after insert on x begin select 1; endx; €end; end€; 1end; end; 7;",
    "create table t(trigger int); select 8;",
    "create table trigger(a); insert into trigger values (1);",
    "select 'open; string",
    "select \"open; identifier",
    "select [open; bracket",
    "select 1; /* open; comment",
    "select 1;\vselect 2;\x00; select '\x00;';",
    "select 'é;ü'; select \"ß;\"; select 3",
    ";;; select 1;;",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_texts_cut_the_same_both_ways_and_as_sqlite_says(text):
    slow = _cut(text, fast=False)
    assert _cut(text, fast=True) == slow
    expected = _sqlite_ends(text)
    if expected is not None:
        assert slow == expected
    for chunk in (1, 2, 3, 7, 64):
        streamed = [(s.line, s.text) for s in read_statements(io.BytesIO(text.encode()), chunk)]
        assert streamed == [(s.line, s.text) for s in split_sql(text)]


def test_a_column_named_trigger_does_not_make_a_trigger():
    """``trigger`` is a keyword SQLite also takes as a name; only CREATE TRIGGER opens a body."""
    assert [s.text for s in split_sql("CREATE TABLE t(trigger int); SELECT 1;")] == [
        "CREATE TABLE t(trigger int)", "SELECT 1"
    ]


def test_a_statement_that_asks_too_often_is_read_by_the_automaton():
    text = "insert into t values " + ", ".join(f"('{i};{i}')" for i in range(2000)) + "; select 1;"
    cutter = _Cutter()
    spans = list(cutter.cut(text, final=True))
    assert spans == _cut(text, fast=False)[0]
    assert len(spans) == 2
    assert cutter.steps <= 12 * len(text)


def test_a_nul_is_read_by_the_automaton_like_any_other_character():
    text = "select 'a\x00;'; select 2;"
    assert [s.text for s in split_sql(text)] == ["select 'a\x00;'", "select 2"]
    assert _cut(text, fast=True) == _cut(text, fast=False)
