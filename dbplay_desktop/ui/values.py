"""How cell values look as text: in the grid, in tooltips, in copies and in exports.

Engines hand the UI raw Python values (None, str, int, Decimal, bytes, datetime, UUID,
dict/list documents, ...) and never turn them into strings; this module is the one place
that does, so the grid, the clipboard and the export files always agree. Pure Python,
no Qt, so it is cheap to import and easy to test.

Conventions (chosen to match what PostgreSQL's own tools print):

* bytes are written as ``\\x`` followed by hex digits (the PostgreSQL ``bytea`` hex form);
* booleans are ``true`` / ``false``; floats that are not finite are ``NaN``, ``Infinity``,
  ``-Infinity``;
* dates and times are ISO 8601 with a space between date and time;
* dict/list values become JSON with every nested value converted the same way, and
  ``Decimal`` kept as an exact JSON number.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: How the grid shows SQL NULL (styled differently from text by the model).
NULL_TEXT = "NULL"
#: Characters of a value shown in a grid cell before it is cut with an ellipsis.
DISPLAY_LIMIT = 200
#: Characters shown in a cell's tooltip before it is cut.
TOOLTIP_LIMIT = 2000
#: Byte strings up to this length are shown in full hex in the grid; longer ones by size.
BYTES_PREVIEW_LIMIT = 16
ELLIPSIS = "…"

NUMERIC_TYPE_NAMES = frozenset(
    {
        "int", "int2", "int4", "int8", "integer", "smallint", "bigint", "serial", "bigserial",
        "numeric", "decimal", "real", "float", "float4", "float8", "double", "double precision",
        "money", "oid", "number", "long",
    }
)  # fmt: skip


def is_number(value: Any) -> bool:
    """True for values the grid right-aligns (bool is not a number here)."""
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def is_numeric_type(type_name: str) -> bool:
    """Whether a column type name is numeric, so even its NULLs align right."""
    base = type_name.lower().split("(", 1)[0].strip()
    return base in NUMERIC_TYPE_NAMES


def float_text(value: float) -> str:
    """Shortest round-tripping text of a float, with PostgreSQL's names for non-finite ones."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def bytes_text(value: bytes | bytearray | memoryview) -> str:
    """The full ``\\x`` hex form of a byte string."""
    return "\\x" + bytes(value).hex()


def _scalar_text(value: Any) -> str | None:
    """Text of a non-container value, or None when ``value`` is a container."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return None
    return str(value)  # timedelta, UUID, ObjectId, IP addresses, ranges, ...


def plain_text(value: Any) -> str:
    """The full text of a value for copies and exports; NULL becomes an empty string."""
    if value is None:
        return ""
    text = _scalar_text(value)
    return text if text is not None else json_text(value)


# --------------------------------------------------------------------------- JSON


def _json_key(key: Any) -> str:
    text = plain_text(key) if key is not None else "null"
    return json.dumps(text, ensure_ascii=False)


def _json_scalar(value: Any) -> str | None:
    """JSON text of a scalar, or None when ``value`` is a container."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(float_text(value))
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(float_text(float(value)))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        return None
    return json.dumps(_scalar_text(value), ensure_ascii=False)


def json_text(value: Any, indent: int | None = None, _level: int = 0) -> str:
    """JSON for any cell value; compact (``{"a":1}``) or pretty with ``indent`` spaces.

    Written by hand rather than with ``json.dumps(default=...)`` so Decimals stay exact
    numbers and bytes, dates and UUIDs become strings in the forms described above.
    """
    scalar = _json_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, Mapping):
        items = [(_json_key(k), v) for k, v in value.items()]
        if not items:
            return "{}"
        if indent is None:
            return "{" + ",".join(f"{k}:{json_text(v)}" for k, v in items) + "}"
        pad = " " * (indent * (_level + 1))
        body = ",\n".join(f"{pad}{k}: {json_text(v, indent, _level + 1)}" for k, v in items)
        return "{\n" + body + "\n" + " " * (indent * _level) + "}"
    elements = list(value)
    if not elements:
        return "[]"
    if indent is None:
        return "[" + ",".join(json_text(v) for v in elements) + "]"
    pad = " " * (indent * (_level + 1))
    body = ",\n".join(pad + json_text(v, indent, _level + 1) for v in elements)
    return "[\n" + body + "\n" + " " * (indent * _level) + "]"


def parse_json_text(value: Any) -> Any | None:
    """The parsed document when ``value`` is a string holding a JSON object or array."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    if len(stripped) < 2 or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


# --------------------------------------------------------------------------- grid text


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def display_text(value: Any, limit: int = DISPLAY_LIMIT) -> str:
    """A one-line preview for a grid cell.

    Line breaks show as ``↵`` and tabs as spaces so every row stays one line high; long
    byte strings show their size; everything is cut at ``limit`` characters.
    """
    if value is None:
        return NULL_TEXT
    if isinstance(value, (bytes, bytearray, memoryview)):
        size = len(value) if not isinstance(value, memoryview) else value.nbytes
        if size > BYTES_PREVIEW_LIMIT:
            return f"<{size:,} bytes>"
        return bytes_text(value)
    text = _scalar_text(value)
    if text is None:
        text = json_text(value)
    if len(text) > limit:
        text = text[: limit + 1]  # only what can be shown, before replacing characters
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵")
        text = text.replace("\t", " ")
    return truncate(text, limit)


def tooltip_text(value: Any, limit: int = TOOLTIP_LIMIT) -> str:
    """The full value for a tooltip (pretty JSON for documents), cut at ``limit``."""
    if value is None:
        return NULL_TEXT
    if isinstance(value, (Mapping, list, tuple)):
        return truncate(json_text(value, indent=2), limit)
    return truncate(plain_text(value), limit)


def needs_viewer(value: Any, limit: int = DISPLAY_LIMIT) -> bool:
    """Whether the grid cannot show the whole value, so double-click opens the cell viewer."""
    if isinstance(value, (bytes, bytearray, memoryview, Mapping, list, tuple)):
        return True
    if isinstance(value, str):
        return len(value) > limit or "\n" in value or parse_json_text(value) is not None
    return False
