"""BSON values as dbplay values (Tagged with exact text) and the Extended JSON copies."""

from __future__ import annotations

import datetime
import json
import re
import uuid

import pytest

pytest.importorskip("pymongo")

from bson import json_util
from bson.binary import Binary
from bson.code import Code
from bson.datetime_ms import DatetimeMS
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

from dbplay_desktop import values
from dbplay_desktop.engines.mongo.values import (
    copy_canonical_json,
    copy_relaxed_json,
    tag,
    untag,
)
from dbplay_desktop.values import MISSING, Tagged

OID = ObjectId("507f1f77bcf86cd799439011")
UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("raw", "type_name", "text", "json_value", "number"),
    [
        (OID, "ObjectId", 'ObjectId("507f1f77bcf86cd799439011")',
         {"$oid": "507f1f77bcf86cd799439011"}, False),
        (Int64(9007199254740993), "Int64", "9007199254740993", 9007199254740993, True),
        (Decimal128("1.50"), "Decimal128", "1.50", {"$numberDecimal": "1.50"}, True),
        (UUID, "UUID", 'UUID("12345678-1234-5678-1234-567812345678")',
         {"$uuid": "12345678-1234-5678-1234-567812345678"}, False),
        (Binary(b"\x00\x01\x02", 5), "Binary", 'Binary.createFromBase64("AAEC", 5)',
         {"$binary": {"base64": "AAEC", "subType": "05"}}, False),
        (Timestamp(1700000000, 7), "Timestamp", "Timestamp({ t: 1700000000, i: 7 })",
         {"$timestamp": {"t": 1700000000, "i": 7}}, False),
        (Regex("^a.c$", "im"), "Regex", "/^a.c$/im",
         {"$regularExpression": {"pattern": "^a.c$", "options": "im"}}, False),
        (MinKey(), "MinKey", "MinKey()", {"$minKey": 1}, False),
        (MaxKey(), "MaxKey", "MaxKey()", {"$maxKey": 1}, False),
        (Code("function () { return 1; }"), "Code", 'Code("function () { return 1; }")',
         {"$code": "function () { return 1; }"}, False),
        (DBRef("pets", 3), "DBRef", 'DBRef("pets", 3)', {"$ref": "pets", "$id": 3}, False),
        (DBRef("pets", OID, "other"), "DBRef",
         'DBRef("pets", ObjectId("507f1f77bcf86cd799439011"), "other")',
         {"$ref": "pets", "$id": {"$oid": "507f1f77bcf86cd799439011"}, "$db": "other"}, False),
        (DatetimeMS(-(10**15)), "Date", "Date(-1000000000000000)",
         {"$date": {"$numberLong": "-1000000000000000"}}, False),
    ],
)
def test_bson_types_are_tagged(raw, type_name, text, json_value, number) -> None:
    value = tag(raw)
    assert isinstance(value, Tagged)
    assert (value.type_name, value.text, value.json, value.number) == (
        type_name, text, json_value, number)
    assert value.raw is raw or value.raw == raw
    assert values.plain_text(value) == text
    assert values.type_label(value) == type_name
    assert json.loads(values.json_text(value)) == json_value


def test_binary_subtype_4_is_a_uuid_and_subtype_0_bytes() -> None:
    assert tag(Binary(UUID.bytes, 4)) == tag(UUID)
    plain = tag(b"\x01\x02")  # subtype 0: still Binary, so JSON writes {"$binary": ...}
    assert plain.type_name == "Binary" and plain.raw == Binary(b"\x01\x02", 0)
    assert plain.json == {"$binary": {"base64": "AQI=", "subType": "00"}}


def test_plain_values_stay_plain_and_documents_are_walked() -> None:
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    document = {"a": 1, "b": "x", "c": None, "d": [OID, {"e": Int64(2)}], "f": when,
                "g": 1.5, "h": True}
    value = tag(document)
    assert value["a"] == 1 and value["b"] == "x" and value["c"] is None
    assert value["g"] == 1.5 and value["h"] is True
    # Dates are BSON's Date: shown as text, relaxed Extended JSON {"$date": ...} in JSON.
    assert value["f"].type_name == "Date" and value["f"].raw is when
    assert value["f"].text == "2024-05-06 07:08:09.000+00:00"
    assert value["f"].json == {"$date": "2024-05-06T07:08:09Z"}
    assert value["d"][0] == Tagged("ObjectId", 'ObjectId("507f1f77bcf86cd799439011")')
    assert value["d"][1]["e"] == Tagged("Int64", "2")
    assert values.json_text(value["d"]) == '[{"$oid":"507f1f77bcf86cd799439011"},{"e":2}]'
    assert untag(value) == document


def test_regex_with_python_flags() -> None:
    value = tag(Regex("a", re.IGNORECASE | re.MULTILINE))
    assert value.text == "/a/im"


def test_copy_relaxed_and_canonical_json() -> None:
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    columns = ["_id", "n", "big", "when", "tags", "gone"]
    rows = [
        (tag(OID), 1, tag(Int64(5)), when, [tag(Decimal128("2.5"))], MISSING),
        (2, None, MISSING),  # a row of an earlier batch: shorter than the columns
    ]
    relaxed = copy_relaxed_json(columns, rows).splitlines()
    assert len(relaxed) == 2
    first = json.loads(relaxed[0])
    assert first == {"_id": {"$oid": "507f1f77bcf86cd799439011"}, "n": 1, "big": 5,
                     "when": {"$date": "2024-05-06T07:08:09Z"},
                     "tags": [{"$numberDecimal": "2.5"}]}
    assert json.loads(relaxed[1]) == {"_id": 2, "n": None}
    canonical = copy_canonical_json(columns, rows).splitlines()
    first = json.loads(canonical[0])
    assert first["n"] == {"$numberInt": "1"}
    assert first["big"] == {"$numberLong": "5"}
    assert first["when"] == {"$date": {"$numberLong": "1714979289000"}}
    back = json_util.loads(canonical[0])
    assert isinstance(back["big"], Int64) and back["_id"] == OID
    assert "gone" not in first
