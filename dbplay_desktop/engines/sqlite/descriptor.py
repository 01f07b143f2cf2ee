"""The SQLite engine as the rest of dbplay sees it before it is imported."""

from __future__ import annotations

from dbplay_desktop.engines.descriptor import (
    Capabilities,
    CatalogKind,
    EngineDescriptor,
    LanguageSpec,
    icon_beside,
)

_PACKAGE = "dbplay_desktop.engines.sqlite"

LANGUAGE = LanguageSpec(
    name="SQLite SQL",
    lexer="sql",
    splitter=f"{_PACKAGE}.script:split_sql",
    comment_prefix="--",
    script_suffix=".sql",
    formatter="dbplay_desktop.engines.sql_tools:format_sql",
    keywords="dbplay_desktop.engines.sql_tools:sqlite_keywords",
    identifier_quote='"',
    folds_to_lower=False,
)

CATALOG_KINDS = (
    CatalogKind("table", "Tables", "table"),
    CatalogKind("view", "Views", "view"),
    CatalogKind("index", "Indexes", "index", collapsed=True),
    CatalogKind("trigger", "Triggers", "function", collapsed=True),
    CatalogKind("column", "Columns", "column"),
)

DESCRIPTOR = EngineDescriptor(
    name="sqlite",
    display_name="SQLite",
    engine=f"{_PACKAGE}.engine:SqliteEngine",
    schemes=("sqlite",),
    language=LANGUAGE,
    uri_example="sqlite:///absolute/path/to/file.db",
    default_port=None,
    path_is_database=True,
    capabilities=Capabilities(needs_server=False, cancel=True, timeout=True, transactions=True),
    payload_format="sqlite-sql",
    payload_version=1,
    catalog_kinds=CATALOG_KINDS,
    rank=20,
    icon=icon_beside(__file__),
    extra="sqlite",
    requires=("sqlparse",),
    local_uri="sqlite://",
    local_label="SQLite files in the data directory",
)
