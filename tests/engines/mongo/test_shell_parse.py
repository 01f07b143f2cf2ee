"""The mongosh parser: targets, methods, chains, literals, and every refusal located."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone

import pytest
from bson import Binary, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from dbplay_desktop.engines.mongo.shell.allow import changes_state
from dbplay_desktop.engines.mongo.shell.commands import COLLECTION, DATABASE, SHOW
from dbplay_desktop.engines.mongo.shell.parse import parse_shell
from dbplay_desktop.engines.mongo.shell.words import shell_keywords
from dbplay_desktop.errors import QueryError


def one(text: str):
    (command,) = parse_shell(text)
    return command


def value(literal: str):
    return one(f"db.a.insertOne({{v: {literal}}})").calls[0].args[0]["v"]


def refused(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_shell(text)
    error = info.value
    assert "\n" not in str(error)
    assert f"at line {error.line}, column {error.column}" in str(error)
    return error


# ------------------------------------------------------------------ targets and chains


def test_collection_targets() -> None:
    for text, name in [("db.users.find()", "users"), ('db["my coll"].find()', "my coll"),
                       ("db['a'].find()", "a"), ('db.getCollection("with space").find()',
                                                 "with space"), ("db.a.b.find()", "a.b")]:
        command = one(text)
        assert (command.target, command.collection, command.method) == (COLLECTION, name, "find")


def test_database_target_and_show() -> None:
    command = one('db.createCollection("x", {capped: true, size: 1024})')
    assert (command.target, command.collection) == (DATABASE, None)
    assert command.calls[0].args == ("x", {"capped": True, "size": 1024})
    assert [c.method for c in parse_shell("show dbs\nshow databases\nshow collections\n"
                                          "show tables")] == ["dbs", "dbs", "collections",
                                                              "collections"]
    assert one("show dbs").target == SHOW


def test_chain_and_call_locations() -> None:
    command = one("db.a.find({a: 1})\n  .sort({a: -1})\n  .limit(2).skip(1)")
    assert [call.name for call in command.chain] == ["sort", "limit", "skip"]
    assert (command.calls[0].line, command.calls[0].column) == (1, 6)
    assert (command.chain[0].line, command.chain[0].column) == (2, 4)
    assert command.chain[1].args == (2,)


@pytest.mark.parametrize("text", [
    "db.a.find()", "db.a.findOne({a: 1})", "db.a.aggregate([{$match: {}}])",
    "db.a.countDocuments({})", "db.a.estimatedDocumentCount()", 'db.a.distinct("f")',
    "db.a.insertOne({})", "db.a.insertMany([{}, {}])", "db.a.updateOne({}, {$set: {a: 1}})",
    "db.a.updateMany({}, [{$set: {a: 1}}])", "db.a.replaceOne({}, {a: 1})",
    "db.a.deleteOne({})", "db.a.deleteMany({})", "db.a.findOneAndUpdate({}, {$inc: {a: 1}})",
    "db.a.findOneAndReplace({}, {})", "db.a.findOneAndDelete({})",
    "db.a.bulkWrite([{insertOne: {document: {}}}])",
    "db.a.update({}, {$set: {a: 1}}, {multi: true, upsert: true})", "db.a.insert([{}])",
    "db.a.remove({})", "db.a.createIndex({a: 1}, {unique: true})",
    "db.a.createIndexes([{a: 1}])", "db.a.getIndexes()", 'db.a.dropIndex("a_1")',
    "db.a.dropIndexes()", "db.a.drop()", 'db.a.renameCollection("b")', "db.a.stats()",
    "db.a.count()", "db.getCollectionNames()", "db.getCollectionInfos()",
    "db.runCommand({ping: 1})", 'db.runCommand("buildInfo")', "db.stats()",
    "db.dropDatabase()", 'db.createView("v", "a", [{$match: {}}])',
    "db.a.find().sort({a: 1}).limit(1).skip(1).hint({a: 1}).collation({locale: 'en'})"
    ".maxTimeMS(10).pretty().toArray()", "db.a.find().count()", "db.a.find().explain()",
    'db.a.aggregate([]).explain("executionStats")',
])
def test_allowed(text: str) -> None:
    assert one(text).statement.text == text


def test_changes_state() -> None:
    reads = ["db.a.find()", "db.a.aggregate([{$match: {}}])", "db.a.countDocuments()",
             'db.a.distinct("x")', "db.a.getIndexes()", "db.a.stats()", "show dbs",
             "db.a.find().explain()", "db.getCollectionNames()", "db.runCommand({ping: 1})",
             "db.stats()", "db.a.count()"]
    writes = ["db.a.insertOne({})", 'db.a.aggregate([{$out: "b"}])',
              'db.a.aggregate([{$merge: {into: "b"}}])', "db.a.drop()", "db.dropDatabase()",
              'db.createCollection("x")', "db.runCommand({drop: 'a'})", "db.a.createIndex({a: 1})"]
    assert [changes_state(one(t)) for t in reads] == [False] * len(reads)
    assert [changes_state(one(t)) for t in writes] == [True] * len(writes)


# ------------------------------------------------------------------ literals


def test_plain_literals() -> None:
    doc = value("""{a: 1, "$set": 'x', 'b c': [1, -2, 2.5, -0.5, 1e3, 0x1F, 0b11, 0o7, 1_000,
                   true, false, null, undefined,], n: {deep: {er: "\\u00fc\\n\\t\\x41\\u{1F600}"}},
                   t: `tmpl\nline`, 5: 1, big: 99999999999999999999, l: 10n, inf: -Infinity}""")
    assert doc["a"] == 1 and type(doc["a"]) is int
    assert doc["$set"] == "x"
    assert doc["b c"] == [1, -2, 2.5, -0.5, 1000.0, 31, 3, 7, 1000, True, False, None, None]
    assert type(doc["b c"][4]) is float
    assert doc["n"] == {"deep": {"er": "ü\n\tA😀"}}
    assert doc["t"] == "tmpl\nline"
    assert doc["5"] == 1
    assert doc["big"] == 1e20 and isinstance(doc["big"], float)
    assert doc["l"] == Int64(10) and isinstance(doc["l"], Int64)
    assert doc["inf"] == -math.inf
    assert math.isnan(value("NaN"))
    assert value("-9223372036854775808") == -(2 ** 63)


def test_shell_constructors() -> None:
    assert value('ObjectId("0123456789abcdef01234567")') == ObjectId("0123456789abcdef01234567")
    assert isinstance(value("ObjectId()"), ObjectId)
    assert isinstance(value("new ObjectId()"), ObjectId)
    utc = timezone.utc
    assert value('ISODate("2020-01-02T03:04:05.678Z")') == datetime(2020, 1, 2, 3, 4, 5, 678000,
                                                                     tzinfo=utc)
    assert value('ISODate("2020-01-02")') == datetime(2020, 1, 2, tzinfo=utc)
    assert value('new ISODate("2020-01-02T00:00:00+02:00")') == datetime(2020, 1, 1, 22,
                                                                          tzinfo=utc)
    assert value("new Date(0)") == datetime(1970, 1, 1, tzinfo=utc)
    assert value("new Date(-86400000)") == datetime(1969, 12, 31, tzinfo=utc)
    assert value('new Date("2020-01-02")') == datetime(2020, 1, 2, tzinfo=utc)
    assert isinstance(value("new Date()"), datetime)
    assert isinstance(value("Date()"), str) and "GMT" in value("Date()")
    assert value('NumberLong("9223372036854775807")') == Int64(2 ** 63 - 1)
    assert isinstance(value("NumberLong(5)"), Int64)
    assert value("NumberInt(7)") == 7 and type(value("NumberInt('7')")) is int
    assert value('NumberDecimal("1.10")') == Decimal128("1.10")
    assert value('UUID("12345678-1234-5678-1234-567812345678")') == uuid.UUID(
        "12345678-1234-5678-1234-567812345678")
    assert isinstance(value("UUID()"), uuid.UUID)
    assert value('BinData(0, "AQI=")') == Binary(b"\x01\x02", 0)
    assert value('HexData(5, "0102")') == Binary(b"\x01\x02", 5)
    assert value("Timestamp(1, 2)") == Timestamp(1, 2)
    assert value("Timestamp({t: 3, i: 4})") == Timestamp(3, 4)
    assert value("new Timestamp(5, 6)") == Timestamp(5, 6)
    assert isinstance(value("MinKey()"), MinKey) and isinstance(value("MinKey"), MinKey)
    assert isinstance(value("MaxKey()"), MaxKey) and isinstance(value("new MaxKey()"), MaxKey)
    assert value("/a\\/b.*/gim") == Regex("a\\/b.*", "im")


@pytest.mark.parametrize("literal, words", [
    ('ObjectId("zz")', "is not 24 hex digits"), ('ISODate("yesterday")', "ISO 8601"),
    ("NumberInt(3000000000)", "out of range"), ('NumberDecimal("x")', "not a decimal"),
    ('UUID("nope")', "not a UUID"), ('BinData(0, "***")', "not base64"),
    ("BinData(300, '')", "subtype"), ("Timestamp(-1, 0)", "out of range"),
    ("Code('x')", "Code() is not allowed"), ("017", "legacy octal"),
    ("/x/q", "flag 'q'"), ("new Date(1, 2, 3)", "takes no argument, a date string"),
])
def test_bad_constructor_arguments(literal: str, words: str) -> None:
    error = refused(f"db.a.insertOne({{v: {literal}}})")
    assert words in str(error)
    assert error.line == 1 and error.column >= 20


# ------------------------------------------------------------------ refusals, located


@pytest.mark.parametrize("text, words, line, column", [
    ("x = 1", "assignments are not allowed", 1, 1),
    ("db.a.find()\nlet a = 1", "declarations", 2, 1),
    ("for (;;) {}", "loops are not allowed", 1, 1),
    ("while (true) db.a.drop()", "loops are not allowed", 1, 1),
    ("db.a.find({$where: 'sleep(1)'})", "$where runs JavaScript", 1, 12),
    ("db.a.aggregate([{$project: {x: {$function: {}}}}])", "$function", 1, 33),
    ('db.a.aggregate([{$group: {_id: 1, x: {"$accumulator": {}}}}])', "$accumulator", 1, 39),
    ("db.a.find(function () { return 1 })", "functions are not allowed", 1, 11),
    ("db.a.find({a: () => 1})", "functions are not allowed", 1, 15),
    ("function f() {}", "functions are not allowed", 1, 1),
    ("this.constructor()", "'this' is not available", 1, 1),
    ('require("fs")', "require() is not allowed", 1, 1),
    ('require("child_process").exec("ls")', "require() is not allowed", 1, 1),
    ("db.a.find(x)", "variables are not available", 1, 11),
    ("db.a.find({a})", "variables are not available", 1, 12),
    ("db.a.find({...x})", "spread", 1, 12),
    ("db.a.find(...x)", "spread", 1, 11),
    ("db.a.find({[k]: 1})", "computed keys", 1, 12),
    ("db.a.find({a: `${1}`})", "template strings with ${...}", 1, 16),
    ("db.a.find({a: 1 + 2})", "expressions are not evaluated", 1, 15),
    ("db.a.find({a: Math.PI})", "property access", 1, 15),
    ("db.a.find({a: [1,,2]})", "empty array slots", 1, 18),
    ("db.a.find({a: 1}", "'(' is never closed", 1, 10),
    ("db.a.find({a: 1)", "missing '}'", 1, 16),
    ("db.a.insertOne({a: [1, 2})", "missing ']'", 1, 25),
    ("db.a.find() junk", "unknown name 'junk'", 1, 13),
    ("db.a.foo()", "db.a.foo() is not an allowed method", 1, 6),
    ("db.eval('1')", "db.eval() is not an allowed method", 1, 4),
    ('db.getSiblingDB("admin").a.find()', "cannot hold collections", 1, 1),
    ("db.a.find", "does nothing", 1, 1),
    ("db", "does nothing", 1, 1),
    ("db.a.insertOne()", "needs at least 1 argument", 1, 6),
    ("db.a.insertOne({}, {}, {})", "takes at most 2 arguments", 1, 24),
    ("db.a.getIndexes(1)", "takes no arguments", 1, 17),
    ("db.a.insertOne([1])", "must be a document", 1, 16),
    ("db.a.find().limit('x')", "must be an integer", 1, 19),
    ("db.a.findOne().sort({})", "cannot follow findOne()", 1, 16),
    ("db.a.find().count().limit(1)", "cannot follow .count()", 1, 21),
    ("db.a.find().limit(1).limit(2)", "given twice", 1, 22),
    ("db.a.find().forEach()", "not an allowed cursor method", 1, 13),
    ("db.a.aggregate([]).sort({})", "cannot follow aggregate()", 1, 20),
    ("db.stats().limit(1)", "cannot follow stats()", 1, 12),
    ("db.runCommand({shutdown: 1})", "not allowed in a playground", 1, 15),
    ("db.runCommand({eval: 'x'})", "not allowed in a playground", 1, 15),
    ('db.a.aggregate([{$out: {db: "admin", coll: "x"}}])', "another database", 1, 15),
    ('db.a.aggregate([{$merge: {into: {db: "o", coll: "x"}}}])', "another database", 1, 15),
    ("use admin", "use is not available", 1, 1),
    ("show users", "show users is not available", 1, 6),
    ("db.a?.find()", "optional chaining", 1, 1),
    ("db.a.find()\n\n  db.b.find(x)", "variables", 3, 13),
    ("db.a.find()\r\ndb.b.find(x)", "variables", 2, 11),
    ('db.a.find({é: "ü"}); db.b.find(x)', "variables", 1, 32),
])
def test_refused(text: str, words: str, line: int, column: int) -> None:
    error = refused(text)
    assert words in str(error), str(error)
    assert (error.line, error.column) == (line, column), str(error)
    assert text.splitlines(keepends=True) and error.position is not None
    offset = sum(len(part) for part in text.splitlines(keepends=True)[:line - 1])
    assert error.position == offset + column - 1


def test_deep_nesting_is_refused_without_blowing_the_stack() -> None:
    for opener, closer in (("[", "]"), ("{a: ", "}")):
        text = "db.a.insertOne({a: " + opener * 10_000 + "1" + closer * 10_000 + "})"
        assert "nest more than 100 levels" in str(refused(text))
    assert refused("(" * 10_000 + ")" * 10_000).line == 1
    assert "never closed" in str(refused("db.a.find(" + "{a: " * 10_000))
    assert refused("db.a.find()" + ".limit(1)" * 10_000).line == 1


def test_big_statements() -> None:
    command = one('db.a.insertOne({a: "' + "x" * 5_000_000 + '"})')
    assert len(command.calls[0].args[0]["a"]) == 5_000_000
    error = refused('db.a.insertOne({a: "' + "x" * 5_000_000 + '"}, x)')
    assert "variables" in str(error) and error.column == 5_000_025
    assert "longer than 16 MB" in str(refused('\n db.a.insertOne({a: "' + "x" * 17_000_000
                                               + '"})'))


def test_first_bad_statement_stops_the_text() -> None:
    error = refused("db.a.find()\nshow dbs\ndb.b.find({$where: 1})\nx = 1")
    assert (error.line, error.column) == (3, 12)


def test_keywords() -> None:
    words = shell_keywords()
    for word in ("find", "aggregate", "sort", "toArray", "ObjectId", "ISODate", "$match",
                 "$group", "$set", "$lookup", "$expr", "$elemMatch", "$push"):
        assert word in words
    assert "$where" not in words and len(words) == len(set(words))
