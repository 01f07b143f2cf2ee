"""Copy formats and export files: exact texts, duplicate names, NULLs, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

from dbplay_desktop.ui.results.export import (
    ExportCancelled,
    copy_text,
    export_file,
    unique_names,
)
from dbplay_desktop.ui.results.values import (
    MISSING,
    Vector,
    display_text,
    json_text,
    needs_viewer,
    plain_text,
    tooltip_text,
)

NAMES = ["id", "name", "id"]
ROWS = [
    (1, "plain", 10),
    (2, None, 20),
    (3, "", None),
    (4, "tab\there", Decimal("1.50")),
    (5, "two\nlines", -3),
    (6, 'say "hi", ok', 0),
    (7, "pipe | and ünïcødé ✓", 7),
]


def test_unique_names_never_collide():
    assert unique_names(["id", "name", "id"]) == ["id", "name", "id_2"]
    assert unique_names(["a", "a", "a_2", "a"]) == ["a", "a_3", "a_2", "a_4"]
    assert unique_names([]) == []


def test_tsv_exact():
    expected = (
        "id\tname\tid\n"
        "1\tplain\t10\n"
        "2\t\t20\n"
        '3\t""\t\n'
        '4\t"tab\there"\t1.50\n'
        '5\t"two\nlines"\t-3\n'
        '6\t"say ""hi"", ok"\t0\n'
        "7\tpipe | and ünïcødé ✓\t7"
    )
    assert copy_text("tsv", NAMES, ROWS, header=True) == expected
    without = copy_text("tsv", NAMES, ROWS, header=False)
    assert without == expected.split("\n", 1)[1]


def test_csv_exact():
    expected = (
        "id,name,id\n"
        "1,plain,10\n"
        "2,,20\n"
        '3,"",\n'
        "4,tab\there,1.50\n"
        '5,"two\nlines",-3\n'
        '6,"say ""hi"", ok",0\n'
        "7,pipe | and ünïcødé ✓,7"
    )
    assert copy_text("csv", NAMES, ROWS) == expected


def test_json_exact_with_duplicate_names():
    expected = (
        "[\n"
        '  {"id": 1, "name": "plain", "id_2": 10},\n'
        '  {"id": 2, "name": null, "id_2": 20},\n'
        '  {"id": 3, "name": "", "id_2": null},\n'
        '  {"id": 4, "name": "tab\\there", "id_2": 1.50},\n'
        '  {"id": 5, "name": "two\\nlines", "id_2": -3},\n'
        '  {"id": 6, "name": "say \\"hi\\", ok", "id_2": 0},\n'
        '  {"id": 7, "name": "pipe | and ünïcødé ✓", "id_2": 7}\n'
        "]"
    )
    text = copy_text("json", NAMES, ROWS)
    assert text == expected
    parsed = json.loads(text)
    assert parsed[1] == {"id": 2, "name": None, "id_2": 20}
    assert copy_text("json", NAMES, []) == "[]"


def test_markdown_exact():
    expected = (
        "| id | name | id |\n"
        "| --- | --- | --- |\n"
        "| 1 | plain | 10 |\n"
        "| 2 | *NULL* | 20 |\n"
        "| 3 |  | *NULL* |\n"
        "| 4 | tab\there | 1.50 |\n"
        "| 5 | two<br>lines | -3 |\n"
        '| 6 | say "hi", ok | 0 |\n'
        "| 7 | pipe \\| and ünïcødé ✓ | 7 |"
    )
    assert copy_text("markdown", NAMES, ROWS) == expected


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown copy format 'xml'"):
        copy_text("xml", NAMES, ROWS)


def test_values_of_every_kind_as_text_and_json():
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    document = {
        "n": Decimal("12.340"),
        "b": b"\x00\xff",
        "when": when,
        "tags": ["a", 1, None, True],
        "f": float("nan"),
        "d": dt.date(2024, 1, 2),
    }
    assert plain_text(None) == ""
    assert plain_text(True) == "true"
    assert plain_text(b"\xde\xad") == "\\xdead"
    assert plain_text(memoryview(b"\x01")) == "\\x01"
    assert plain_text(when) == "2024-05-06 07:08:09+00:00"
    assert plain_text(dt.timedelta(hours=1, minutes=2)) == "1:02:00"
    assert plain_text(ident) == str(ident)
    assert plain_text(float("inf")) == "Infinity"
    assert json_text(document) == (
        '{"n":12.340,"b":"\\\\x00ff","when":"2024-05-06 07:08:09+00:00",'
        '"tags":["a",1,null,true],"f":"NaN","d":"2024-01-02"}'
    )
    assert json.loads(json_text(document, indent=2))["tags"] == ["a", 1, None, True]
    assert json_text({1: "x", None: "y"}) == '{"1":"x","null":"y"}'
    assert display_text({"a": [1, 2]}) == '{"a":[1,2]}'
    assert display_text(b"\x01\x02") == "\\x0102"
    assert display_text(bytes(12)) == "\\x" + "00" * 12
    assert display_text(bytes(1234)) == "<1,234 bytes>"
    assert display_text("x" * 500, limit=10) == "x" * 9 + "…"
    assert display_text("a\nb\tc") == "a↵b c"
    assert tooltip_text("y" * 5000, limit=100) == "y" * 99 + "…"
    assert tooltip_text({"a": 1}) == '{\n  "a": 1\n}'
    assert needs_viewer("x" * 500) and needs_viewer('{"a": 1}') and needs_viewer(b"")
    assert needs_viewer([1]) and not needs_viewer("short") and not needs_viewer(None)


def _rows(n):
    for i in range(n):
        yield (i, f"name {i}", None if i % 3 == 0 else i / 2)


def test_export_csv_file(tmp_path):
    target = tmp_path / "out.csv"
    seen = []
    count = export_file(
        target, "csv", ["i", "name", "half"], _rows(2500), total=2500,
        progress=lambda done, total: seen.append((done, total)), every=1000,
    )  # fmt: skip
    assert count == 2500
    lines = target.read_text(encoding="utf-8").split("\n")
    assert lines[:4] == ["i,name,half", "0,name 0,", "1,name 1,0.5", "2,name 2,1.0"]
    assert lines[-1] == "" and len(lines) == 2502
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_export_json_file(tmp_path):
    target = tmp_path / "out.json"
    export_file(target, "json", ["a", "a"], [(1, {"k": [1, 2]}), (None, "x")])
    text = target.read_text(encoding="utf-8")
    assert text == '[\n  {"a": 1, "a_2": {"k":[1,2]}},\n  {"a": null, "a_2": "x"}\n]\n'
    assert json.loads(text)[0]["a_2"] == {"k": [1, 2]}
    export_file(target, "json", ["a"], [])
    assert json.loads(target.read_text(encoding="utf-8")) == []


def test_cancelled_export_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous export\n", encoding="utf-8")
    with pytest.raises(ExportCancelled):
        export_file(target, "csv", ["i", "name", "half"], _rows(5000),
                    progress=lambda done, total: done >= 2000)  # fmt: skip
    assert target.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_failing_rows_leave_no_partial_file(tmp_path):
    def broken():
        yield (1,)
        raise RuntimeError("connection lost")

    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError, match="connection lost"):
        export_file(target, "json", ["a"], broken())
    assert list(tmp_path.iterdir()) == []


def test_copies_of_documents_with_absent_fields_and_vectors():
    """A MISSING field: empty in TSV/CSV/Markdown, left out of JSON objects; a vector: every
    float in every copy (dbplay_desktop.values)."""
    names = ["id", "email", "v"]
    rows = [(1, MISSING, Vector([0.1, -2.5])), (2, None, Vector([]))]
    assert copy_text("tsv", names, rows, header=False) == "1\t\t[0.1,-2.5]\n2\t\t[]"
    assert copy_text("csv", names, rows, header=False) == '1,,"[0.1,-2.5]"\n2,,[]'
    assert copy_text("json", names, rows) == (
        '[\n  {"id": 1, "v": [0.1,-2.5]},\n  {"id": 2, "email": null, "v": []}\n]'
    )
    assert copy_text("markdown", names, rows).splitlines()[2:] == [
        "| 1 |  | [0.1,-2.5] |", "| 2 | *NULL* | [] |"]
    assert json_text({"nested": {"gone": MISSING, "here": 1}}) == '{"nested":{"here":1}}'



def test_a_float32_vector_is_exported_in_full(tmp_path):
    """Every element of a float32 embedding reaches CSV and JSON files, each in the
    shortest text that reads back to the same float32."""
    import random
    import struct

    from dbplay_desktop.values import Vector

    generator = random.Random(7)
    raw = struct.pack("<1536f", *(generator.uniform(-1, 1) for _ in range(1536)))
    vector = Vector.from_bytes(raw)
    for fmt in ("csv", "json"):
        target = tmp_path / f"out.{fmt}"
        export_file(target, fmt, ["id", "embedding"], [(1, vector)])
        text = target.read_text(encoding="utf-8")
        if fmt == "csv":
            field = text.split("\n")[1].split(",", 1)[1].strip('"')
            values = json.loads(field)
        else:
            values = json.loads(text)[0]["embedding"]
        assert len(values) == 1536
        assert struct.pack("<1536f", *values) == raw  # exact, element for element
    assert copy_text("tsv", ["v"], [(vector,)], header=False).count(",") == 1535


def test_the_grid_values_module_only_adapts_the_one_formatter():
    """``ui/results/values.py`` re-exports :mod:`dbplay_desktop.values`: no rule of its
    own for NaN, Decimal, dates or anything else."""
    import inspect

    import dbplay_desktop.ui.results.values as grid_values
    import dbplay_desktop.values as values

    own = [name for name, member in vars(grid_values).items()
           if (inspect.isfunction(member) or inspect.isclass(member))
           and member.__module__ == grid_values.__name__]
    assert own == []
    for name in grid_values.__all__:
        assert getattr(grid_values, name) is getattr(values, name)
