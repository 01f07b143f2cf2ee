"""The PostgreSQL engine as the rest of dbplay sees it before psycopg is imported."""

from __future__ import annotations

from dbplay_desktop.engines.descriptor import (
    Capabilities,
    CatalogKind,
    EngineDescriptor,
    LanguageSpec,
    icon_beside,
)

_PACKAGE = "dbplay_desktop.engines.postgres"

LANGUAGE = LanguageSpec(
    name="PostgreSQL SQL",
    lexer="postgresql",
    splitter=f"{_PACKAGE}.script:split_sql",
    comment_prefix="--",
    script_suffix=".sql",
    formatter="dbplay_desktop.engines.sql_tools:format_sql",
    keywords="dbplay_desktop.engines.sql_tools:postgresql_keywords",
    identifier_quote='"',
    folds_to_lower=True,
)

CATALOG_KINDS = (
    CatalogKind("database", "Databases", "database"),
    CatalogKind("schema", "Schemas", "database"),
    CatalogKind("table", "Tables", "table"),
    CatalogKind("partitioned table", "Tables", "table", label="partitioned"),
    CatalogKind("foreign table", "Foreign tables", "table"),
    CatalogKind("view", "Views", "view"),
    CatalogKind("materialized view", "Views", "view", label="materialized"),
    CatalogKind("function", "Functions", "function", collapsed=True),
    CatalogKind("procedure", "Functions", "function", label="procedure", collapsed=True),
    CatalogKind("sequence", "Sequences", "", collapsed=True),
    CatalogKind("type", "Types", "", collapsed=True),
    CatalogKind("index", "Indexes", "index", collapsed=True),
    CatalogKind("column", "Columns", "column"),
)

DESCRIPTOR = EngineDescriptor(
    name="postgresql",
    display_name="PostgreSQL",
    engine=f"{_PACKAGE}.engine:PostgresEngine",
    schemes=("postgresql", "postgres"),
    language=LANGUAGE,
    uri_example="postgresql://user@localhost:5432/mydb",
    default_port=5432,
    path_is_database=False,
    capabilities=Capabilities(needs_server=True, cancel=True, timeout=True, transactions=True),
    payload_format="pg_dump-plain",
    payload_version=1,
    catalog_kinds=CATALOG_KINDS,
    rank=10,
    icon=icon_beside(__file__),
    extra="postgres",
    requires=("psycopg", "pglast", "sqlparse"),
    local_server="dbplay_desktop.servers.pg_local:EmbeddedPostgresServer",
    local_label="Embedded PostgreSQL",
    local_database="postgres",
    describe_error=f"{_PACKAGE}.errors:error_message",
)
