"""Cutting mongosh text into the statements mongosh would run, with a real JS parser.

Statements are tree-sitter's top-level statements, so JavaScript's automatic semicolon
insertion decides where one ends (``db.a.find()`` on one line and ``.limit(2)`` on the next
are ONE statement). ``show dbs`` and ``use x`` are not JavaScript: tree-sitter reads them
as an identifier followed by an error or a MISSING ``;``. A line whose first token (in the
tree: an ``identifier``, not a string or a comment) is ``show`` or ``use`` followed by a
word is cut as a *directive*; its text is blanked (same byte length) and the rest parsed
again, so the directive cannot swallow or split the JavaScript around it.

Pure and fast: the editor calls it on its own thread. Never raises: text tree-sitter
cannot make sense of comes out as statements covering it, for the parser to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from dbplay_desktop.engines.base import LineIndex, Statement
from dbplay_desktop.engines.mongo.shell.tree import SourceText, encode, parse_bytes

if TYPE_CHECKING:
    from tree_sitter import Node

#: Seconds the splitter may parse (it runs on the UI thread); beyond, the text is one
#: statement and the parser (on a worker) judges it.
SPLIT_BUDGET = 1.0
#: Words that start a mongosh directive line (not JavaScript).
DIRECTIVES = ("show", "use")
#: A directive may only sit where a statement starts (not inside a call's arguments).
_TOP_LEVEL = frozenset({"program", "ERROR", "expression_statement"})
#: Top-level nodes that are no statement of their own.
_SKIPPED = frozenset({"comment", "empty_statement", ";", "html_comment"})
#: Children that do not count towards a statement's extent (trailing ``;`` and comments).
_EDGES = frozenset({"comment", ";", "html_comment"})


@dataclass(frozen=True)
class Piece:
    """A statement and what it is: ``"js"``, or the directive word (``"show"``/``"use"``)."""

    statement: Statement
    kind: str


def split_shell(text: str) -> list[Statement]:
    """The statements of the editor's ``text``, in order, without ``;`` or comments around them."""
    return [piece.statement for piece in split_pieces(text)]


def split_pieces(text: str) -> list[Piece]:
    """Like :func:`split_shell`, saying which statements are ``show``/``use`` directives."""
    return list(_split_cached(text))


@lru_cache(maxsize=8)
def _split_cached(text: str) -> tuple[Piece, ...]:
    """The editor asks again for the same text (marks, run, cursor): cut it once."""
    try:
        return tuple(_split(text))
    except Exception:  # never raise on the UI thread: the whole text, for the parser to judge
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        if start >= end:
            return ()
        return (Piece(Statement.at(text, start, end), "js"),)


def _split(text: str) -> list[Piece]:
    if not text.strip():
        return []
    source = SourceText(text)
    index = LineIndex(text)
    tree = parse_bytes(source.data, SPLIT_BUDGET)
    if tree is None:
        raise TimeoutError  # the whole text as one statement (see _split_cached)
    directives = _directives(text, source, tree.root_node)
    data = source.data
    if directives:
        blanked = bytearray(data)
        for b_start, b_end, _ in directives:
            blanked[b_start:b_end] = b" " * (b_end - b_start)
        data = bytes(blanked)
        tree = parse_bytes(data, SPLIT_BUDGET)
        if tree is None:
            raise TimeoutError
    spans: list[tuple[int, int, str]] = [
        (source.char(b_start), source.char(b_end), word) for b_start, b_end, word in directives
    ]
    lines = [(start, end) for start, end, _ in spans]
    for b_start, b_end in _statement_spans(tree.root_node):
        spans.extend(_outside(source.char(b_start), source.char(b_end), lines))
    spans.sort()
    pieces = []
    for start, end, kind in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            pieces.append(Piece(Statement.at(text, start, end, index), kind))
    return pieces


def _outside(start: int, end: int, directives: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """The JavaScript span ``start..end`` without the directive lines inside it.

    A bracket left open before a directive line makes tree-sitter read on past it (the
    directive is blanked); the statement is cut there, so no two statements overlap.
    """
    pieces = []
    for d_start, d_end in sorted(directives):
        if d_end <= start or d_start >= end:
            continue
        if start < d_start:
            pieces.append((start, d_start, "js"))
        start = max(start, d_end)
    if start < end:
        pieces.append((start, end, "js"))
    return pieces


def _statement_spans(root: Node) -> list[tuple[int, int]]:
    """Byte spans of the top-level statements.

    When tree-sitter could not even make a program (the root is an ERROR), its children
    are pieces: complete statements stand alone, runs of the rest (up to a ``;``) are one
    statement each, so a broken call is not cut into its tokens.
    """
    spans: list[tuple[int, int]] = []
    if root.type == "program":
        for node in root.children:
            if node.type not in _SKIPPED:
                bounds = _extent(node)
                if bounds is not None:
                    spans.append(bounds)
        return spans
    run: list[int] = []
    for node in root.children:
        if node.type in ("comment", "html_comment"):
            continue
        whole = node.type.endswith(("_statement", "_declaration")) and not node.has_error
        if (whole or node.type == ";") and run:
            spans.append((run[0], run[1]))
            run = []
        if whole:
            bounds = _extent(node)
            if bounds is not None:
                spans.append(bounds)
        elif node.type != ";":
            run = [run[0] if run else node.start_byte, node.end_byte]
    if run:
        spans.append((run[0], run[1]))
    return spans


def _extent(node: Node) -> tuple[int, int] | None:
    """``node``'s byte span without a leading/trailing comment or the closing ``;``."""
    children = [child for child in node.children if child.type not in _EDGES]
    if not node.children:
        return node.start_byte, node.end_byte
    if not children:
        return None  # only comments and semicolons (inside an ERROR)
    return children[0].start_byte, children[-1].end_byte


def _directives(text: str, source: SourceText, root: Node) -> list[tuple[int, int, str]]:
    """``(byte start, byte end, word)`` of each ``show x`` / ``use x`` line."""
    found = []
    b_offset = 0
    for line in text.split("\n"):
        b_line_start = b_offset
        b_offset += (len(line) if source.ascii else len(encode(line))) + 1
        body = line.lstrip()
        word = next((w for w in DIRECTIVES if body.startswith(w)), None)
        if word is None:
            continue
        rest = body[len(word):]
        if not rest[:1].isspace():
            continue
        argument = _cut_argument(rest)
        if not argument or not (argument[0].isalnum() or argument[0] in "_$-"):
            continue
        indent = line[:len(line) - len(body)]
        written = body[:len(word) + len(rest) - len(rest.lstrip()) + len(argument)]
        b_start = b_line_start + (len(indent) if source.ascii else len(encode(indent)))
        b_end = b_start + (len(written) if source.ascii else len(encode(written)))
        if _is_statement_start(root, b_start, b_start + len(word)):
            found.append((b_start, b_end, word))
    return found


def _cut_argument(rest: str) -> str:
    """The directive's argument: up to a ``;``, a comment or the end of the line."""
    stop = len(rest)
    for mark in (";", "//", "/*"):
        at = rest.find(mark)
        if 0 <= at < stop:
            stop = at
    return rest[:stop].strip()


def _is_statement_start(root: Node, b_start: int, b_end: int) -> bool:
    """Whether the identifier at ``b_start..b_end`` starts a statement in the tree."""
    node = root.descendant_for_byte_range(b_start, b_end)
    if node is None or node.type != "identifier" or node.start_byte != b_start:
        return False
    parent = node.parent
    while parent is not None:
        if parent.type not in _TOP_LEVEL:
            return False
        if parent.type == "expression_statement" and parent.start_byte != b_start:
            return False
        parent = parent.parent
    return True
