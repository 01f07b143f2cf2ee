"""How ``dbplay query`` prints results: aligned table, CSV or JSON Lines, streamed.

Rows are written batch by batch as the server sends them, never collected in memory,
so a query over a large table starts printing at once and ``| head`` stops it early.
Only results go to ``out``; the command prints statuses, notices and errors on stderr
(see ``QUERY_EPILOG`` in :mod:`dbplay_desktop.cli` for the formats users rely on).

Values are the user's data, but a value or column name can still carry terminal escapes
(a table restored from a template, a server message): the table format, meant for eyes,
shows them escaped with :func:`~dbplay_desktop.display_text.safe_text`; JSON writes them
as ``\\u`` escapes, which decode to the same data; CSV, meant for files, stays exact.

Each value is written by :mod:`dbplay_desktop.values`, the formatter the grid, copies and
exports use, so NaN, Decimals, datetimes, bytes and documents read the same here as in the
window: CSV fields are its exact text, JSON rows its JSON values (Decimals as exact
numbers, documents nested), and the table its exact text escaped, except that a vector
shows a preview with its size, as in the grid (CSV and JSON carry every float).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from dbplay_desktop.display_text import safe_json, safe_text
from dbplay_desktop.values import (
    MISSING,
    NULL_TEXT,
    Vector,
    is_number,
    json_text,
    normalize,
    plain_text,
    vector_preview,
)

if TYPE_CHECKING:
    from dbplay_desktop.engines.base import StatementResult


class ResultWriter:
    """Prints statement results to ``out`` batch by batch, at most ``limit`` rows each."""

    def __init__(self, out: TextIO, limit: int | None) -> None:
        self.out = out
        self.limit = limit
        self.count = 0  # results printed so far, for separators
        #: Lines for stderr about the last result (the command prints and clears them).
        self.notes: list[str] = []

    def _late_fields(self, result: StatementResult, shown: int) -> None:
        """Note fields a document result added after its header (``shown`` columns) was
        written: rows carry them after the header's columns."""
        names = [column.name for column in (result.columns or [])[shown:]]
        if names:
            self.notes.append(
                f"fields that appeared after the header was written follow its columns in "
                f"each row: {', '.join(names)} (--format json gives whole documents)"
            )

    def rows(self, result: StatementResult) -> Iterator[tuple[list[tuple[Any, ...]], bool]]:
        """The result's batches cut to the limit; the flag says rows were left unprinted."""
        left = self.limit
        for batch in result.batches():
            if left is not None and len(batch) >= left:
                more = len(batch) > left
                if left:
                    yield batch[:left], more
                if not more:  # the limit fell on a batch edge: peek for one more batch
                    more = any(rest for rest in result.batches())
                result.close()
                if more or not left:
                    yield [], more
                return
            if left is not None:
                left -= len(batch)
            yield batch, False

    def write(self, number: int, result: StatementResult) -> None:
        raise NotImplementedError

    def _begin(self, result: StatementResult) -> bool:
        """False for a statement without rows; else a blank line after the previous result."""
        if not result.returns_rows:
            return False
        if self.count:
            self.out.write("\n")
        self.count += 1
        return True

    def failed(self, number: int, result: StatementResult) -> None:
        """A failing statement: only the JSON format reports it on stdout."""


class TableWriter(ResultWriter):
    """psql-like aligned columns; widths come from the header and the first batch.

    A value (or column name) wider than its column is cut with "…", never spilled.
    """

    MAX_WIDTH = 60

    def write(self, number: int, result: StatementResult) -> None:
        if not self._begin(result):
            return
        columns = result.columns or []
        header = [safe_text(column.name) for column in columns]
        widths: list[int] | None = None
        right: list[bool] = []
        shown, truncated = 0, False
        for batch, more in self.rows(result):
            truncated = truncated or more
            cells = [[_table_text(value) for value in row] for row in batch]
            if widths is None:
                header = [safe_text(column.name) for column in result.columns or []]
                widths = [min(self.MAX_WIDTH,
                              max([len(h), *(len(r[i]) for r in cells if i < len(r))]))
                          for i, h in enumerate(header)]
                right = [is_number(batch[0][i]) if batch and i < len(batch[0]) else False
                         for i in range(len(header))]
                self._header(header, widths)
            elif len(result.columns or []) > len(widths):  # fields appeared mid-stream
                for i in range(len(widths), len(result.columns or [])):
                    widths.append(min(self.MAX_WIDTH, max(
                        [len(safe_text(result.columns[i].name)),
                         *(len(r[i]) for r in cells if i < len(r))])))
                    right.append(False)
            for row in cells:
                self._line(row, widths, right)
            shown += len(batch)
            self.out.flush()
        if widths is None:  # no rows at all: still show the header
            widths = [len(h) for h in header]
            self._header(header, widths)
        self._late_fields(result, len(header))
        plural = "row" if shown == 1 else "rows"
        more_text = f"; limited to {self.limit}, more not shown" if truncated else ""
        self.out.write(f"({shown} {plural}{more_text})\n")
        self.out.flush()

    def _header(self, header: list[str], widths: list[int]) -> None:
        self._line(header, widths, [False] * len(header))
        self.out.write("-+-".join("-" * w for w in widths).join("--") + "\n")

    def _line(self, cells: list[str], widths: list[int], right: list[bool]) -> None:
        parts = [
            c.rjust(w) if r else c.ljust(w)
            for c, w, r in zip((_fit(c, w) for c, w in zip(cells, widths, strict=False)),
                               widths, right, strict=False)
        ]
        self.out.write((" " + " | ".join(parts)).rstrip() + "\n")


def _fit(cell: str, width: int) -> str:
    """A cell cut to its column: longer text ends in "…" so the grid stays aligned
    (columns are at most MAX_WIDTH wide, or as wide as the first rows needed)."""
    if len(cell) <= width:
        return cell
    return cell[: max(0, width - 1)] + "…"


class CsvWriter(ResultWriter):
    """A header line then rows; NULL is an empty field; a blank line between results."""

    def write(self, number: int, result: StatementResult) -> None:
        import csv

        if not self._begin(result):
            return
        writer = csv.writer(self.out, lineterminator="\n")
        # With "\n" as line end, csv does not quote a field holding a lone "\r", which
        # readers take for a line break; such rows are written with every field quoted.
        quoted = csv.writer(self.out, lineterminator="\n", quoting=csv.QUOTE_ALL)

        def write_row(fields: list[str]) -> None:
            (quoted if any("\r" in field for field in fields) else writer).writerow(fields)

        header: list[str] | None = None
        for batch, _more in self.rows(result):
            if header is None:  # after the first batch: a document result's fields so far
                header = [column.name for column in result.columns or []]
                write_row(header)
            for row in batch:
                write_row([plain_text(value) for value in row])
            self.out.flush()
        if header is None:
            header = [column.name for column in result.columns or []]
            write_row(header)
        self._late_fields(result, len(header))


class JsonWriter(ResultWriter):
    """JSON Lines: one object per statement, written while its rows stream in.

    Rows are positional arrays under ``columns``; the results of a document engine are
    whole documents instead (``"documents": [{...}, ...]``): each row's fields by name,
    absent fields left out, values in the engine's JSON (relaxed Extended JSON for BSON).
    """

    def write(self, number: int, result: StatementResult) -> None:
        if is_documents(result):
            self._write_documents(number, result)
            return
        import json

        stmt = result.statement
        head: dict[str, Any] = {"statement": number, "line": stmt.line, "column": stmt.column}
        head["columns"] = (
            None if result.columns is None
            else [{"name": c.name, "type": c.type_name} for c in result.columns]
        )
        self.out.write(safe_json(json.dumps(head, ensure_ascii=False))[:-1] + ', "rows": [')
        first, truncated = True, False
        for batch, more in self.rows(result):
            truncated = truncated or more
            for row in batch:
                # MISSING is null here: a row is positional, it cannot leave a field out.
                values = ", ".join(json_text(value) for value in row)
                self.out.write(("" if first else ", ") + safe_json("[" + values + "]"))
                first = False
            self.out.flush()
        tail = {"rowcount": result.rowcount, "status": result.status, "truncated": truncated}
        self.out.write("], " + safe_json(json.dumps(tail, ensure_ascii=False))[1:] + "\n")
        self.out.flush()

    def _write_documents(self, number: int, result: StatementResult) -> None:
        import json

        stmt = result.statement
        head = {"statement": number, "line": stmt.line, "column": stmt.column}
        self.out.write(safe_json(json.dumps(head, ensure_ascii=False))[:-1]
                       + ', "documents": [')
        first, truncated = True, False
        for batch, more in self.rows(result):
            truncated = truncated or more
            names = [column.name for column in result.columns or []]
            for row in batch:
                document = dict(zip(names, row, strict=False))
                self.out.write(("" if first else ", ") + safe_json(json_text(document)))
                first = False
            self.out.flush()
        tail = {"rowcount": result.rowcount, "status": result.status, "truncated": truncated}
        self.out.write("], " + safe_json(json.dumps(tail, ensure_ascii=False))[1:] + "\n")
        self.out.flush()

    def failed(self, number: int, result: StatementResult) -> None:
        import json

        err, stmt = result.error, result.statement
        assert err is not None
        document = {
            "statement": number, "line": stmt.line, "column": stmt.column,
            "error": {"message": err.message, "line": err.line, "column": err.column},
        }
        self.out.write(safe_json(json.dumps(document, ensure_ascii=False)) + "\n")
        self.out.flush()


def is_documents(result: StatementResult) -> bool:
    """Whether ``result`` holds documents (fields by name) rather than positional rows."""
    return getattr(result, "kind", "rows") == "documents"


WRITERS: dict[str, type[ResultWriter]] = {
    "table": TableWriter, "csv": CsvWriter, "json": JsonWriter,
}


def _table_text(value: Any, width: int = TableWriter.MAX_WIDTH) -> str:
    """A table cell: NULL spelled out, an absent field empty, a vector previewed; newlines,
    tabs and every other control or disguising character escaped, so columns stay aligned
    and a terminal stays untouched."""
    if value is None:
        return NULL_TEXT
    if value is MISSING:
        return ""
    value = normalize(value)
    if isinstance(value, Vector):
        return vector_preview(value, width)
    return safe_text(plain_text(value))
