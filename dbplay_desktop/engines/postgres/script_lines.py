"""The byte side of the plain-SQL reader: lines out of a stream, read in blocks.

Reading line by line through ``readline`` costs a Python call per line, which on a file
of 200 MB of blank lines is minutes. :class:`Lines` reads blocks and skips runs of blank
lines, or of lines that cannot end a statement, with bytes methods written in C; COPY
data is handed on in blocks of many lines, cut only where a line could be its ``\\.``
end marker. Lines the reader read ahead and must look at again are put back in front of
the stream.
"""

from __future__ import annotations

from collections import deque
from typing import IO

#: Bytes asked of the stream at a time.
BLOCK_SIZE = 1024 * 1024
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

    @property
    def has_put_back(self) -> bool:
        """Whether lines put back wait to be read (they are served one at a time)."""
        return bool(self._back)

    def read_copy(self, limit: int, fragment: int, at_line_start: bool) -> tuple[bytes, str]:
        """COPY data up to its end marker, many lines at a time: ``(data, state)``.

        ``state`` is ``"data"`` (``data`` is about ``limit`` bytes or less, never empty),
        ``"end"`` (the end-marker line was read and dropped) or ``"eof"`` (the stream ended
        first). The end marker is exactly what line-by-line reading in pieces of at most
        ``fragment`` bytes finds: a piece at the start of a line that is ``\\.`` once
        trailing CR and LF are stripped; ``at_line_start`` says whether the data so far
        ended with a newline. Call only when :attr:`has_put_back` is false.
        """
        while True:
            buf, pos = self._buf, self._pos
            if len(buf) - pos < 2 and not self._eof:
                self._fill()
                continue
            if pos >= len(buf):
                return b"", "eof"
            if at_line_start and buf.startswith(b"\\.", pos) and self._take_marker(fragment):
                return b"", "end"
            buf, pos = self._buf, self._pos
            stop = min(len(buf), pos + limit)
            # The next line that starts with the two bytes of a marker ends this block.
            found = buf.find(b"\n\\.", pos, stop)
            end = found + 1 if found >= 0 else buf.rfind(b"\n", pos, stop) + 1
            if end <= pos:  # no whole line in view
                if stop - pos >= limit or self._eof:
                    end = stop  # part of a long line (or the last bytes): never a marker
                else:
                    self._fill()
                    continue
            data = buf[pos:end]
            self._pos = end
            self.line += data.count(b"\n")
            return data, "data"

    def _take_marker(self, fragment: int) -> bool:
        """At a line start holding ``\\.``: consume the piece and say True if it is the
        end marker, else consume nothing and say False."""
        while True:
            pos = self._pos
            newline = self._buf.find(b"\n", pos, pos + fragment)
            if newline >= 0 or len(self._buf) - pos >= fragment or not self._fill():
                break
        pos = self._pos
        end = newline + 1 if newline >= 0 else min(len(self._buf), pos + fragment)
        if self._buf[pos:end].rstrip(b"\r\n") != b"\\.":
            return False
        self._take(end)
        return True

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
