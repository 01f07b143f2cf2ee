"""The MongoDB catalog: collections with options, sampled fields and indexes; views."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("pymongo")

from dbplay_desktop.engines.base import CatalogItem
from dbplay_desktop.engines.mongo.catalog import SAMPLE_SIZE, bson_type, insert_text
from dbplay_desktop.engines.mongo.engine import MongoEngine
from dbplay_desktop.engines.mongo.session import MongoSession


@pytest.fixture
def session(mongo_uri: str) -> Iterator[MongoSession]:
    engine = MongoEngine(mongo_uri)
    database = engine.create_sandbox()
    session = engine.connect(database)
    try:
        yield session
    finally:
        session.close()
        engine.drop_sandbox(database)
        engine.close()


def run_all(session: MongoSession, text: str) -> None:
    for result in session.execute(text):
        assert result.error is None, result.error
        result.fetch_all()


def by_name(items: list[CatalogItem]) -> dict[str, CatalogItem]:
    return {item.name: item for item in items}


def test_empty_database_has_an_empty_catalog(session: MongoSession) -> None:
    assert session.catalog() == []


def test_collections_fields_indexes_and_views(session: MongoSession) -> None:
    run_all(session, "\n".join([
        'db.createCollection("capped", {capped: true, size: 4096, max: 10})',
        'db.createCollection("checked", {validator: {a: {$exists: true}}, '
        'validationLevel: "moderate"})',
        'db.pets.insertMany([{_id: 1, name: "Rex", tags: ["a"]}, {_id: 2, name: null, '
        'age: NumberLong(3)}, {_id: ObjectId("507f1f77bcf86cd799439011"), extra: {x: 1}}])',
        'db.pets.createIndex({name: 1}, {unique: true, sparse: true})',
        'db.pets.createIndex({age: -1}, {partialFilterExpression: {age: {$gt: 1}}})',
        'db.pets.createIndex({when: 1}, {expireAfterSeconds: 3600})',
        'db.createView("named", "pets", [{$match: {name: {$ne: null}}}])',
        'db.getCollection("two words").insertOne({a: 1})',
    ]))
    items = by_name(session.catalog())
    assert set(items) == {"capped", "checked", "pets", "named", "two words"}
    pets = items["pets"]
    assert pets.kind == "collection" and pets.insert_text == "db.pets"
    fields = [(c.name, c.detail) for c in pets.children if c.kind == "field"]
    assert fields == [("_id", "int | objectId"), ("name", "string | null"),
                      ("tags", "array"), ("age", "long"), ("extra", "object")]
    indexes = {c.name: c.detail for c in pets.children if c.kind == "index"}
    assert indexes["_id_"] == "{ _id: 1 }"
    assert indexes["name_1"] == "{ name: 1 }, unique, sparse"
    assert indexes["age_-1"] == "{ age: -1 }, partial"
    assert indexes["when_1"] == "{ when: 1 }, ttl 3600 s"
    assert items["capped"].detail == "capped 4,096 bytes, max 10"
    assert items["checked"].detail == "validator (moderate)"
    view = items["named"]
    assert view.kind == "view" and view.detail == "on pets"
    assert [c.name for c in view.children] == ["_id", "name", "tags"]
    assert items["two words"].insert_text == 'db.getCollection("two words")'


def test_fields_are_sampled_from_the_first_documents(session: MongoSession) -> None:
    first = ", ".join(f"{{_id: {i}}}" for i in range(SAMPLE_SIZE))
    run_all(session, f"db.t.insertMany([{first}])\ndb.t.insertOne({{_id: -1, late: 1}})")
    (item,) = session.catalog()
    assert [c.name for c in item.children if c.kind == "field"] == ["_id"]


def test_insert_text_and_types() -> None:
    assert insert_text("pets") == "db.pets"
    assert insert_text("stats") == 'db.getCollection("stats")'
    assert insert_text("a-b") == 'db.getCollection("a-b")'
    assert insert_text("$x") == "db.$x"
    assert bson_type(2**40) == "long" and bson_type(1) == "int" and bson_type(True) == "bool"
