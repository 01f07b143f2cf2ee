"""Qt-free value model and formatting shared by grid, viewer, export and CLI.

Engines hand raw Python values (None, str, int, Decimal, bytes, datetime, UUID, dict/list
documents, vectors, ...) upward and never turn them into strings; this module is the one
place that does, so the grid, the cell viewer, the clipboard, the export files and
``dbplay query`` always agree. No Qt here: the CLI imports it without a GUI.

Three forms of every value:

* **exact text** (:func:`plain_text`): copies (TSV/CSV/Markdown), CSV export and CLI
  CSV/table -- everything there is to know about the value, as one string;
* **JSON** (:func:`json_text`): JSON copy, JSON export and CLI JSON Lines -- the value as a
  JSON value of its own type (numbers stay numbers, documents stay nested JSON);
* **display** (:func:`display_text`): a one-line grid preview, cut at ``DISPLAY_LIMIT``.

One rule per type, the same on every surface:

* ``None`` (SQL NULL): ``NULL`` (italic, grey) in the grid and the CLI table, empty
  unquoted field in TSV/CSV (so ``''`` is ``""``), ``*NULL*`` in Markdown, JSON ``null``.
* :data:`MISSING` (a field absent from a document, not NULL): empty in the grid (no
  italics; the tooltip says why), the CLI table, TSV/CSV and Markdown; *omitted* from
  JSON objects, ``null`` where a position must be filled (CLI JSON rows, JSON arrays).
* bool: ``true`` / ``false``; JSON booleans.
* int: exact decimal digits however big; JSON numbers.
* float: shortest round-trip ``repr``; non-finite ones are ``NaN``, ``Infinity``,
  ``-Infinity`` everywhere, and JSON strings of those names (JSON has no NaN).
* Decimal: ``str()``, exact (never via float, so ``1.50`` keeps its scale); JSON numbers
  written as those digits (read them with ``parse_float=Decimal`` to keep them exact);
  non-finite ones as for float.
* datetime: ISO 8601 with a space between date and time (as PostgreSQL prints it), with
  the UTC offset when aware: ``2024-05-06 07:08:09+00:00``; date and time: ISO 8601. JSON
  strings of the same text.
* timedelta: Python's ``str()`` (``1 day, 1:02:00``); JSON string.
* :class:`Tagged` (a value whose type the database names, such as BSON's ObjectId or
  Int64, wrapped by its engine): its ``text``; JSON: its ``json`` stand-in.
* UUID, ranges, IP addresses and any other driver object: ``str()``.
* bytes/bytearray/memoryview: ``\\x`` + hex (PostgreSQL's ``bytea`` form) in exact text
  and as a JSON string; the grid shows short ones in full, longer ones as ``<1,234 bytes>``.
* dict/list/tuple: compact JSON text (``{"a":[1,2]}``) in the grid and in exact text;
  nested JSON (not a string) in JSON outputs; pretty-printed in the cell viewer. In a
  grid of documents (a document result) they are summarised instead (:func:`summary_text`:
  ``{3 fields}``, ``[12 items]``); their exact text and JSON are still the whole value.
* vectors (:class:`Vector`, or a 1-D numpy float array, duck-typed): every element,
  float32 values in the shortest text that reads back to the same float32, as a JSON
  array (``[0.1,0.25]``) in exact text and JSON; the grid and the CLI table, which are for
  eyes, show a preview: ``[0.1, 0.2, 0.3, … 1,536 floats]``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import struct
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

#: How the grid shows SQL NULL (styled differently from text by the model).
NULL_TEXT = "NULL"
#: The tooltip of an absent field, so an empty cell is explained.
MISSING_TOOLTIP = "(absent: this document has no such field)"
#: Characters of a value shown in a grid cell before it is cut with an ellipsis.
DISPLAY_LIMIT = 200
#: Characters shown in a cell's tooltip before it is cut.
TOOLTIP_LIMIT = 2000
#: Byte strings up to this length are shown in full hex in the grid; longer ones by size.
BYTES_PREVIEW_LIMIT = 16
#: Elements of a vector shown in its grid preview.
VECTOR_PREVIEW = 3
ELLIPSIS = "…"

NUMERIC_TYPE_NAMES = frozenset(
    {
        "int", "int2", "int4", "int8", "integer", "smallint", "bigint", "serial", "bigserial",
        "numeric", "decimal", "real", "float", "float4", "float8", "double", "double precision",
        "money", "oid", "number", "long",
    }
)  # fmt: skip


class _Missing:
    """The type of :data:`MISSING`: one instance, falsy, never equal to None."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:  # pickles (worker queues) back to the same object
        return "MISSING"


#: A field a document does not have: distinct from NULL (``None``), which it has.
MISSING = _Missing()

_F32 = struct.Struct("<f")


def to_float32(value: float) -> float:
    """``value`` rounded to the nearest float32 (as a Python float)."""
    return _F32.unpack(_F32.pack(value))[0]


def float32_text(value: float) -> str:
    """The shortest text that reads back (via float32) to the float32 ``value``.

    ``repr(float(x))`` of a float32 is exact but long (``0.10000000149011612``); this tries
    1 to 9 significant digits (9 always suffice) and keeps the first that round-trips.
    """
    if not math.isfinite(value):
        return float_text(value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        try:
            if to_float32(candidate) == value:
                return repr(candidate)
        except OverflowError:  # rounded past float32's largest value
            continue
    return repr(value)


class Float32(float):
    """A float that came from float32 data: written with :func:`float32_text`."""

    def __repr__(self) -> str:
        return float32_text(self)

    __str__ = __repr__


class Vector:
    """An embedding: float32 (``"f"``) or float64 (``"d"``) values, kept exactly.

    Engines build one from a list, raw bytes (``Vector.from_bytes``) or an ``array``;
    its texts carry every element, so a copy or an export loses nothing.
    """

    __slots__ = ("data",)

    def __init__(self, values: Iterable[float] | array = (), typecode: str = "f") -> None:
        if isinstance(values, array) and values.typecode in "fd":
            self.data = values
        else:
            self.data = array(typecode, values)

    @classmethod
    def from_bytes(cls, raw: bytes, typecode: str = "f") -> Vector:
        """A vector over native-order packed floats (pgvector binary, Chroma, numpy)."""
        data = array(typecode)
        data.frombytes(raw)
        return cls(data)

    @property
    def typecode(self) -> str:
        return self.data.typecode

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[float]:
        return iter(self.data)

    def __getitem__(self, index: int) -> float:
        return self.data[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vector) and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def tobytes(self) -> bytes:
        return self.data.tobytes()

    def tolist(self) -> list[float]:
        return self.data.tolist()

    def texts(self) -> Iterator[str]:
        """Each element's text: shortest float32 or float64 round trip, NaN spelled out."""
        if self.data.typecode == "f":
            return (float32_text(x) for x in self.data)
        return (float_text(x) for x in self.data)

    def __repr__(self) -> str:
        return f"Vector([{', '.join(self.texts())}], {self.data.typecode!r})"


class Tagged:
    """A value whose type the database names itself (BSON's ObjectId, Int64, Decimal128,
    Binary, Timestamp, Regex, ...), wrapped by its engine so that no layer above the
    engine needs the driver to show it.

    ``text`` is its exact text (copies, CSV, the grid); ``json`` a JSON-ready stand-in
    (for BSON, the relaxed Extended JSON value); ``type_name`` is shown beside it in the
    cell viewer's tree; ``raw`` is the driver's own object, for the engine's own copy
    formats. ``number`` right-aligns it in the grid.
    """

    __slots__ = ("json", "number", "raw", "text", "type_name")

    def __init__(self, type_name: str, text: str, json: Any = None, raw: Any = None,
                 *, number: bool = False) -> None:
        self.type_name = type_name
        self.text = text
        self.json = text if json is None else json
        self.raw = raw
        self.number = number

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Tagged) and self.type_name == other.type_name
                and self.text == other.text)

    def __hash__(self) -> int:
        return hash((self.type_name, self.text))

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Tagged({self.type_name!r}, {self.text!r})"


def type_label(value: Any) -> str:
    """A short type name for the cell viewer's tree: ``ObjectId``, ``int``, ``document``."""
    if value is None:
        return "null"
    if value is MISSING:
        return "missing"
    if isinstance(value, Tagged):
        return value.type_name
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Mapping):
        return "document"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Vector):
        return "vector"
    if isinstance(value, _dt.datetime):
        return "date"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Decimal):
        return "decimal"
    return type(value).__name__


def normalize(value: Any) -> Any:
    """A driver value in the types the rules above know; numpy is duck-typed, not imported.

    A 1-D numpy float array becomes a :class:`Vector`, a numpy scalar its Python value
    (float32 scalars as :class:`Float32`), any other array its nested list.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is None or not callable(getattr(value, "tolist", None)):
        return value
    kind, size = getattr(dtype, "kind", ""), getattr(dtype, "itemsize", 0)
    ndim = getattr(value, "ndim", None)
    if ndim == 0:
        item = value.item() if callable(getattr(value, "item", None)) else value.tolist()
        return Float32(item) if kind == "f" and size == 4 else item
    if ndim == 1 and kind == "f" and size in (4, 8):
        return Vector(value.tolist(), "f" if size == 4 else "d")
    return value.tolist()


# --------------------------------------------------------------------------- exact text


def is_number(value: Any) -> bool:
    """True for values the grid right-aligns (bool is not a number here)."""
    if isinstance(value, Tagged):
        return value.number
    value = normalize(value)
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


def decimal_text(value: Decimal) -> str:
    """Exact digits; non-finite ones (including signalling NaN) named as for floats."""
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "-Infinity" if value.is_signed() else "Infinity"
    return str(value)


def bytes_text(value: bytes | bytearray | memoryview) -> str:
    """The full ``\\x`` hex form of a byte string."""
    return "\\x" + bytes(value).hex()


def _is_container(value: Any) -> bool:
    return isinstance(value, (Mapping, list, tuple, set, frozenset, Vector))


def _scalar_text(value: Any) -> str | None:
    """Text of a non-container value, or None when ``value`` is a container."""
    if isinstance(value, str):
        return value
    if isinstance(value, Tagged):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if isinstance(value, Float32) else float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes_text(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if value is MISSING:
        return ""
    if _is_container(value):
        return None
    normal = normalize(value)
    if normal is not value:
        return _scalar_text(normal)
    return str(value)  # timedelta, UUID, ObjectId, IP addresses, ranges, ...


def plain_text(value: Any) -> str:
    """The full text of a value for copies and exports; NULL and MISSING become ``""``."""
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
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = _scalar_text(value)
        return text if math.isfinite(value) else json.dumps(text)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else json.dumps(decimal_text(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Tagged):
        return json_text(value.json)
    if _is_container(value):
        return None
    normal = normalize(value)
    if normal is not value:
        return json_text(normal)
    return json.dumps(_scalar_text(value), ensure_ascii=False)


def _vector_json(vector: Vector) -> str:
    return "[" + ",".join(t if t[-1].isdigit() else json.dumps(t) for t in vector.texts()) + "]"


def json_text(value: Any, indent: int | None = None, _level: int = 0) -> str:
    """JSON for any cell value; compact (``{"a":1}``) or pretty with ``indent`` spaces.

    Written by hand rather than with ``json.dumps(default=...)`` so Decimals stay exact
    numbers, float32 stays short and exact, and MISSING fields drop out of objects.
    """
    scalar = _json_scalar(value)
    if scalar is not None:
        return scalar
    if isinstance(value, Vector):
        return _vector_json(value)
    if isinstance(value, Mapping):
        items = [(_json_key(k), v) for k, v in value.items() if v is not MISSING]
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


# --------------------------------------------------------------------------- display


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def vector_preview(vector: Vector, width: int = DISPLAY_LIMIT) -> str:
    """``[0.1, 0.2, 0.3, … 1,536 floats]``: the first elements and the size, in ``width``.

    Fewer elements are shown rather than the size cut off, down to ``[… 1,536 floats]``.
    """
    texts = vector.texts()
    if len(vector) <= VECTOR_PREVIEW:
        whole = "[" + ", ".join(texts) + "]"
        if len(whole) <= width:
            return whole
    head = [next(texts) for _ in range(min(VECTOR_PREVIEW, len(vector)))]
    size = f"{ELLIPSIS} {len(vector):,} floats]"
    for shown in range(len(head), 0, -1):
        text = "[" + "".join(t + ", " for t in head[:shown]) + size
        if len(text) <= width:
            return text
    return "[" + size


def display_text(value: Any, limit: int = DISPLAY_LIMIT) -> str:
    """A one-line preview for a grid cell.

    Line breaks show as ``↵`` and tabs as spaces so every row stays one line high; long
    byte strings show their size, vectors a preview; everything is cut at ``limit``.
    """
    if value is None:
        return NULL_TEXT
    value = normalize(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        size = len(value) if not isinstance(value, memoryview) else value.nbytes
        if size > BYTES_PREVIEW_LIMIT:
            return f"<{size:,} bytes>"
        return bytes_text(value)
    if isinstance(value, Vector):
        return truncate(vector_preview(value, limit), limit)
    text = _scalar_text(value)
    if text is None:
        text = json_text(value)
    if len(text) > limit:
        text = text[: limit + 1]  # only what can be shown, before replacing characters
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵")
        text = text.replace("\t", " ")
    return truncate(text, limit)


def summary_text(value: Any, limit: int = DISPLAY_LIMIT) -> str:
    """A document's or an array's size instead of its contents: ``{3 fields}``,
    ``[12 items]`` (``{}`` and ``[]`` when empty); any other value as :func:`display_text`.

    What the grid shows in a cell of a document result, where a nested value would
    otherwise be a long line of JSON; the exact text and the JSON keep the whole value.
    """
    if isinstance(value, Mapping):
        count = len(value)
        return "{" + _count_text(count, "field") + "}" if count else "{}"
    if isinstance(value, (list, tuple)):
        count = len(value)
        return "[" + _count_text(count, "item") + "]" if count else "[]"
    return display_text(value, limit)


def _count_text(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def tooltip_text(value: Any, limit: int = TOOLTIP_LIMIT) -> str:
    """The full value for a tooltip (pretty JSON for documents), cut at ``limit``."""
    if value is None:
        return NULL_TEXT
    if value is MISSING:
        return MISSING_TOOLTIP
    value = normalize(value)
    if isinstance(value, (Mapping, list, tuple)):
        return truncate(json_text(value, indent=2), limit)
    return truncate(plain_text(value), limit)


def needs_viewer(value: Any, limit: int = DISPLAY_LIMIT) -> bool:
    """Whether the grid cannot show the whole value, so double-click opens the cell viewer."""
    value = normalize(value)
    if isinstance(value, (bytes, bytearray, memoryview, Mapping, list, tuple, Vector)):
        return True
    if isinstance(value, str):
        return len(value) > limit or "\n" in value or parse_json_text(value) is not None
    return False


# --------------------------------------------------------------------------- memory

#: Estimated bytes of a cell that is not a string, a byte string or a container (an int,
#: a float, a date, a Decimal, a driver object): its object plus the row's slot for it.
CELL_COST = 32
_getsizeof = sys.getsizeof


def value_size(value: Any) -> int:
    """A cheap estimate of the memory a cell holds (for the results grid's budget).

    Strings and byte strings count their real size, vectors their elements, documents
    their parts (recursively); everything else :data:`CELL_COST`. ``None`` and
    :data:`MISSING` are shared objects: only the row's slot (8 bytes).
    """
    if value is None or value is MISSING:
        return 8
    if isinstance(value, (str, bytes, bytearray)):
        return _getsizeof(value) + 8
    if isinstance(value, Tagged):
        return 80 + len(value.text)
    if isinstance(value, Vector):
        return 64 + len(value.data) * value.data.itemsize
    if isinstance(value, memoryview):
        return 200 + value.nbytes
    if isinstance(value, Mapping):
        return _getsizeof(value) + sum(value_size(k) + value_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return _getsizeof(value) + sum(value_size(v) for v in value)
    nbytes = getattr(value, "nbytes", None)  # a numpy array, duck-typed
    if isinstance(nbytes, int):
        return 112 + nbytes
    return CELL_COST


def row_size(row: Any) -> int:
    """The estimated memory of one result row: the tuple and its cells."""
    return 56 + sum(value_size(value) for value in row)
