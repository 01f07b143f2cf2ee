"""Splitting SQLite text: only real statement ends cut, positions kept."""

from __future__ import annotations

import io

import pytest

from dbplay_desktop.engines.base import LineIndex
from dbplay_desktop.engines.sqlite.engine import SqliteEngine
from dbplay_desktop.engines.sqlite.script import _Cutter, read_statements, split_sql

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


# --------------------------------------------------------------------------- the tokenizer

MIXED = (
    "select 'a;''b', \"c;\"\"d\", [e;f], `g;``h` from t;\r\n"
    "-- a comment; with ; and 'quote\r\n"
    "/* block; 'comment' */ create temp trigger if not exists tr after insert on t\r\n"
    "begin\r\n"
    "  update u set a = case when new.x = 'end;' then 1 else 2 end; -- end;\r\n"
    "  insert into u values (';');\r\n"
    "end ;\r\n"
    "select 1 - 2 / 3;select x'ab;';\r\n"
    "select 'open; string"
)


def _texts(text: str) -> list[str]:
    return [s.text for s in split_sql(text)]


def _check_positions(text: str) -> None:
    index = LineIndex(text)
    for statement in split_sql(text):
        assert text[statement.start : statement.end] == statement.text
        assert (statement.line, statement.column) == index.locate(statement.start)


def test_trigger_bodies_keep_their_semicolons():
    found = split_sql(MIXED)
    assert [s.text.split()[0] for s in found] == ["select", "create", "select", "select",
                                                  "select"]
    trigger = found[1].text
    assert trigger.startswith("create temp trigger") and trigger.endswith("end")
    assert "insert into u values (';');" in trigger and "-- end;" in trigger
    assert (found[1].line, found[1].column) == (3, 24)
    _check_positions(MIXED)


def test_semicolons_in_comments_and_strings_do_not_cut():
    assert _texts("-- a; b\nselect 1; /* x; y */ select 2 -- ;\n;") == [
        "select 1", "select 2 -- ;"
    ]
    assert _texts("select 'a;''b'; select \"c;d\"; select [e;f]; select `g;h`") == [
        "select 'a;''b'", 'select "c;d"', "select [e;f]", "select `g;h`"
    ]
    assert _texts("select 1 -- no newline; at the end") == ["select 1 -- no newline; at the end"]


def test_unterminated_tokens_at_the_end_make_one_last_statement():
    assert _texts("select 1; select 'abc;def") == ["select 1", "select 'abc;def"]
    assert _texts("select 1; select \"abc;x") == ["select 1", 'select "abc;x']
    assert _texts("select 1; select [abc;x") == ["select 1", "select [abc;x"]
    assert _texts("select 1; /* open; comment") == ["select 1"]
    assert _texts("select 1; select 2 /* open; comment") == ["select 1",
                                                           "select 2 /* open; comment"]
    assert _texts("select 'it''") == ["select 'it''"]


def test_crlf_lines_and_columns():
    text = "select 1;\r\n  select 2;\r\n-- c;\r\nselect 3"
    found = split_sql(text)
    assert [(s.text, s.line, s.column) for s in found] == [
        ("select 1", 1, 1), ("select 2", 2, 3), ("select 3", 4, 1)
    ]
    _check_positions(text)


def test_a_trigger_is_only_finished_at_its_end():
    text = ("CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; "
            "SELECT 'END;'; END; SELECT 9")
    assert _texts(text) == [text[: text.index("END; SELECT 9") + 3], "SELECT 9"]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 1 << 20])
def test_stream_reader_matches_the_editor_on_every_token_kind(chunk):
    expected = [(s.line, s.text) for s in split_sql(MIXED)]
    got = [(s.line, s.text) for s in read_statements(io.BytesIO(MIXED.encode()), chunk)]
    assert got == expected


def _steps(text: str) -> int:
    cutter = _Cutter()
    list(cutter.cut(text, final=True))
    return cutter.steps


def test_the_tokenizer_touches_each_character_a_bounded_number_of_times():
    """Linear: the work per character stays bounded whatever the script's size."""
    unit = MIXED.replace("select 'open; string", "") + "insert into t values (1, 2.5, 'x');\n"
    small = unit * (200_000 // len(unit))
    large = unit * (1_000_000 // len(unit))  # about 1 MB
    assert len(large) >= 950_000
    per_small, per_large = _steps(small) / len(small), _steps(large) / len(large)
    assert per_large <= 12
    assert per_large <= per_small * 1.05
    # one statement that is one huge string, and one huge trigger-free statement
    for text in ("select '" + "a;" * 500_000 + "'", "select " + "1, " * 300_000 + "2"):
        assert _steps(text) <= 12 * len(text)


@pytest.mark.timeout(60)
def test_a_5_mb_script_splits_and_streams():
    unit = "insert into t values (1, 'a;b', \"c\", [d]); -- note;\n"
    text = unit * (5_000_000 // len(unit))
    found = split_sql(text)
    assert len(found) == 5_000_000 // len(unit)
    assert found[-1].line == len(found) and found[-1].text == unit.split(";")[0] + ";b', " \
        '"c", [d])'
    streamed = sum(1 for _ in read_statements(io.BytesIO(text.encode()), 1 << 16))
    assert streamed == len(found)
