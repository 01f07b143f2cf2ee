"""A Chroma database's catalog: its collections and the metadata keys of their records.

Each collection (kind ``collection``) says its record count, distance space, embedding
function and dimension (when a record has an embedding); its children (kind ``field``)
are the metadata keys of up to :data:`SAMPLE` records, in the order first seen, each
with the types seen (``int | str``). Completion inserts a collection's name, or
``collection("my-docs")`` when the name is no Python identifier.
"""

from __future__ import annotations

import json
import keyword
from typing import Any

from dbplay_desktop.engines.base import CatalogItem

#: How many records are read to find a collection's metadata keys.
SAMPLE = 100


def insert_text(name: str) -> str:
    if name.isidentifier() and not keyword.iskeyword(name):
        return name
    return f"collection({json.dumps(name)})"


def _space(collection: Any) -> str:
    try:
        configuration = collection.configuration_json or {}
    except Exception:
        configuration = {}
    for index in ("hnsw", "spann"):
        space = (configuration.get(index) or {}).get("space")
        if space:
            return str(space)
    metadata = collection.metadata or {}
    return str(metadata.get("hnsw:space", "l2"))


def describe(collection: Any) -> CatalogItem:
    """One collection as a catalog node, with its sampled metadata keys."""
    from dbplay_desktop.engines.chroma.session import embedding_function_name

    sample = collection.get(limit=SAMPLE, include=["metadatas"])
    count = collection.count()
    types: dict[str, list[str]] = {}
    for metadata in sample.get("metadatas") or []:
        for key, value in (metadata or {}).items():
            seen = types.setdefault(key, [])
            name = type(value).__name__
            if name not in seen:
                seen.append(name)
    dimension = None
    if count:
        first = collection.get(limit=1, include=["embeddings"])
        embeddings = first.get("embeddings")
        if embeddings is not None and len(embeddings):
            dimension = len(embeddings[0])
    parts = [f"{count} record{'' if count == 1 else 's'}", _space(collection),
             embedding_function_name(collection)]
    if dimension is not None:
        parts.append(f"{dimension} dimensions")
    children = [CatalogItem(key, "field", " | ".join(kinds), key)
                for key, kinds in types.items()]
    return CatalogItem(collection.name, "collection", ", ".join(parts),
                       insert_text(collection.name), children)


def read_catalog(client: Any) -> list[CatalogItem]:
    """Every collection of the client's database, by name."""
    items = []
    offset = 0
    while True:
        page = client.list_collections(limit=100, offset=offset)
        for collection in page:
            items.append(describe(collection))
        if len(page) < 100:
            break
        offset += 100
    return sorted(items, key=lambda item: item.name)
