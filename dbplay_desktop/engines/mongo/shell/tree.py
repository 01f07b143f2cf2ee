"""The one tree-sitter JavaScript parser, and where its byte offsets are in a Python str.

tree-sitter counts UTF-8 bytes; the editor, :class:`~dbplay_desktop.engines.base.Statement`
and :class:`~dbplay_desktop.errors.QueryError` count characters. :class:`SourceText` keeps
the encoded text and turns a node's byte offset into a character offset (one line at a
time, so a long script is never decoded twice), and :class:`Where` turns a node into a
one-line :class:`QueryError` at the right line and column of the user's whole text.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_right
from functools import lru_cache
from typing import TYPE_CHECKING

from dbplay_desktop.engines.base import LineIndex
from dbplay_desktop.engines.quoting import MESSAGE_LIMIT, clip
from dbplay_desktop.errors import QueryError

if TYPE_CHECKING:
    from tree_sitter import Language, Node, Parser, Tree

_CHUNK = 1 << 16


_LOCAL = threading.local()


@lru_cache(maxsize=1)
def _language() -> Language:
    """Loaded once: reading the grammar is the slow part."""
    import tree_sitter_javascript
    from tree_sitter import Language

    return Language(tree_sitter_javascript.language())


def _parser() -> Parser:
    """One parser per thread: the editor splits on the UI thread while a worker parses,
    and a tree-sitter parser must not be shared between threads."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        from tree_sitter import Parser

        parser = _LOCAL.parser = Parser(_language())
    return parser


def parse_bytes(data: bytes, budget: float | None = None) -> Tree | None:
    """The syntax tree of UTF-8 ``data`` (tree-sitter recovers from any error), or None
    when parsing takes longer than ``budget`` seconds (hostile input can take many)."""
    parser = _parser()
    if budget is None:
        return parser.parse(data)
    deadline = time.monotonic() + budget

    def read(offset: int, _point: object) -> bytes:
        return data[offset:offset + _CHUNK]

    def overdue(*_state: object) -> bool:
        return time.monotonic() > deadline

    try:
        return parser.parse(read, progress_callback=overdue)
    except ValueError:  # cancelled by the callback
        parser.reset()
        return None




def encode(text: str) -> bytes:
    """UTF-8 that never fails: a lone surrogate from the editor is kept as its 3 bytes."""
    return text.encode("utf-8", "surrogatepass")


class SourceText:
    """``text`` with its UTF-8 bytes, mapping byte offsets back to character offsets."""

    def __init__(self, text: str, data: bytes | None = None) -> None:
        self.text = text
        self.data = encode(text) if data is None else data
        self.ascii = len(self.data) == len(text)
        self._byte_lines: list[int] | None = None
        self._char_lines: list[int] | None = None

    def _lines(self) -> tuple[list[int], list[int]]:
        """Where each line starts, in bytes and in characters (built on first use)."""
        if self._byte_lines is None or self._char_lines is None:
            byte_lines, char_lines = [0], [0]
            find_b, find_c = self.data.find, self.text.find
            b, c = find_b(b"\n"), find_c("\n")
            while b >= 0 and c >= 0:
                byte_lines.append(b + 1)
                char_lines.append(c + 1)
                b, c = find_b(b"\n", b + 1), find_c("\n", c + 1)
            self._byte_lines, self._char_lines = byte_lines, char_lines
        return self._byte_lines, self._char_lines

    def char(self, byte_offset: int) -> int:
        """The character offset of ``byte_offset`` (clamped into the text)."""
        byte_offset = max(0, min(byte_offset, len(self.data)))
        if self.ascii:
            return byte_offset
        byte_lines, char_lines = self._lines()
        row = bisect_right(byte_lines, byte_offset) - 1
        head = self.data[byte_lines[row]:byte_offset]
        try:
            width = len(head.decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError:  # an offset inside a character: count whole ones
            width = len(head.decode("utf-8", "ignore"))
        return char_lines[row] + width

    def node_text(self, node: Node) -> str:
        """The characters ``node`` spans."""
        return self.data[node.start_byte:node.end_byte].decode("utf-8", "replace")


class Where:
    """Locates nodes of one statement's tree in the user's whole text, for errors."""

    def __init__(self, source: SourceText, offset: int, index: LineIndex) -> None:
        self.source = source  # the statement's text
        self.offset = offset  # where the statement starts in the whole text
        self.index = index  # lines of the whole text

    def position(self, node: Node | None) -> int:
        """The 0-based character offset of ``node`` in the whole text."""
        return self.offset + (self.source.char(node.start_byte) if node is not None else 0)

    def locate(self, node: Node | None) -> tuple[int, int]:
        """The 1-based line and column of ``node`` in the whole text."""
        return self.index.locate(self.position(node))

    def error(self, what: str, node: Node | None) -> QueryError:
        """``QueryError("<what> at line L, column C")`` pointing at ``node``."""
        position = self.position(node)
        line, column = self.index.locate(position)
        what = clip(what, MESSAGE_LIMIT)
        return QueryError(f"{what} at line {line}, column {column}", line=line, column=column,
                          position=position)

    def snippet(self, node: Node, limit: int = 30) -> str:
        """A short one-line quote of ``node`` for a message."""
        return clip(self.source.node_text(node), limit)


def first_problem(root: Node) -> Node | None:
    """The first ERROR or MISSING node in document order (iterative: any depth)."""
    if not root.has_error:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None
