"""The Chroma call splitter and parser on generated text: random, token soup and mutated calls.

Properties: the splitter never raises and its statements cover the text (what lies
between them is whitespace, ``;``, comments or a line continuation); the parser either
reads every call or raises a :class:`QueryError` with one bounded line that points into
the text -- never another exception, however deep the nesting or big the numbers.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dbplay_desktop.engines.chroma.calls import allow
from dbplay_desktop.engines.chroma.calls.commands import ChromaCall
from dbplay_desktop.engines.chroma.calls.parse import parse_calls
from dbplay_desktop.engines.chroma.calls.split import split_calls
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


def python_gap_is_ignorable(gap: str) -> bool:
    """Whether ``gap`` holds only what Python ignores between statements: blanks, ``;``,
    comments and backslash line continuations."""
    at, size = 0, len(gap)
    while at < size:
        char = gap[at]
        if char == "#":
            ends = [found for found in (gap.find("\n", at), gap.find("\r", at)) if found >= 0]
            at = min(ends) if ends else size
            continue
        if char == "\\" and gap[at + 1:at + 2] in ("\n", "\r"):
            at += 1
            continue
        if not (char.isspace() or char == ";"):
            return False
        at += 1
    return True


# --------------------------------------------------------------------------- generators

PY_TOKENS = [
    "docs", ".", "get", "query", "add", "(", ")", "[", "]", "{", "}", ",", ":", ";", "=",
    "'", '"', '"""', "'''", "#", "\\", "\n", "\r", "\r\n", "    ", "\t", "collection(",
    "list_collections()", "ids=", "where=", "include=", "n_results=", "**", "*", "lambda",
    "import os", "__class__", "f'", "b'", "r'", "1", "-", "0x", "1e999", "1j", "9" * 30, "@",
    "if", "else", "not", "await", "yield", "async", ":=", "...", "\x00", "\x0c",
]

_name = st.sampled_from(["docs", "my_docs", "ü", "__class__", "collection", "x", "_"]) | \
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)

_string = st.text(max_size=10).map(repr) | st.text(
    st.characters(exclude_categories=()), max_size=6).map(lambda s: '"' + s + '"') | \
    st.sampled_from(["'\\N{BULLET}'", "'\\N{NOPE}'", "'\\x4'", "'\\777'", "b'x'", "f'{x}'",
                     "r'\\d'", "'''tri\nple'''", "'un", '"\\u00e9"', "'\\ud800'", "u'x'",
                     "'a' 'b'", "rb'x'"])

_number = (
    st.integers(-(10 ** 30), 10 ** 30).map(str)
    | st.floats().map(repr).map(lambda f: f.replace("inf", "1e999").replace("nan", "0.0"))
    | st.sampled_from(["0x1F", "0o17", "0b101", "017", "1_000", ".5", "5.", "1e999",
                       "-1e999", "1j", "1e-999", "0", "-0", "+1", "--1", "1__0", "0x"])
    | st.integers(4000, 6000).map(lambda n: "9" * n)
    | st.integers(3500, 5000).map(lambda n: "0x" + "f" * n)
    | st.integers(300, 6000).map(lambda n: "1" * n + ".5")
)

_atom = _string | _number | st.sampled_from([
    "True", "False", "None", "x", "...", "a + b", "lambda: 1", "[i for i in x]", "{1, 2}",
    "f(1)", "x.y", "x[0]", "*x", "not x", "1 if x else 2", "(yield)", "await x", "(a := 1)",
    "-x", "~1", "__import__('os')", "{**x}", "{1: 2}", "()",
])

_key = _string | _number.filter(lambda n: len(n) < 40) | st.sampled_from(["x", "None"])

py_value = st.recursive(
    _atom,
    lambda inner: (
        st.lists(st.tuples(_key, inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}")
        | st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
        | st.lists(inner, max_size=3).map(lambda items: "(" + ", ".join(items) + ",)")
        | inner.map(lambda v: f"({v})")
        | inner.map(lambda v: f"-{v}")
    ),
    max_leaves=12,
)

_methods = sorted({*allow.CLIENT_METHODS, *allow.COLLECTION_METHODS, "nope", "__init__"})
_parameters = sorted({*allow.CHECKS, "nope", "__dict__"})


@st.composite
def chroma_call(draw: st.DrawFn) -> str:
    """A statement shaped like a Chroma call (often a valid one)."""
    method = draw(st.sampled_from(_methods))
    owner = draw(st.sampled_from(["", "docs.", 'collection("my-docs").', "collection().",
                                  "collection('').", "a.b.", "x[0].", "f().", "__x__.",
                                  "collection(1)."]))
    positional = draw(st.lists(py_value, max_size=2))
    keywords = draw(st.lists(st.tuples(st.sampled_from(_parameters), py_value), max_size=3))
    arguments = [*positional, *(f"{name}={value}" for name, value in keywords)]
    if draw(st.integers(0, 9)) == 0:
        arguments.append(draw(st.sampled_from(["*x", "**x", "ids"])))
    return f"{owner}{method}({', '.join(arguments)})"


_SEPARATORS = ["\n", ";", "; ", "\r\n", "\r", "\n# note\n", "  # c\n", "\n\n", ";;", "\n  ",
               "\\\n", "\x0c\n", " "]


@st.composite
def chroma_script(draw: st.DrawFn) -> str:
    calls = draw(st.lists(chroma_call(), min_size=1, max_size=4))
    return "".join(call + draw(st.sampled_from(_SEPARATORS)) for call in calls)


_NESTING = [("[", "]"), ("{'a': ", "}"), ("(", ")"), ("(", ",)"), ("-(", ")"), ("[{'a': ", "}]"),
            ("not ", ""), ("-", ""), ("lambda: ", ""), ("f(", ")"), ("x.", "")]
deeply_nested = nested(_NESTING, ["1", "", "x", "'s'", "[]"]).map(
    lambda value: f"docs.get(where={value})")

calls_text = (
    any_text
    | awkward_text
    | soup(PY_TOKENS)
    | mutated(chroma_script(), PY_TOKENS)
    | chroma_script()
)


# --------------------------------------------------------------------------- splitter


def _check_split(text: str) -> None:
    check_statements(text, split_calls(text), python_gap_is_ignorable)


@budget(150)
@given(calls_text)
def test_split_covers_the_text(text: str) -> None:
    _check_split(text)


@budget(20)
@given(deeply_nested)
def test_split_survives_deep_nesting(text: str) -> None:
    _check_split(text)


# --------------------------------------------------------------------------- parser


def _check_call(call: object) -> None:
    assert isinstance(call, ChromaCall)
    allow.changes_state(call)  # never raises on a parsed call


def _check_parse(text: str) -> None:
    check_parsed(parse_calls, text, each=_check_call)


@budget(150)
@given(calls_text)
def test_parse_reads_or_refuses_in_one_line(text: str) -> None:
    _check_parse(text)


@budget(150)
@given(chroma_script())
def test_parse_shaped_calls(text: str) -> None:
    _check_parse(text)


@budget(20)
@given(deeply_nested)
def test_parse_survives_deep_nesting(text: str) -> None:
    _check_parse(text)


# --------------------------------------------------------------------------- regressions


def _refusal(text: str) -> EngineError:
    return refusal(parse_calls, text, QueryError)


def test_a_huge_number_in_include_is_refused_in_a_short_message() -> None:
    # repr() of an int of more than 4300 digits raises ValueError.
    error = _refusal("docs.get(include=[0x" + "f" * 4000 + "])")
    assert "include=" in str(error)


def test_long_names_are_cut_short_in_messages() -> None:
    for text in ("x" * 10_000 + "()", "docs." + "m" * 10_000 + "()",
                 "docs.get(" + "k" * 10_000 + "=1)",
                 "docs.get(where={'" + "k" * 10_000 + "': 1, '" + "k" * 10_000 + "': 2})",
                 "docs.get(ids=" + "v" * 10_000 + ")",
                 "docs.get(include=['" + "i" * 10_000 + "'])"):
        _refusal(text)
