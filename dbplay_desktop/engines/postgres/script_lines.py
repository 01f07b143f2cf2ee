"""The byte side of the plain-SQL reader: lines out of a stream, read in blocks.

Reading line by line through ``readline`` costs a Python call per line, which on a file
of 200 MB of blank lines is minutes. :class:`Lines` reads blocks and skips runs of blank
lines, or of lines that cannot end a statement, with bytes methods written in C. Lines
the reader read ahead and must look at again are put back in front of the stream.
"""

from __future__ import annotations

from collections import deque
from typing import IO

#: Bytes asked of the stream at a time.
BLOCK_SIZE = 256 * 1024
#: PostgreSQL's whitespace (its lexer's ``space``); Python's ``strip()`` knows more.
SQL_SPACE = " \t\n\r\f\v"
_SPACE_BYTES = SQL_SPACE.encode()
_WINDOW = 64 * 1024


class Lines:
    """Lines of a byte stream, counted; ``line`` is the number of lines fully read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._read = stream.read
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._back: deque[bytes] = deque()  # lines put back, served first
        self.line = 0

    def _fill(self) -> bool:
        """Read another block after what is left; False at the end of the stream."""
        if self._eof:
            return False
        data = self._read(BLOCK_SIZE)
        if not data:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def _take(self, end: int) -> bytes:
        data = self._buf[self._pos : end]
        self._pos = end
        if data.endswith(b"\n"):
            self.line += 1
        return data

    def read_line(self, limit: int) -> bytes:
        """The next line with its newline; only ``limit`` bytes of a longer one; ``b""`` at
        the end of the stream."""
        if self._back:
            return self._counted(self._back.popleft())
        search = self._pos
        while True:
            newline = self._buf.find(b"\n", search, self._pos + limit)
            if newline >= 0:
                return self._take(newline + 1)
            if len(self._buf) - self._pos >= limit:
                return self._take(self._pos + limit)
            search = len(self._buf) - self._pos
            if not self._fill():
                return self._take(len(self._buf))
            search += self._pos

    def read_fragment(self, size: int) -> bytes:
        """At most ``size`` bytes, up to and including the next newline; ``b""`` at the end."""
        return self.read_line(size)

    def read_plain(self, limit: int) -> bytes:
        """Whole lines, at most ``limit`` bytes, up to the first that holds ``;`` or ``\\``.

        Such lines can neither end a statement nor be a psql meta-command, so the reader
        takes them in one piece. ``b""`` when the next line is not one of them.
        """
        if self._back:
            return b""
        buf, pos = self._buf, self._pos
        if pos >= len(buf) and not self._fill():
            return b""
        buf, pos = self._buf, self._pos
        end = min(len(buf), pos + limit)
        for stop_byte in (b";", b"\\"):
            found = buf.find(stop_byte, pos, end)
            if found >= 0:
                end = found
        newline = buf.rfind(b"\n", pos, end)
        if newline < 0:
            return b""
        data = buf[pos : newline + 1]
        self._pos = newline + 1
        self.line += data.count(b"\n")
        return data

    def skip_space(self) -> None:
        """Skip whitespace (blank lines, and the indentation of the next line)."""
        if self._back:
            return
        while True:
            end = min(len(self._buf), self._pos + _WINDOW)
            chunk = self._buf[self._pos : end]
            rest = chunk.lstrip(_SPACE_BYTES)
            skipped = len(chunk) - len(rest)
            self.line += chunk.count(b"\n", 0, skipped)
            self._pos += skipped
            if rest:
                return
            if self._pos >= len(self._buf) and not self._fill():
                return

    def skip_bom(self) -> None:
        """Skip a UTF-8 byte order mark at the very start of the stream."""
        if self._pos or self.line:
            return
        while len(self._buf) < 3 and self._fill():
            pass
        if self._buf.startswith(b"\xef\xbb\xbf"):
            self._pos = 3

    def unread(self, pieces: list[bytes]) -> None:
        """Put ``pieces`` (whole lines, the last maybe cut short) back, in order, in
        front of everything not yet read."""
        lines: list[bytes] = []
        for piece in pieces:
            *whole, tail = piece.split(b"\n")
            lines.extend(line + b"\n" for line in whole)
            if tail:
                lines.append(tail)
        self._back.extendleft(reversed(lines))
        self.line -= sum(1 for line in lines if line.endswith(b"\n"))

    def _counted(self, line: bytes) -> bytes:
        if line.endswith(b"\n"):
            self.line += 1
        return line
