"""The mongosh splitter: statements as mongosh runs them, offsets, and no exceptions ever."""

from __future__ import annotations

import random

import pytest

from dbplay_desktop.engines.mongo.shell import split as shell_split
from dbplay_desktop.engines.mongo.shell.split import split_pieces, split_shell


def _texts(text: str) -> list[str]:
    return [statement.text for statement in split_shell(text)]


def test_one_statement_per_line_and_per_semicolon() -> None:
    assert _texts("db.a.find()\ndb.b.find(); db.c.find()") == [
        "db.a.find()", "db.b.find()", "db.c.find()"]


def test_automatic_semicolon_insertion_keeps_a_continued_chain() -> None:
    assert _texts("db.a.find()\n  .limit(2)\n\ndb.b.find()") == [
        "db.a.find()\n  .limit(2)", "db.b.find()"]


def test_multi_line_statement_offsets_lines_and_columns() -> None:
    text = "// intro\n  db.a.insertOne({\n    a: 1\n  })\ndb.b.find()"
    first, second = split_shell(text)
    assert first.text == "db.a.insertOne({\n    a: 1\n  })"
    assert (first.line, first.column) == (2, 3)
    assert text[first.start:first.end] == first.text
    assert (second.line, second.column) == (5, 1)


def test_comments_are_not_statements_and_are_trimmed() -> None:
    text = "/* a */ db.a.find() /* b */ ; // c\n// only a comment\n/* x\n y */"
    (statement,) = split_shell(text)
    assert statement.text == "db.a.find()"
    assert statement.column == 9


def test_show_and_use_lines_are_directives() -> None:
    text = "show dbs\r\ndb.a.find()\r\n  use   test ;\r\nshow collections // list\r\n"
    pieces = split_pieces(text)
    assert [(p.kind, p.statement.text) for p in pieces] == [
        ("show", "show dbs"), ("js", "db.a.find()"), ("use", "use   test"),
        ("show", "show collections")]
    assert [(p.statement.line, p.statement.column) for p in pieces] == [
        (1, 1), (2, 1), (3, 3), (4, 1)]


def test_show_inside_a_call_or_as_a_variable_is_javascript() -> None:
    assert [p.kind for p in split_pieces("db.a.find(\nshow dbs\n)")] == ["js"]
    assert [p.kind for p in split_pieces("show = 3")] == ["js"]
    assert [p.kind for p in split_pieces("'show dbs'")] == ["js"]


def test_crlf_offsets() -> None:
    text = "db.a.find()\r\ndb.b.find()\r\n"
    first, second = split_shell(text)
    assert first.text == "db.a.find()"
    assert (second.start, second.line, second.column) == (13, 2, 1)


def test_non_ascii_offsets_are_characters() -> None:
    text = 'db.a.find({a: "ü€😀"}); db.b.find()\nuse café'
    pieces = split_pieces(text)
    assert [p.statement.text for p in pieces] == [
        'db.a.find({a: "ü€😀"})', "db.b.find()", "use café"]
    for piece in pieces:
        assert text[piece.statement.start:piece.statement.end] == piece.statement.text


def test_malformed_text_is_covered() -> None:
    assert _texts("db.a.find({a: 1\ndb.b.find()") == ["db.a.find({a: 1\ndb.b.find()"]
    assert _texts("db.a.find({a: [1, 2}") == ["db.a.find({a: [1, 2}"]
    assert _texts('"abc') == ['"abc']
    assert _texts("db.a.insertOne({a:1})\n}}}\ndb.b.find()") == [
        "db.a.insertOne({a:1})", "}}}", "db.b.find()"]


@pytest.mark.parametrize("text", ["", "   \n\t", "// c", "/* */", ";;;"])
def test_nothing_to_run(text: str) -> None:
    assert split_shell(text) == []


def test_lone_surrogate_does_not_raise() -> None:
    assert split_shell('db.a.find({a: "\ud800"})')


def test_fuzz_never_raises_and_statements_are_slices() -> None:
    pieces = ["db", ".", "a", "find", "(", ")", "{", "}", "[", "]", "'", '"', "`", "${", "/",
              "*", "//", "\n", "\r\n", ";", ",", ":", "show", " ", "use", "dbs", "1", "-",
              "ü", "😀", "\\", "=", "=>", "function", "$where"]
    rng = random.Random(1234)
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        for statement in split_shell(text):
            assert text[statement.start:statement.end] == statement.text
            assert statement.text.strip() == statement.text != ""


def test_large_text_splits_into_every_statement(monkeypatch) -> None:
    # The splitter's time budget (for the UI thread) is wall-clock: on a loaded machine
    # it may run out, which is the product's fallback, not what this test is about.
    monkeypatch.setattr(shell_split, "SPLIT_BUDGET", 120.0)
    text = "db.a.insertOne({a: 1, b: 'x'})\n" * 20_000
    statements = split_shell(text)
    assert len(statements) == 20_000
    assert statements[-1].line == 20_000
