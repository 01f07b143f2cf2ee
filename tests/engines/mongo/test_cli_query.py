"""``dbplay query`` on a MongoDB database through the real command in a subprocess: mongosh
text, documents as relaxed Extended JSON, the union of fields in table and csv."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

pytest.importorskip("pymongo")

from dbplay_desktop.engines.mongo.engine import MongoEngine
from tests.test_cli import run_dbplay

SETUP = (
    'db.pets.insertMany([{_id: 1, name: "Rex", born: ISODate("2020-05-06T07:08:09Z")},'
    ' {_id: 2, name: "Tom", weight: NumberDecimal("4.50")},'
    ' {_id: 3, name: "Kit", tags: ["shy", "black"], id64: NumberLong("9007199254740993")}])'
)


@pytest.fixture
def pets_uri(mongo_uri: str) -> Iterator[str]:
    engine = MongoEngine(mongo_uri)
    database = engine.create_sandbox()
    try:
        with engine.connect(database) as session:
            for result in session.execute(SETUP):
                assert result.error is None, result.error
                result.close()
        base = mongo_uri.rstrip("/")
        yield f"{base}/{database}"
    finally:
        engine.drop_sandbox(database)
        engine.close()


def test_json_prints_whole_documents_in_relaxed_extended_json(pets_uri: str) -> None:
    done = run_dbplay("query", "--source", pets_uri, "--format", "json",
                      "db.pets.find().sort({_id: 1}); db.pets.countDocuments({})")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2  # one line per statement
    first = json.loads(lines[0])
    assert first["documents"] == [
        {"_id": 1, "name": "Rex", "born": {"$date": "2020-05-06T07:08:09Z"}},
        {"_id": 2, "name": "Tom", "weight": {"$numberDecimal": "4.50"}},
        {"_id": 3, "name": "Kit", "tags": ["shy", "black"], "id64": 9007199254740993},
    ]
    assert first["statement"] == 1 and first["truncated"] is False
    assert json.loads(lines[1])["statement"] == 2


def test_csv_and_table_use_the_union_of_top_level_fields(pets_uri: str) -> None:
    done = run_dbplay("query", "--source", pets_uri, "--format", "csv",
                      "db.pets.find({}, {_id: 1, name: 1, weight: 1}).sort({_id: 1})")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["_id", "name", "weight"]
    assert rows[1:] == [["1", "Rex", ""], ["2", "Tom", "4.50"], ["3", "Kit", ""]]
    table = run_dbplay("query", "--source", pets_uri, "db.pets.find().sort({_id: 1})")
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0]
    for field in ("_id", "name", "born", "weight", "tags", "id64"):
        assert field in header
    assert "(3 rows)" in table.stdout


def test_a_shell_error_names_its_line_and_column(pets_uri: str) -> None:
    done = run_dbplay("query", "--source", pets_uri, "db.pets.find()\nx = 1")
    assert done.returncode == 1
    assert "line 2" in done.stderr and "Traceback" not in done.stderr
