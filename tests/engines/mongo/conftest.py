"""Fixtures of the MongoDB engine tests: a client on the test server and fresh database
names that are dropped after each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

pymongo = pytest.importorskip("pymongo")

#: How long one drop after a test may take before it is tried again on a new client.
DROP_WAIT_SECONDS = 60


@pytest.fixture
def client(mongo_uri: str) -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(mongo_uri, uuidRepresentation="standard", tz_aware=True)
    try:
        yield client
    finally:
        client.close()


def drop_databases(mongo_uri: str, client: pymongo.MongoClient, names: list[str]) -> None:
    """Drop ``names`` after a test.

    SecantusDB keeps a read snapshot per connection; once in a long while a drop then
    waits on a snapshot another idle connection of the same client still holds. Closing
    that client lets the server go on, so a drop that has not finished in a minute is
    tried again on a new client instead of hanging the run.
    """
    for name in names:
        try:
            with pymongo.timeout(DROP_WAIT_SECONDS):
                client.drop_database(name)
            continue
        except pymongo.errors.PyMongoError:
            client.close()
        with (pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000) as fresh,
              pymongo.timeout(DROP_WAIT_SECONDS * 2)):
            fresh.drop_database(name)


@pytest.fixture
def databases(mongo_uri: str, client: pymongo.MongoClient) -> Iterator[list[str]]:
    """Three fresh database names; every one is dropped after the test."""
    names = [f"mt_{uuid.uuid4().hex[:12]}" for _ in range(3)]
    try:
        yield names
    finally:
        drop_databases(mongo_uri, client, names)
