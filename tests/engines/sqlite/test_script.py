"""Splitting SQLite text: only real statement ends cut, positions kept."""

from __future__ import annotations

import io

import pytest

from dbplay_desktop.engines.sqlite.engine import SqliteEngine
from dbplay_desktop.engines.sqlite.script import read_statements

TEXT = """select 'a;b', "x;y", [c;d], `e;f` from t; -- a comment; with ;
/* block; comment */ create trigger tr after insert on t begin
  insert into u values (1); update u set a = case when 1 then 2 end;
end;
select 1;
select x'ab;';
"""


def test_split_keeps_strings_comments_and_trigger_bodies_whole():
    found = SqliteEngine.split(TEXT)
    assert [s.text.split()[0] for s in found] == ["select", "create", "select", "select"]
    assert found[0].text == "select 'a;b', \"x;y\", [c;d], `e;f` from t"
    assert found[1].text.startswith("create trigger") and found[1].text.endswith("end")
    assert "update u set a = case when 1 then 2 end;" in found[1].text
    assert (found[1].line, found[1].column) == (2, 22)
    assert (found[2].line, found[3].line) == (5, 6)
    for statement in found:
        assert TEXT[statement.start : statement.end] == statement.text


def test_split_keeps_an_incomplete_statement_and_drops_comment_only_text():
    assert [s.text for s in SqliteEngine.split("select 1; select 'open")] == [
        "select 1", "select 'open"
    ]
    assert [s.text for s in SqliteEngine.split("create trigger t after insert on x begin "
                                              "select 1;")] == [
        "create trigger t after insert on x begin select 1"
    ]
    assert SqliteEngine.split("-- only a comment\n/* and this */  ;;") == []


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_stream_reader_cuts_the_same_at_any_chunk_size(chunk):
    expected = [(s.line, s.text) for s in SqliteEngine.split(TEXT)]
    got = [(s.line, s.text) for s in read_statements(io.BytesIO(TEXT.encode()), chunk)]
    assert got == expected


def test_stream_reader_refuses_bytes_that_are_not_utf8():
    with pytest.raises(UnicodeDecodeError):
        list(read_statements(io.BytesIO(b"select '\xff';")))
