"""One value formatter: each type's rule on every surface, and vectors that lose nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pickle
import random
import struct
import types
import uuid
from array import array
from decimal import Decimal
from typing import Any

import pytest

from dbplay_desktop.query_output import CsvWriter, JsonWriter, TableWriter
from dbplay_desktop.ui.results.export import copy_text, export_file
from dbplay_desktop.values import (
    MISSING,
    Float32,
    Vector,
    display_text,
    float32_text,
    is_number,
    json_text,
    needs_viewer,
    normalize,
    plain_text,
    to_float32,
    tooltip_text,
    vector_preview,
)

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2))


class FakeArray:
    """Quacks like a numpy array (numpy is not a dependency): dtype, ndim, tolist, item."""

    def __init__(self, values: Any, kind: str = "f", itemsize: int = 4) -> None:
        self.dtype = types.SimpleNamespace(kind=kind, itemsize=itemsize)
        self._values = values
        self.ndim = 0 if not isinstance(values, list) else 1 + isinstance(values[0], list)

    def tolist(self) -> Any:
        return self._values

    def item(self) -> Any:
        return self._values

    def __str__(self) -> str:  # what numpy's str() does to a long vector
        return "[0.1 0.2 ... 0.9]"


class FakeResult:
    """The parts of StatementResult the CLI writers use."""

    def __init__(self, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        self.columns = [types.SimpleNamespace(name=n, type_name="text") for n in names]
        self.statement = types.SimpleNamespace(line=1, column=1)
        self.returns_rows, self.rowcount, self.status = True, len(rows), "SELECT"
        self._rows = rows

    def batches(self):
        yield list(self._rows)

    def close(self) -> None:
        pass


def cli_output(writer: type, names: list[str], rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer(out, None).write(1, FakeResult(names, rows))
    return out.getvalue()


def embedding(n: int = 1536, seed: int = 7) -> Vector:
    rng = random.Random(seed)
    return Vector(rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(n))


# (value, grid display, exact text, JSON) -- one row per rule in dbplay_desktop.values
RULES = [
    (None, "NULL", "", "null"),
    (True, "true", "true", "true"),
    (12345678901234567890123, "12345678901234567890123", "12345678901234567890123",
     "12345678901234567890123"),
    (0.1, "0.1", "0.1", "0.1"),
    (float("nan"), "NaN", "NaN", '"NaN"'),
    (float("-inf"), "-Infinity", "-Infinity", '"-Infinity"'),
    (Decimal("1.50"), "1.50", "1.50", "1.50"),
    (Decimal("0.1000000000000000000000000001"), "0.1000000000000000000000000001",
     "0.1000000000000000000000000001", "0.1000000000000000000000000001"),
    (Decimal("sNaN"), "NaN", "NaN", '"NaN"'),
    (Decimal("-Infinity"), "-Infinity", "-Infinity", '"-Infinity"'),
    (dt.datetime(2024, 5, 6, 7, 8, 9, 120000), "2024-05-06 07:08:09.120000",
     "2024-05-06 07:08:09.120000", '"2024-05-06 07:08:09.120000"'),
    (dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=PLUS2), "2024-05-06 07:08:09+02:00",
     "2024-05-06 07:08:09+02:00", '"2024-05-06 07:08:09+02:00"'),
    (dt.date(2024, 1, 2), "2024-01-02", "2024-01-02", '"2024-01-02"'),
    (dt.time(23, 59, tzinfo=UTC), "23:59:00+00:00", "23:59:00+00:00", '"23:59:00+00:00"'),
    (dt.timedelta(days=1, minutes=2), "1 day, 0:02:00", "1 day, 0:02:00", '"1 day, 0:02:00"'),
    (uuid.UUID(int=1), str(uuid.UUID(int=1)), str(uuid.UUID(int=1)),
     f'"{uuid.UUID(int=1)}"'),
    (b"\x00\xff", "\\x00ff", "\\x00ff", '"\\\\x00ff"'),
    (memoryview(bytes(20)), "<20 bytes>", "\\x" + "00" * 20, '"\\\\x' + "00" * 20 + '"'),
    ({"a": [1, None], "d": Decimal("2.0")}, '{"a":[1,null],"d":2.0}',
     '{"a":[1,null],"d":2.0}', '{"a":[1,null],"d":2.0}'),
    (Vector([0.1, 0.25]), "[0.1, 0.25]", "[0.1,0.25]", "[0.1,0.25]"),
    (range(3), "range(0, 3)", "range(0, 3)", '"range(0, 3)"'),  # any driver object: str()
]


@pytest.mark.parametrize(("value", "grid", "text", "as_json"), RULES)
def test_each_rule_on_each_surface(value: Any, grid: str, text: str, as_json: str) -> None:
    assert display_text(value) == grid
    assert plain_text(value) == text
    assert json_text(value) == as_json
    json.loads(as_json)  # always valid JSON
    empty = '""' if text == "" and value is not None else text  # '' is quoted, NULL not
    quoted = '"' + text.replace('"', '""') + '"'
    field = quoted if "," in text or '"' in text else empty
    assert copy_text("csv", ["v"], [(value,)], header=False) == field
    assert copy_text("json", ["v"], [(value,)]) == "[\n  {\"v\": " + as_json + "}\n]"
    csv_line = cli_output(CsvWriter, ["v"], [(value,)]).split("\n", 1)[1]
    assert next(csv.reader(io.StringIO(csv_line)), [""]) in ([text], [])
    row = json.loads(cli_output(JsonWriter, ["v"], [(value,)]))["rows"][0][0]
    assert row == json.loads(as_json)
    table = cli_output(TableWriter, ["v"], [(value,)]).splitlines()[2].strip()
    assert table == ("NULL" if value is None else grid if isinstance(value, Vector)
                     else text.replace("\\", "\\\\") if isinstance(value, str) else text[:60])


def test_missing_is_not_null_anywhere() -> None:
    row = (1, MISSING, None)
    names = ["id", "gone", "null"]
    assert MISSING is not None and not MISSING and repr(MISSING) == "MISSING"
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert display_text(MISSING) == "" and display_text(None) == "NULL"
    assert tooltip_text(MISSING).startswith("(absent")
    assert plain_text(MISSING) == "" and not needs_viewer(MISSING) and not is_number(MISSING)
    assert copy_text("tsv", names, [row], header=False) == "1\t\t"
    assert copy_text("markdown", names, [row]).splitlines()[-1] == "| 1 |  | *NULL* |"
    assert copy_text("json", names, [row]) == '[\n  {"id": 1, "null": null}\n]'
    assert json_text({"a": MISSING, "b": None}) == '{"b":null}'
    assert json_text([MISSING]) == "[null]"  # a position cannot be left out
    assert cli_output(CsvWriter, names, [row]) == "id,gone,null\n1,,\n"
    assert json.loads(cli_output(JsonWriter, names, [row]))["rows"] == [[1, None, None]]
    assert cli_output(TableWriter, names, [row]).splitlines()[2].split("|")[1].strip() == ""


def test_float32_text_is_shortest_and_round_trips() -> None:
    for value in [0.1, 1.0, 3.4028234663852886e38, 1e-45, -2.5e-8, 123456.789, 16777217.0]:
        f32 = to_float32(value)
        text = float32_text(f32)
        assert to_float32(float(text)) == f32, (value, text)
        assert len(text) <= len(repr(f32))
    assert float32_text(to_float32(0.1)) == "0.1"
    assert repr(float(to_float32(0.1))) == "0.10000000149011612"  # what we avoid
    assert float32_text(float("nan")) == "NaN"
    assert repr(Float32(to_float32(0.3))) == "0.3"


def test_every_float32_bit_pattern_sampled_round_trips() -> None:
    rng = random.Random(3)
    for _ in range(20_000):
        (f32,) = struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))
        text = float32_text(f32)
        if text in ("NaN", "Infinity", "-Infinity"):
            continue
        assert struct.pack("<f", float(text)) == struct.pack("<f", f32), text


def test_a_1536_float_embedding_survives_json_and_csv_exports_exactly(tmp_path) -> None:
    vector = embedding()
    raw = vector.tobytes()
    assert len(vector) == 1536 and Vector.from_bytes(raw) == vector

    json_path, csv_path = tmp_path / "v.json", tmp_path / "v.csv"
    export_file(json_path, "json", ["id", "embedding"], [(1, vector)])
    export_file(csv_path, "csv", ["id", "embedding"], [(1, vector)])
    from_json = json.loads(json_path.read_text(encoding="utf-8"))[0]["embedding"]
    assert array("f", from_json).tobytes() == raw
    from_csv = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))[1][1]
    assert array("f", json.loads(from_csv)).tobytes() == raw

    line = cli_output(JsonWriter, ["embedding"], [(vector,)])
    assert array("f", json.loads(line)["rows"][0][0]).tobytes() == raw
    cli_csv = list(csv.reader(io.StringIO(cli_output(CsvWriter, ["e"], [(vector,)]))))
    assert array("f", json.loads(cli_csv[1][0])).tobytes() == raw
    assert copy_text("tsv", ["e"], [(vector,)], header=False) == plain_text(vector)

    preview = display_text(vector)
    assert preview.endswith(", … 1,536 floats]") and len(preview) < 80
    assert needs_viewer(vector)
    table = cli_output(TableWriter, ["e"], [(vector,)]).splitlines()[2].strip()
    assert table.endswith(", … 1,536 floats]") and len(table) <= TableWriter.MAX_WIDTH
    assert len(vector_preview(vector, 10)) > 10  # never cuts the size off
    assert vector_preview(vector, 10) == "[… 1,536 floats]"


def test_numpy_like_arrays_are_duck_typed() -> None:
    values = array("f", [0.1, 0.2, float("nan")]).tolist()
    vector = normalize(FakeArray(values))
    assert isinstance(vector, Vector) and vector.typecode == "f"
    assert plain_text(FakeArray(values)) == '[0.1,0.2,"NaN"]'
    assert display_text(FakeArray(values)) == "[0.1, 0.2, NaN]"
    assert [to_float32(x) for x in json.loads(json_text({"v": FakeArray(values)}))["v"][:2]] \
        == values[:2]
    assert plain_text(FakeArray([0.1, 1e300], itemsize=8)) == "[0.1,1e+300]"
    assert plain_text(FakeArray([[1, 2], [3, 4]], kind="i", itemsize=8)) == "[[1,2],[3,4]]"
    assert plain_text(FakeArray(to_float32(0.1))) == "0.1"  # a float32 scalar
    assert plain_text(FakeArray(7, kind="i", itemsize=8)) == "7" and is_number(FakeArray(7))


def test_grid_copy_and_cli_agree_on_nan_decimal_and_datetimes() -> None:
    row = (float("nan"), Decimal("12.340"), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
           dt.date(2024, 1, 2), float("inf"))
    names = ["f", "d", "ts", "day", "inf"]
    grid = [display_text(v) for v in row]
    assert grid == ["NaN", "12.340", "2024-01-02 03:04:05+00:00", "2024-01-02", "Infinity"]
    assert copy_text("tsv", names, [row], header=False).split("\t") == grid
    assert cli_output(CsvWriter, names, [row]).splitlines()[1] == ",".join(grid)
    table = cli_output(TableWriter, names, [row]).splitlines()[2]
    assert [cell.strip() for cell in table.split("|")] == grid
    copied = copy_text("json", names, [row]).splitlines()[1].strip()
    cli_row = json.loads(cli_output(JsonWriter, names, [row]), parse_float=Decimal)["rows"][0]
    assert json.loads(copied, parse_float=Decimal) == dict(zip(names, cli_row, strict=True))
    assert cli_row == ["NaN", Decimal("12.340"), grid[2], grid[3], "Infinity"]


def test_row_size_is_a_cheap_estimate_that_grows_with_the_data():
    """The results grid's memory budget counts rows with ``row_size``: strings and bytes
    by their size, vectors by their elements, documents by their parts."""
    from dbplay_desktop.values import CELL_COST, row_size, value_size

    assert value_size(None) == value_size(MISSING) == 8
    assert value_size(12) == value_size(Decimal("1.5")) == CELL_COST
    assert value_size("x" * 10_000) > 10_000
    assert value_size(b"\0" * 10_000) > 10_000
    assert value_size(Vector([0.0] * 1536)) >= 1536 * 4
    assert value_size(Vector([0.0] * 1536, "d")) >= 1536 * 8
    assert value_size({"a": ["y" * 5000]}) > 5000
    assert row_size((1, "x" * 1000)) > row_size((1, "x"))
    assert row_size(()) > 0


def test_tagged_values_use_their_own_text_json_and_type() -> None:
    """Engine-typed scalars (BSON's ObjectId, Int64, ...) reach every surface alike."""
    from dbplay_desktop.values import Tagged, type_label, value_size

    oid = Tagged("ObjectId", "65f0a1b2c3d4e5f601234567", {"$oid": "65f0a1b2c3d4e5f601234567"})
    big = Tagged("Int64", "9007199254740993", 9007199254740993, number=True)
    assert plain_text(oid) == "65f0a1b2c3d4e5f601234567"
    assert json_text({"_id": oid, "n": big}) == (
        '{"_id":{"$oid":"65f0a1b2c3d4e5f601234567"},"n":9007199254740993}')
    assert display_text(big) == "9007199254740993" and is_number(big) and not is_number(oid)
    assert type_label(oid) == "ObjectId" and type_label({"a": 1}) == "document"
    assert type_label([1]) == "array" and type_label(None) == "null"
    assert value_size(oid) > 8
