"""The MongoDB engine as the rest of dbplay sees it before pymongo is imported."""

from __future__ import annotations

from dbplay_desktop.engines.descriptor import (
    Capabilities,
    CatalogKind,
    EngineDescriptor,
    LanguageSpec,
    icon_beside,
)

_PACKAGE = "dbplay_desktop.engines.mongo"

LANGUAGE = LanguageSpec(
    name="mongosh",
    lexer="javascript",
    splitter=f"{_PACKAGE}.shell.split:split_shell",
    comment_prefix="//",
    script_suffix=".js",
    formatter="",
    keywords=f"{_PACKAGE}.shell.words:shell_keywords",
    identifier_quote="",
    word_characters="_$",
    folds_to_lower=False,
)

CATALOG_KINDS = (
    CatalogKind("database", "Databases", "database"),
    CatalogKind("collection", "Collections", "table"),
    CatalogKind("view", "Views", "view"),
    CatalogKind("index", "Indexes", "index", collapsed=True),
    CatalogKind("field", "Fields", "column"),
)

DESCRIPTOR = EngineDescriptor(
    name="mongodb",
    display_name="MongoDB",
    engine=f"{_PACKAGE}.engine:MongoEngine",
    schemes=("mongodb", "mongodb+srv"),
    language=LANGUAGE,
    uri_example="mongodb://user@localhost:27017/mydb",
    default_port=27017,
    path_is_database=False,
    capabilities=Capabilities(needs_server=True, cancel=True, timeout=True, transactions=False),
    payload_format="mongodump",
    payload_version=1,
    catalog_kinds=CATALOG_KINDS,
    icon=icon_beside(__file__),
    extra="mongo",
    requires=("pymongo", "bson", "tree_sitter", "tree_sitter_javascript"),
    local_server="dbplay_desktop.servers.mongo_local:EmbeddedMongoServer",
    local_label="Embedded MongoDB",
    local_database="admin",
    describe_error=f"{_PACKAGE}.errors:error_message",
    copy_formats=(
        ("Extended JSON (relaxed)", f"{_PACKAGE}.values:copy_relaxed_json"),
        ("Extended JSON (canonical)", f"{_PACKAGE}.values:copy_canonical_json"),
    ),
    rank=30,
    importer=f"{_PACKAGE}.importers:import_source",
    can_import=f"{_PACKAGE}.sniff:can_import",
)
