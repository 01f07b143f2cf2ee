"""MongoSession against a real server: every method family, streaming, values, cancel,
timeout, located errors and refusals."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pymongo")

from bson.int64 import Int64

from dbplay_desktop.engines.base import (
    ColumnKind,
    QueryCancelled,
    QueryError,
    ResultKind,
    StatementResult,
)
from dbplay_desktop.engines.mongo.engine import MongoEngine
from dbplay_desktop.engines.mongo.session import MongoSession
from dbplay_desktop.values import MISSING, Tagged
from tests.helpers import mongo_long_query


@pytest.fixture(scope="module")
def long_query(mongo_uri: str) -> str:
    """Runs until cancelled; the server ends it after 30 s at most."""
    return mongo_long_query(mongo_uri, 30)


@pytest.fixture(scope="module")
def engine(mongo_uri: str) -> Iterator[MongoEngine]:
    engine = MongoEngine(mongo_uri)
    yield engine
    engine.close()


@pytest.fixture
def session(engine: MongoEngine) -> Iterator[MongoSession]:
    database = engine.create_sandbox()
    session = engine.connect(database)
    try:
        yield session
    finally:
        session.close()
        engine.drop_sandbox(database)


def run(session: MongoSession, text: str) -> list[tuple[StatementResult, list[tuple[Any, ...]]]]:
    out = []
    for result in session.execute(text):
        rows = result.fetch_all() if result.error is None else []
        out.append((result, rows))
    return out


def one(session: MongoSession, text: str) -> tuple[StatementResult, list[tuple[Any, ...]]]:
    ((result, rows),) = run(session, text)
    assert result.error is None, result.error
    return result, rows


def names(result: StatementResult) -> list[str]:
    return [c.name for c in result.columns or []]


def docs(result: StatementResult, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    columns = names(result)
    return [{k: v for k, v in zip(columns, row, strict=False) if v is not MISSING}
            for row in rows]


PETS = ('db.pets.insertMany([{_id: 1, name: "Rex", age: 3, kind: "dog"}, '
        '{_id: 2, name: "Tom", age: 5, kind: "cat"}, {_id: 3, name: "Kit", age: 1, '
        'kind: "cat"}, {_id: 4, name: null, kind: "fish"}])')


def test_find_with_projection_and_cursor_chain(session: MongoSession) -> None:
    one(session, PETS)
    result, rows = one(session, 'db.pets.find({kind: "cat"}, {name: 1}).sort({age: -1})')
    assert result.kind is ResultKind.DOCUMENTS and result.changes_state is False
    assert names(result) == ["_id", "name"] and rows == [(2, "Tom"), (3, "Kit")]
    assert result.columns is not None and result.columns[0].kind is ColumnKind.ID
    _result, rows = one(session, "db.pets.find({}, {_id: 0, name: 1}).sort({_id: 1})"
                                 ".skip(1).limit(2)")
    assert rows == [("Tom",), ("Kit",)]
    _result, rows = one(session, 'db.pets.find({kind: "cat"}).count()')
    assert rows == [(2,)]
    _result, rows = one(session, "db.pets.find().sort({_id: 1}).limit(1).hint({_id: 1})"
                                 ".maxTimeMS(5000).pretty()")
    assert rows == [(1, "Rex", 3, "dog")]
    result, rows = one(session, "db.pets.find({age: {$gt: 1}}).explain()")
    assert len(rows) == 1 and "queryPlanner" in names(result)
    _result, rows = one(session, 'db.pets.find({name: "rex"}).collation({locale: "en", '
                                 'strength: 2})')
    assert [row[0] for row in rows] == [1]


def test_reads_findone_aggregate_counts_distinct(session: MongoSession) -> None:
    one(session, PETS)
    result, rows = one(session, "db.pets.findOne({_id: 2})")
    assert docs(result, rows) == [{"_id": 2, "name": "Tom", "age": 5, "kind": "cat"}]
    assert one(session, "db.pets.findOne({_id: 99})")[1] == []
    result, rows = one(session, 'db.pets.aggregate([{$group: {_id: "$kind", n: {$sum: 1}}},'
                                " {$sort: {_id: 1}}])")
    assert rows == [("cat", 2), ("dog", 1), ("fish", 1)]
    assert result.changes_state is False
    assert one(session, 'db.pets.countDocuments({kind: "cat"})')[1] == [(2,)]
    assert one(session, "db.pets.estimatedDocumentCount()")[1] == [(4,)]
    assert one(session, 'db.pets.count({kind: "dog"})')[1] == [(1,)]
    result, rows = one(session, 'db.pets.distinct("kind")')
    assert names(result) == ["kind"] and sorted(r[0] for r in rows) == ["cat", "dog", "fish"]
    assert sorted(one(session, 'db.pets.distinct("name", {kind: "cat"})')[1]) == [
        ("Kit",), ("Tom",)]
    result, rows = one(session, "db.pets.aggregate([{$match: {}}]).explain()")
    assert len(rows) == 1


def test_writes_give_a_summary_row(session: MongoSession) -> None:
    result, rows = one(session, 'db.pets.insertOne({_id: 1, name: "Rex"})')
    assert result.changes_state is True and result.rowcount == 1
    assert docs(result, rows) == [{"acknowledged": True, "insertedId": 1}]
    result, rows = one(session, "db.pets.insertMany([{_id: 2}, {_id: 3}, {_id: 4}])")
    assert docs(result, rows) == [{"acknowledged": True, "insertedIds": [2, 3, 4]}]
    assert result.status == "inserted 3 documents" and result.rowcount == 3
    result, rows = one(session, "db.pets.updateOne({_id: 2}, {$set: {a: 1}})")
    assert docs(result, rows)[0]["matchedCount"] == 1 and result.rowcount == 1
    result, rows = one(session, "db.pets.updateMany({}, {$inc: {n: 1}})")
    assert docs(result, rows)[0]["modifiedCount"] == 4
    result, rows = one(session, 'db.pets.updateOne({_id: 9}, {$set: {a: 2}}, {upsert: true})')
    assert docs(result, rows)[0]["upsertedId"] == 9
    result, rows = one(session, 'db.pets.replaceOne({_id: 3}, {name: "new"})')
    assert docs(result, rows)[0]["modifiedCount"] == 1
    result, rows = one(session, "db.pets.findOneAndUpdate({_id: 3}, {$set: {b: 1}}, "
                                "{returnDocument: \"after\"})")
    assert docs(result, rows) == [{"_id": 3, "name": "new", "b": 1}]
    result, rows = one(session, "db.pets.findOneAndReplace({_id: 3}, {c: 1}, "
                                "{returnNewDocument: true})")
    assert docs(result, rows) == [{"_id": 3, "c": 1}]
    result, rows = one(session, "db.pets.findOneAndDelete({_id: 3})")
    assert docs(result, rows) == [{"_id": 3, "c": 1}]
    result, rows = one(session, "db.pets.deleteOne({_id: 9})")
    assert docs(result, rows) == [{"acknowledged": True, "deletedCount": 1}]
    result, rows = one(session, "db.pets.deleteMany({_id: {$gte: 2}})")
    assert docs(result, rows)[0]["deletedCount"] == 2 and result.status == "deleted 2 documents"
    result, rows = one(session, "db.pets.bulkWrite([{insertOne: {document: {_id: 10}}}, "
                                "{updateOne: {filter: {_id: 10}, update: {$set: {x: 1}}}}, "
                                "{replaceOne: {filter: {_id: 1}, replacement: {y: 2}}}, "
                                "{updateMany: {filter: {}, update: {$set: {z: 1}}}}, "
                                "{deleteOne: {filter: {_id: 10}}}, "
                                "{updateOne: {filter: {_id: 11}, update: {$set: {w: 1}}, "
                                "upsert: true}}, {deleteMany: {filter: {_id: 11}}}])")
    summary = docs(result, rows)[0]
    assert (summary["insertedCount"], summary["deletedCount"], summary["upsertedCount"]) \
        == (1, 2, 1)
    assert one(session, "db.pets.find()")[1] == [(1, 2, 1)]


def test_legacy_insert_update_remove(session: MongoSession) -> None:
    one(session, "db.pets.insert({_id: 1, a: 1})")
    one(session, "db.pets.insert([{_id: 2, a: 1}, {_id: 3, a: 2}])")
    result, rows = one(session, "db.pets.update({a: 1}, {$set: {b: 1}})")
    assert docs(result, rows)[0]["modifiedCount"] == 1
    result, rows = one(session, "db.pets.update({a: 1}, {$set: {b: 2}}, {multi: true})")
    assert docs(result, rows)[0]["modifiedCount"] == 2
    one(session, "db.pets.update({_id: 3}, {only: true})")  # a replacement
    assert one(session, "db.pets.findOne({_id: 3})")[1] == [(3, True)]
    result, rows = one(session, "db.pets.remove({a: 1}, true)")
    assert docs(result, rows)[0]["deletedCount"] == 1
    result, rows = one(session, "db.pets.remove({})")
    assert docs(result, rows)[0]["deletedCount"] == 2


def test_indexes_and_collections(session: MongoSession) -> None:
    result, rows = one(session, 'db.createCollection("pets", {capped: true, size: 65536})')
    assert result.columns is None and result.status == "created collection pets"
    assert result.changes_state is True
    result, _ = one(session, "db.pets.createIndex({name: 1}, {unique: true})")
    assert result.status == "created index name_1" and result.changes_state
    result, _ = one(session, "db.pets.createIndexes([{a: 1}, {b: -1}])")
    assert "a_1" in result.status and "b_-1" in result.status
    result, rows = one(session, "db.pets.getIndexes()")
    assert sorted(d["name"] for d in docs(result, rows)) == ["_id_", "a_1", "b_-1", "name_1"]
    assert result.changes_state is False
    one(session, 'db.pets.dropIndex("a_1")')
    one(session, "db.pets.dropIndex({b: -1})")
    result, rows = one(session, "db.pets.getIndexes()")
    assert sorted(d["name"] for d in docs(result, rows)) == ["_id_", "name_1"]
    one(session, "db.pets.dropIndexes()")
    assert len(one(session, "db.pets.getIndexes()")[1]) == 1
    result, rows = one(session, "db.pets.stats()")
    assert "ns" in names(result) or "count" in names(result)
    result, rows = one(session, 'db.getCollectionInfos({name: "pets"})')
    info = docs(result, rows)[0]
    assert info["name"] == "pets" and info["options"]["capped"] is True
    one(session, 'db.pets.renameCollection("animals")')
    assert one(session, "db.getCollectionNames()")[1] == [("animals",)]
    assert one(session, "show collections")[1] == [("animals",)]
    one(session, 'db.createView("few", "animals", [{$match: {a: 1}}])')
    result, _ = one(session, "db.few.drop()")
    assert result.status == "dropped collection few"
    result, _ = one(session, "db.animals.drop()")
    assert result.status == "dropped collection animals"
    assert one(session, "db.getCollectionNames()")[1] == []


def test_database_commands_and_show(session: MongoSession) -> None:
    one(session, PETS)
    assert one(session, "db.runCommand({ping: 1})")[1] == [(1.0,)]
    result, rows = one(session, 'db.runCommand({count: "pets"})')
    assert docs(result, rows)[0]["n"] == 4 and result.changes_state is False
    result, rows = one(session, 'db.runCommand({find: "pets", filter: {kind: "cat"}, '
                                "sort: {_id: 1}})")
    assert [row[0] for row in rows] == [2, 3]
    result, rows = one(session, "db.runCommand({listCollections: 1})")
    assert [d["name"] for d in docs(result, rows)] == ["pets"]
    result, rows = one(session, 'db.runCommand({collMod: "pets", validationLevel: "off"})')
    assert result.changes_state is True
    result, rows = one(session, "db.stats()")
    assert docs(result, rows)[0]["db"] == session.database
    assert "$clusterTime" not in names(result)
    result, rows = one(session, "show dbs")
    assert session.database in [row[0] for row in rows]


@pytest.mark.parametrize("command", [
    "db.runCommand({shutdown: 1})",
    "db.runCommand({fsync: 1})",
    "db.runCommand({setParameter: 1, logLevel: 5})",
    "db.runCommand({replSetGetStatus: 1})",
    'db.runCommand({createUser: "x", pwd: "y", roles: []})',
    'db.runCommand({copydb: 1, fromdb: "a", todb: "b"})',
    "db.runCommand({applyOps: []})",
    'db.runCommand({eval: "1"})',
    'db.runCommand({find: "pets", $db: "admin"})',
    'db.runCommand({aggregate: "pets", pipeline: [{$out: {db: "admin", coll: "x"}}], '
    "cursor: {}})",
])
def test_run_command_refusals(session: MongoSession, command: str) -> None:
    text = "db.runCommand({ping: 1})\n  " + command
    results = run(session, text)
    assert len(results) == 2 and results[0][0].error is None
    error = results[1][0].error
    assert isinstance(error, QueryError) and error.line == 2, error
    assert "\n" not in str(error)


def test_streaming_batches_add_columns_as_fields_appear(session: MongoSession) -> None:
    documents = ", ".join(
        f"{{_id: {i}, a: {i}" + (", late: true" if i >= 7 else "")
        + (", later: null" if i == 9 else "") + "}" for i in range(1, 11))
    one(session, f"db.t.insertMany([{documents}])")
    session.batch_size = 3
    result = next(session.execute("db.t.find().sort({_id: 1})"))
    assert names(result) == ["_id", "a"]
    widths = []
    batches = []
    for batch in result.batches():
        batches.append(batch)
        widths.append(len(result.columns or []))
        assert all(len(row) == len(result.columns or []) for row in batch)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert widths == [2, 2, 4, 4]
    assert names(result) == ["_id", "a", "late", "later"]
    assert batches[2][0] == (7, 7, True, MISSING)
    assert batches[2][2] == (9, 9, True, None)  # null is not MISSING
    assert batches[3][0] == (10, 10, True, MISSING)
    assert result.rowcount == 10 and result.status == "10 documents"


def test_a_big_result_is_fetched_batch_by_batch(session: MongoSession) -> None:
    docs_text = ", ".join(f"{{_id: {i}}}" for i in range(2000))
    one(session, f"db.t.insertMany([{docs_text}])")
    session.batch_size = 100
    result = next(session.execute("db.t.find()"))
    batches = result.batches()
    assert len(next(batches)) == 100
    result.close()
    assert list(batches) == []
    assert one(session, "db.t.countDocuments({})")[1] == [(2000,)]


def test_bson_values_come_back_tagged(session: MongoSession) -> None:
    one(session, 'db.v.insertOne({_id: ObjectId("507f1f77bcf86cd799439011"), '
                 "l: NumberLong(5), d: NumberDecimal(\"1.50\"), "
                 'u: UUID("12345678-1234-5678-1234-567812345678"), '
                 'when: ISODate("2024-05-06T07:08:09Z"), ts: Timestamp({t: 5, i: 6}), '
                 'r: /a+b/i, mn: MinKey(), mx: MaxKey(), i: 7, f: 1.5, s: "x", n: null, '
                 "nested: {deep: [NumberLong(1), {x: NumberDecimal(\"2\")}]}})")
    result, rows = one(session, "db.v.find()")
    (row,) = rows
    value = dict(zip(names(result), row, strict=True))
    assert value["_id"] == Tagged("ObjectId", 'ObjectId("507f1f77bcf86cd799439011")')
    assert value["l"] == Tagged("Int64", "5") and value["l"].number
    assert value["d"] == Tagged("Decimal128", "1.50")
    assert value["u"] == Tagged("UUID", 'UUID("12345678-1234-5678-1234-567812345678")')
    when = value["when"]
    assert when.type_name == "Date"
    assert when.raw == datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    assert when.raw.tzinfo is datetime.timezone.utc
    assert value["ts"] == Tagged("Timestamp", "Timestamp({ t: 5, i: 6 })")
    assert value["r"] == Tagged("Regex", "/a+b/i")
    assert value["mn"] == Tagged("MinKey", "MinKey()")
    assert value["mx"] == Tagged("MaxKey", "MaxKey()")
    assert (value["i"], value["f"], value["s"], value["n"]) == (7, 1.5, "x", None)
    assert value["nested"] == {"deep": [Tagged("Int64", "1"), {"x": Tagged("Decimal128", "2")}]}
    assert isinstance(value["nested"]["deep"][0].raw, Int64)
    kinds = {c.name: c.kind for c in result.columns or []}
    assert kinds["_id"] is ColumnKind.ID and kinds["nested"] is ColumnKind.JSON


def test_server_errors_are_located_on_the_call(session: MongoSession) -> None:
    text = "db.t.insertOne({_id: 1})\n\ndb.t.find({$bogus: 1})\ndb.t.insertOne({_id: 2})"
    results = run(session, text)
    assert len(results) == 2
    error = results[1][0].error
    assert isinstance(error, QueryError) and not isinstance(error, QueryCancelled)
    assert (error.line, error.column) == (3, 6) and "\n" not in str(error)
    assert error.code is not None
    results = run(session, "db.t.insertOne({_id: 1})")
    error = results[0][0].error
    assert isinstance(error, QueryError) and "duplicate key" in str(error)
    assert results[0][0].changes_state is True
    results = run(session, "db.t.find(")
    assert isinstance(results[0][0].error, QueryError)
    assert results[0][0].error.line == 1 and results[0][0].changes_state is False


def _cancel_in(session: MongoSession, text: str, after: float) -> tuple[StatementResult, float]:
    outcome: list[StatementResult] = []

    def work() -> None:
        for result in session.execute(text):
            try:
                result.fetch_all()
            except QueryCancelled:
                pass
            outcome.append(result)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    time.sleep(after)
    started = time.monotonic()
    session.cancel()
    worker.join(30)
    assert not worker.is_alive(), "cancel did not stop the statement"
    (result,) = outcome
    return result, time.monotonic() - started


def test_cancel_a_long_aggregation_from_another_thread(
    session: MongoSession, long_query: str
) -> None:
    result, took = _cancel_in(session, long_query, 1.0)
    assert isinstance(result.error, QueryCancelled), result.error
    assert took < 10
    assert result.error.line == 1
    assert one(session, "db.t.countDocuments({})")[1] == [(0,)]


def test_cancel_while_a_cursor_streams(session: MongoSession) -> None:
    """A cancel between batches: batches() raises QueryCancelled after the rows so far."""
    docs_text = ", ".join(f"{{_id: {i}}}" for i in range(50))
    one(session, f"db.t.insertMany([{docs_text}])")
    session.batch_size = 10
    result = next(session.execute("db.t.find()"))
    batches = result.batches()
    assert len(next(batches)) == 10
    session.cancel()
    with pytest.raises(QueryCancelled) as caught:
        next(batches)
    assert result.error is caught.value
    assert one(session, "db.t.countDocuments({})")[1] == [(50,)]


def test_timeout_stops_a_long_aggregation(session: MongoSession, long_query: str) -> None:
    session.set_timeout(1.0)
    started = time.monotonic()
    ((result, _rows),) = run(session, long_query)
    assert isinstance(result.error, QueryCancelled), result.error
    assert "timeout" in str(result.error)
    assert time.monotonic() - started < 15
    session.set_timeout(None)
    assert one(session, "db.t.countDocuments({})")[1] == [(0,)]


def test_changes_state_follows_the_allow_list(session: MongoSession) -> None:
    results = run(session, 'db.t.insertOne({a: 1})\ndb.t.find()\ndb.t.aggregate([{$out: "u"}])'
                           "\ndb.t.aggregate([])\nshow collections")
    assert [r.changes_state for r, _ in results] == [True, False, True, False, False]


def test_cancel_before_start_and_close_twice(engine: MongoEngine) -> None:
    database = engine.create_sandbox()
    try:
        session = engine.connect(database)
        results = session.execute("db.t.insertOne({a: 1})\ndb.t.find()")
        session.cancel()
        (result,) = list(results)
        assert isinstance(result.error, QueryCancelled)
        session.close()
        session.close()
    finally:
        engine.drop_sandbox(database)
