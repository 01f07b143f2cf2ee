"""Copy formats (TSV, CSV, JSON, Markdown) and whole-result export files (CSV, JSON).

Pure Python, no Qt: the results view calls these on the UI thread for a selection and on
a worker thread for a file export. Values are turned into text by
:mod:`dbplay_desktop.values` (the rules per type are listed there), so a copy shows
exactly what an export and ``dbplay query`` write.

Format rules, chosen so that a copy can be pasted back without losing information:

* TSV and CSV quote a field (``"..."`` with ``""`` for a quote) only when it holds the
  delimiter, a quote or a line break -- and always quote an empty string, so NULL (an
  empty, unquoted field, as database CSV dumps write it) stays distinct from ``''``.
  Spreadsheets read both forms. A field absent from a document (``MISSING``) is empty
  too: CSV cannot tell it from NULL.
* JSON is an array of objects, one per line; duplicate column names get ``_2``, ``_3``
  suffixes so no value is lost; values keep their JSON types (see :func:`values.json_text`);
  a MISSING field is left out of its object.
* Markdown escapes ``|``, turns line breaks into ``<br>``, shows NULL as ``*NULL*`` and a
  MISSING field as an empty cell.
* Clipboard texts have no trailing newline; files end with one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dbplay_desktop.atomic_file import PendingFile
from dbplay_desktop.values import MISSING, json_text, plain_text

Row = Sequence[Any]
#: (rows written, total rows or None) -> True to stop the export.
ExportProgress = Callable[[int, "int | None"], "bool | None"]

COPY_FORMATS = ("tsv", "csv", "json", "markdown")
EXPORT_FORMATS = ("csv", "json")


class ExportCancelled(Exception):
    """The export was stopped by the user; the target file was left untouched."""


# --------------------------------------------------------------------------- names


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique for JSON keys: the second ``id`` becomes ``id_2``.

    A suffix is never one of the original names, so ``["a", "a", "a_2"]`` gives
    ``["a", "a_3", "a_2"]``.
    """
    taken = set(names)
    seen: set[str] = set()
    result: list[str] = []
    for name in names:
        if name not in seen:
            seen.add(name)
            result.append(name)
            continue
        number = 2
        while f"{name}_{number}" in taken:
            number += 1
        candidate = f"{name}_{number}"
        taken.add(candidate)
        result.append(candidate)
    return result


# --------------------------------------------------------------------------- delimited


def delimited_field(value: Any, delimiter: str) -> str:
    """One TSV/CSV field: NULL is empty, ``''`` is ``""``, special characters are quoted."""
    if value is None or value is MISSING:
        return ""
    text = plain_text(value)
    if text == "" or delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def iter_delimited(
    names: Sequence[str], rows: Iterable[Row], delimiter: str, *, header: bool
) -> Iterator[str]:
    """The records of a TSV/CSV text, one string per row, without line ends."""
    if header:
        yield delimiter.join(delimited_field(name, delimiter) for name in names)
    for row in rows:
        yield delimiter.join(delimited_field(value, delimiter) for value in row)


# --------------------------------------------------------------------------- JSON


def iter_json(names: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    """The lines of a JSON array of objects, one object per line, without line ends."""
    keys = [json_text(name) for name in unique_names(names)]
    first = True
    yield "["
    for row in rows:
        pairs = zip(keys, row, strict=False)
        body = ", ".join(f"{key}: {json_text(value)}" for key, value in pairs
                         if value is not MISSING)
        if first:
            first = False
            yield "  {" + body + "}"
        else:
            yield ",\n  {" + body + "}"  # the comma joins the previous line
    yield "]"


def _join_json(lines: Iterable[str]) -> str:
    parts = list(lines)
    if len(parts) == 2:  # no rows
        return "[]"
    # Lines after the first object already start with ",\n"; the others need a newline.
    out = [parts[0], "\n", parts[1]]
    out.extend(parts[2:-1])
    out.extend(["\n", parts[-1]])
    return "".join(out)


# --------------------------------------------------------------------------- Markdown


def markdown_cell(value: Any) -> str:
    if value is None:
        return "*NULL*"
    if value is MISSING:
        return ""
    text = plain_text(value).replace("\\|", "\\\\|").replace("|", "\\|")
    return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def iter_markdown(names: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    yield "| " + " | ".join(markdown_cell(name) for name in names) + " |"
    yield "|" + "|".join(" --- " for _ in names) + "|"
    for row in rows:
        yield "| " + " | ".join(markdown_cell(value) for value in row) + " |"


# --------------------------------------------------------------------------- clipboard


def copy_text(fmt: str, names: Sequence[str], rows: Iterable[Row], *, header: bool = True) -> str:
    """The clipboard text of ``rows`` in ``fmt`` (one of :data:`COPY_FORMATS`).

    ``header`` applies to TSV and CSV; JSON and Markdown always carry the names.
    """
    if fmt == "tsv":
        return "\n".join(iter_delimited(names, rows, "\t", header=header))
    if fmt == "csv":
        return "\n".join(iter_delimited(names, rows, ",", header=header))
    if fmt == "json":
        return _join_json(iter_json(names, rows))
    if fmt == "markdown":
        return "\n".join(iter_markdown(names, rows))
    raise ValueError(f"unknown copy format {fmt!r}; expected one of {', '.join(COPY_FORMATS)}")


# --------------------------------------------------------------------------- files


def export_file(
    path: str | os.PathLike[str],
    fmt: str,
    names: Sequence[str],
    rows: Iterable[Row],
    *,
    total: int | None = None,
    progress: ExportProgress | None = None,
    every: int = 1000,
) -> int:
    """Write ``rows`` to ``path`` as CSV (with a header) or JSON; return the row count.

    The file is put in place only when complete (:class:`~dbplay_desktop.atomic_file.
    PendingFile`), so a failed, cancelled or killed export never leaves a half-written
    file and a file already there keeps its content until then.
    ``progress(done, total)`` is called every ``every`` rows and at the end; returning
    True stops the export with :class:`ExportCancelled`.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected csv or json")
    target = Path(path)
    pending = PendingFile(target)
    done = 0
    try:
        with pending.open("w", encoding="utf-8", newline="") as out:
            if fmt == "csv":
                out.write(next(iter_delimited(names, (), ",", header=True)) + "\n")
                for row in rows:
                    out.write(",".join(delimited_field(v, ",") for v in row) + "\n")
                    done += 1
                    if progress is not None and done % every == 0 and progress(done, total):
                        raise ExportCancelled(f"export to {target} cancelled")
            else:
                lines = iter_json(names, rows)
                out.write(next(lines))
                for line in lines:
                    if line == "]":
                        out.write("\n]\n")
                        break
                    out.write(line if done else "\n" + line)
                    done += 1
                    if progress is not None and done % every == 0 and progress(done, total):
                        raise ExportCancelled(f"export to {target} cancelled")
        if progress is not None and progress(done, total):
            raise ExportCancelled(f"export to {target} cancelled")
        pending.publish()
    finally:
        pending.discard()
    return done
