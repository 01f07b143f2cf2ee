"""The mongosh splitter and parser on generated text: random, token soup and mutated shell.

Properties: the splitter never raises and its statements cover the text (what lies
between them is whitespace, ``;`` or comments); the parser either reads every statement
or raises a :class:`QueryError` with one bounded line that points into the text, for any
input -- never another exception, however deep the nesting or big the numbers.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from dbplay_desktop.engines.mongo.shell import allow
from dbplay_desktop.engines.mongo.shell.commands import ShellCommand
from dbplay_desktop.engines.mongo.shell.constructors import CONSTRUCTORS
from dbplay_desktop.engines.mongo.shell.parse import parse_shell
from dbplay_desktop.engines.mongo.shell.split import split_pieces, split_shell
from dbplay_desktop.errors import EngineError, QueryError
from tests.fuzz.support import (
    any_text,
    awkward_text,
    budget,
    check_parsed,
    check_statements,
    mutated,
    nested,
    refusal,
    soup,
)

# --------------------------------------------------------------------------- gaps


_JS_BLANKS = frozenset("\ufeff\u2060\u200b;")


def js_gap_is_ignorable(gap: str) -> bool:
    """Whether ``gap`` holds only what JavaScript ignores: blanks, ``;`` and comments."""
    at, size = 0, len(gap)
    line_start = True
    while at < size:
        rest = gap[at:]
        if rest.startswith("//") or rest.startswith("<!--") or (
                line_start and rest.startswith("-->")):
            newline = gap.find("\n", at)
            at = size if newline < 0 else newline
            continue
        if rest.startswith("/*"):
            close = gap.find("*/", at + 2)
            at = size if close < 0 else close + 2
            continue
        char = gap[at]
        if not (char.isspace() or char in _JS_BLANKS):
            return False
        if char == "\n":
            line_start = True
        elif not char.isspace():
            line_start = False
        at += 1
    return True


# --------------------------------------------------------------------------- generators

JS_TOKENS = [
    "db", ".", "db.a", "db.a.find(", "db.a.insertOne(", "db.getCollection(", "db[", "]", "[",
    "(", ")", "{", "}", ",", ":", ";", "'", '"', "`", "${", "//", "/*", "*/", "<!--", "-->",
    "show", "use", "show collections", "use x", "\n", "find", "sort", "limit", "=>",
    "function", "let", "x", "$where", "$out", "ObjectId(", "ISODate(", "NumberLong(", "new ",
    "1", "-", "0x", "1e999", "9" * 30, "n", "/re/g", "?.", "...", "#x", "#!", "\\u{",
    "\\", "this", "await", "yield", "import", "class",
]

_identifier = st.sampled_from(["a", "x", "_id", "$set", "$gt", "$where", "$function", "ü",
                               "name", "constructor", "__proto__", "$out", "db", "0"]) | \
    st.from_regex(r"[A-Za-z_$][A-Za-z0-9_$]{0,6}", fullmatch=True)

_string = st.text(max_size=10).map(json.dumps) | st.text(
    st.characters(exclude_categories=()), max_size=6).map(lambda s: "'" + s + "'") | \
    st.sampled_from(['"\\u{1F600}"', "'\\x41'", '"\\uD83D\\uDE00"', '"\\uD800"', "'\\0'",
                     "'\\08'", '"\\u{110000}"', '"\\u{FFFFFFFFFF}"', "`tmpl`", "`a${b}`",
                     "'a\\\nb'", '"unterminated', "'\\xZZ'", '"\\q"'])

_number = (
    st.integers(-(10 ** 30), 10 ** 30).map(str)
    | st.floats().map(lambda f: repr(f).replace("inf", "Infinity").replace("nan", "NaN"))
    | st.sampled_from(["0x1F", "0o17", "0b101", "017", "08", "1_000", ".5", "5.", "1n",
                       "-1n", "0x10n", "1e999", "-1e999", "1e-999", "9007199254740993",
                       "9223372036854775808", "-9223372036854775809", "1__0", "0x"])
    | st.integers(300, 6000).map(lambda n: "9" * n)
    | st.integers(100, 4000).map(lambda n: "0x" + "f" * n)
    | st.integers(300, 6000).map(lambda n: "1" * n + "n")
    | st.integers(300, 6000).map(lambda n: "1" * n + ".5e3")
)

_atom = _string | _number | st.sampled_from([
    "true", "false", "null", "undefined", "Infinity", "-Infinity", "NaN", "MinKey", "MaxKey",
    "this", "x", "a + b", "() => 1", "function () {}", "[1,,2]", "{a}", "{[k]: 1}", "/a+/i",
    "/x/gz", "/[/", "`${x}`", "x?.y", "a = 1", "await x", "new Foo()", "Foo()", "+'1'", "-x",
    "!1", "void 0", "typeof x", "a, b", "db.a", "f`x`",
])


def _constructor(args: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    names = st.sampled_from([*CONSTRUCTORS, "Date", "Foo", "ObjectId.call"])
    prefix = st.sampled_from(["", "new "])
    return st.tuples(prefix, names, st.lists(args, max_size=3)).map(
        lambda parts: f"{parts[0]}{parts[1]}({', '.join(parts[2])})")


_constructor_args = _string | _number | st.sampled_from([
    '"507f1f77bcf86cd799439011"', '"2024-01-02T03:04:05Z"', '"2024-02-30"', '"0"', "0",
    '"AAAA"', '"zz"', "4", "-1", "1e20", "{t: 1, i: 2}", '"123e4567-e89b-12d3-a456-426614174000"',
])

_key = _identifier | _string | _number.filter(lambda n: len(n) < 50) | st.just("[k]")

js_value = st.recursive(
    _atom | _constructor(_constructor_args),
    lambda inner: (
        st.lists(st.tuples(_key, inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}")
        | st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
        | inner.map(lambda v: f"({v})")
        | inner.map(lambda v: f"-{v}")
        | _constructor(inner)
    ),
    max_leaves=12,
)

_methods = sorted({*allow.COLLECTION_METHODS, *allow.DATABASE_METHODS, *allow.CURSOR,
                   "foo", "constructor", "__proto__", "getCollection", "eval"})
_target = st.sampled_from([
    "db", "db.a", "db.people", 'db["with space"]', "db['a.b']", 'db.getCollection("x")',
    "db.a.b", 'db[""]', "db[1]", "db[x]", "this", "x", "db?.a", "db.#p", 'db["\\u0000"]',
    "(db)", "db.getCollection(1)", "db.getCollection()",
])


@st.composite
def shell_statement(draw: st.DrawFn) -> str:
    """A statement shaped like a mongosh command (often a valid one)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["show collections", "show dbs", "show tables",
                                     "show databases", "use test", "show", "show foo bar",
                                     "show\tcollections", "use", "  show dbs  "]))
    target = draw(_target)
    method = draw(st.sampled_from(_methods))
    args = draw(st.lists(js_value, max_size=3))
    text = f"{target}.{method}({', '.join(args)})"
    for _ in range(draw(st.integers(0, 3))):
        modifier = draw(st.sampled_from([*sorted(allow.CURSOR), "map", "forEach"]))
        modifier_args = draw(st.lists(js_value, max_size=2))
        text += draw(st.sampled_from([".", "\n.", " .", "\n  ."]))
        text += f"{modifier}({', '.join(modifier_args)})"
    return text


_SEPARATORS = [";", "\n", ";\n", " ", "\n\n", "\n// note\n", "/* c */", "\r\n", "\u2028",
               "; ;", "<!-- c\n", "\n--> c\n", ";\t"]


@st.composite
def shell_script(draw: st.DrawFn) -> str:
    statements = draw(st.lists(shell_statement(), min_size=1, max_size=4))
    text = ""
    for statement in statements:
        text += statement + draw(st.sampled_from(_SEPARATORS))
    return text


_NESTING = [("{a:", "}"), ("[", "]"), ("(", ")"), ("NumberLong(", ")"), ("{$and:[", "]}"),
            ("[{a:", "}]"), ("-(", ")"), ("new Date(", ")"), ("{'k': ", "}"), ("`${", "}`")]
deeply_nested = nested(_NESTING, ["1", "", "x", '"s"', "{}", "ObjectId()"]).map(
    lambda value: f"db.a.find({value})")

shell_text = (
    any_text
    | awkward_text
    | soup(JS_TOKENS)
    | mutated(shell_script(), JS_TOKENS)
    | shell_script()
)


# --------------------------------------------------------------------------- splitter


def _check_split(text: str) -> None:
    pieces = split_pieces(text)
    statements = [piece.statement for piece in pieces]
    check_statements(text, statements, js_gap_is_ignorable)
    assert all(piece.kind in ("js", "show", "use") for piece in pieces)
    assert split_shell(text) == statements


@budget(150)
@given(shell_text)
def test_split_covers_the_text(text: str) -> None:
    _check_split(text)


@budget(20)
@given(deeply_nested)
def test_split_survives_deep_nesting(text: str) -> None:
    _check_split(text)


# --------------------------------------------------------------------------- parser


def _check_command(command: object) -> None:
    assert isinstance(command, ShellCommand)
    allow.changes_state(command)  # never raises on a parsed command


def _check_parse(text: str) -> None:
    check_parsed(parse_shell, text, statements=split_shell, each=_check_command)


@budget(150)
@given(shell_text)
def test_parse_reads_or_refuses_in_one_line(text: str) -> None:
    _check_parse(text)


@budget(150)
@given(shell_script())
def test_parse_shaped_commands(text: str) -> None:
    _check_parse(text)


@budget(20)
@given(deeply_nested)
def test_parse_survives_deep_nesting(text: str) -> None:
    _check_parse(text)


# --------------------------------------------------------------------------- regressions


def _refusal(text: str) -> EngineError:
    return refusal(parse_shell, text, QueryError)


def _value(text: str) -> object:
    (command,) = parse_shell(f"db.a.find({{v: {text}}})")
    return command.calls[0].args[0]["v"]


def test_an_integer_too_big_for_a_float_is_infinity() -> None:
    # 400 digits: beyond a float's range, as in JavaScript.
    assert _value("9" * 400) == float("inf")
    assert _value("-" + "9" * 400) == float("-inf")
    assert _value("0x" + "f" * 400) == float("inf")


def test_an_integer_of_thousands_of_digits_is_a_number() -> None:
    # Python refuses to read integers of more than 4300 digits; JavaScript does not.
    assert _value("1" * 5000) == float("inf")
    assert _value("1" * 5000 + ".5") == float("inf")


def test_a_huge_bigint_is_refused_in_a_short_message() -> None:
    error = _refusal("db.a.find({v: " + "1" * 5000 + "n})")
    assert "64 bits" in str(error)


def test_long_names_are_cut_short_in_messages() -> None:
    for text in ("x" * 10_000 + "()", "db." + "x" * 10_000 + ".foo()",
                 "db.a.find()." + "m" * 10_000 + "()", "show " + "c" * 10_000,
                 "db.a.find({v: ObjectId('" + "z" * 10_000 + "')})",
                 "db.a.find({v: NumberLong('" + "z" * 10_000 + "')})",
                 "db.a.find({v: " + "u" * 10_000 + "})",
                 "db.a.find({v: ISODate('" + "9" * 10_000 + "')})"):
        _refusal(text)


def test_a_directive_after_an_open_bracket_is_its_own_statement() -> None:
    # The "(" reads on past the blanked directive line: the statements must not overlap.
    text = "(\nshow 0\n0"
    pieces = split_pieces(text)
    assert [(piece.kind, piece.statement.text) for piece in pieces] == [
        ("js", "("), ("show", "show 0"), ("js", "0")]
    _check_split(text)
    _refusal(text)


def test_a_code_point_escape_beyond_any_integer_is_refused() -> None:
    # chr() of a number past a C int raises OverflowError, not ValueError.
    for escape in ("\\u{FFFFFFFFFF}", "\\u{110000}"):
        error = _refusal('db.a.find({v: "' + escape + '"})')
        assert "escape" in str(error)
