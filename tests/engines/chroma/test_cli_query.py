"""``dbplay query`` on an embedded Chroma store through the real command in a subprocess:
vector records as JSON rows whose embeddings carry every float, as float32's exact text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("chromadb")

from dbplay_desktop.values import Vector, float32_text
from tests.test_cli import run_dbplay

EMBEDDINGS = {
    "a": [0.1, 1 / 3, -2.5e-8, 7.0],
    "b": [0.5, 0.25, 3.141592653589793, -1.0e10],
}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    import chromadb

    folder = tmp_path / "store"
    client = chromadb.PersistentClient(path=str(folder))
    docs = client.create_collection("docs", configuration={"hnsw": {"space": "l2"}})
    docs.add(ids=list(EMBEDDINGS), embeddings=list(EMBEDDINGS.values()),
             documents=["first", "second"], metadatas=[{"n": 1}, {"n": 2}])
    return folder


def _texts(values: list[float]) -> list[str]:
    return list(Vector(values).texts())


def test_json_prints_records_with_whole_embeddings(store: Path) -> None:
    done = run_dbplay("query", "--source", f"chroma://{store}",
                      "docs.get(include=['embeddings'])", "--format", "json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # one line per statement
    answer = json.loads(lines[0])
    assert answer["statement"] == 1 and answer["truncated"] is False
    names = [column["name"] for column in answer["columns"]]
    assert "id" in names and "embedding" in names
    rows = {row[names.index("id")]: row[names.index("embedding")] for row in answer["rows"]}
    assert set(rows) == set(EMBEDDINGS)
    for key, values in EMBEDDINGS.items():
        # Every float, each read back to the float32 Chroma stored ...
        assert Vector(rows[key]) == Vector(values)
    # ... and written as float32's shortest exact text, not float64's long one.
    assert "[" + ",".join(_texts(EMBEDDINGS["a"])) + "]" in lines[0]
    assert float32_text(Vector([1 / 3])[0]) == "0.33333334"
    assert "0.33333334" in lines[0] and "0.3333333432674408" not in lines[0]


def test_a_query_and_a_count_print_one_line_each(store: Path) -> None:
    done = run_dbplay("query", "--source", f"chroma://{store}", "--format", "json",
                      "docs.query(query_embeddings=[[0.5, 0.25, 3.14, -1e10]], n_results=1)\n"
                      "docs.count()")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    names = [column["name"] for column in first["columns"]]
    assert [row[names.index("id")] for row in first["rows"]] == ["b"]
    assert second["statement"] == 2 and "error" not in second
    if second["columns"]:
        assert 2 in [value for row in second["rows"] for value in row]


def test_the_query_does_not_change_the_store(store: Path) -> None:
    import chromadb

    done = run_dbplay("query", "--source", f"chroma://{store}", "--format", "csv",
                      "docs.get(include=['documents', 'metadatas'])")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert "id" in header.split(",") and len(rows) == 2
    client = chromadb.PersistentClient(path=str(store))
    assert client.get_collection("docs").count() == 2
