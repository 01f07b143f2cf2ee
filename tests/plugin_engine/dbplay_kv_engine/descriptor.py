"""The kv engine as dbplay sees it before importing it (the entry point's target)."""

from __future__ import annotations

from dbplay_desktop.engines.descriptor import (
    Capabilities,
    CatalogKind,
    EngineDescriptor,
    LanguageSpec,
    icon_beside,
)

LANGUAGE = LanguageSpec(
    name="kv commands",
    lexer="text",
    splitter="dbplay_kv_engine.language:split_kv",
    comment_prefix="#",
    script_suffix=".kv",
    formatter="",
    keywords="dbplay_kv_engine.language:keywords",
    identifier_quote="",
    word_characters="_:.-",
    folds_to_lower=False,
)

DESCRIPTOR = EngineDescriptor(
    name="kv",
    display_name="Key-value store",
    engine="dbplay_kv_engine.engine:KvEngine",
    schemes=("kv",),
    language=LANGUAGE,
    uri_example="kv:///absolute/path/to/store.json",
    path_is_database=True,
    capabilities=Capabilities(needs_server=False, cancel=True, timeout=True),
    payload_format="kv-json",
    payload_version=1,
    catalog_kinds=(
        CatalogKind("prefix", "Prefixes", "table"),
        CatalogKind("key", "Keys", "column"),
    ),
    icon=icon_beside(__file__),
    local_uri="kv://",
    local_label="kv stores in the data directory",
)
