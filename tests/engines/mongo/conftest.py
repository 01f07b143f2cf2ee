"""Fixtures of the MongoDB engine tests: a client on the test server and fresh database
names that are dropped after each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

pymongo = pytest.importorskip("pymongo")


@pytest.fixture
def client(mongo_uri: str) -> Iterator[pymongo.MongoClient]:
    client = pymongo.MongoClient(mongo_uri, uuidRepresentation="standard", tz_aware=True)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def databases(client: pymongo.MongoClient) -> Iterator[list[str]]:
    """Three fresh database names; every one is dropped after the test."""
    names = [f"mt_{uuid.uuid4().hex[:12]}" for _ in range(3)]
    try:
        yield names
    finally:
        for name in names:
            client.drop_database(name)
