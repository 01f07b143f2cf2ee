"""The Chroma engine as the rest of dbplay sees it before chromadb is imported."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from dbplay_desktop.engines.descriptor import (
    Capabilities,
    CatalogKind,
    EngineDescriptor,
    EngineSetting,
    LanguageSpec,
    icon_beside,
    redact_uri,
)
from dbplay_desktop.errors import UnsupportedUri

_PACKAGE = "dbplay_desktop.engines.chroma"

#: ``chroma:///abs/dir`` is an embedded store (a folder); these reach a Chroma server.
HTTP_SCHEMES = ("chroma+http", "chroma+https")


@dataclass(frozen=True)
class ChromaDescriptor(EngineDescriptor):
    """Chroma's addresses name a database two ways: ``chroma:///abs/dir`` by the folder
    of an embedded store, ``chroma+http://host:port/?tenant=T&database=D`` by the
    ``database`` parameter on a server."""

    def database_from_uri(self, uri: str) -> str:
        try:
            parts = urlsplit(uri)
            params = dict(parse_qsl(parts.query))
        except ValueError as exc:
            raise UnsupportedUri(f"{redact_uri(uri)} is not a valid address: {exc}") from exc
        if parts.scheme.lower() in HTTP_SCHEMES:
            database = params.get("database", "")
        else:
            database = unquote(parts.path)
            database = "" if database in ("", "/") else database
        if not database:
            raise UnsupportedUri(
                f"the address {redact_uri(uri)} names no database: expected e.g. "
                "chroma:///absolute/dir or chroma+http://localhost:8000/?database=mydb"
            )
        return database

    def uri_for_database(self, uri: str, database: str, *, with_password: bool = False) -> str:
        parts = urlsplit(uri)
        if parts.scheme.lower() not in HTTP_SCHEMES:
            path = quote(database, safe="/")
            return f"{parts.scheme}://{'' if path.startswith('/') else '/'}{path}"
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                  if k != "database" and (with_password or k not in ("token", "password"))]
        params.append(("database", database))
        netloc = parts.netloc
        if not with_password and "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}@{hostport}"
        return f"{parts.scheme}://{netloc}/?{urlencode(params, quote_via=quote)}"


LANGUAGE = LanguageSpec(
    name="Chroma calls",
    lexer="python",
    splitter=f"{_PACKAGE}.calls.split:split_calls",
    comment_prefix="#",
    script_suffix=".py",
    formatter="",
    keywords=f"{_PACKAGE}.calls.words:call_keywords",
    identifier_quote="",
    word_characters="_",
    folds_to_lower=False,
)

CATALOG_KINDS = (
    CatalogKind("collection", "Collections", "table"),
    CatalogKind("field", "Metadata keys", "column"),
)

DESCRIPTOR = ChromaDescriptor(
    name="chroma",
    display_name="Chroma",
    engine=f"{_PACKAGE}.engine:ChromaEngine",
    schemes=("chroma", *HTTP_SCHEMES),
    language=LANGUAGE,
    uri_example="chroma:///absolute/dir",
    default_port=8000,
    path_is_database=True,
    capabilities=Capabilities(needs_server=False, cancel=True, timeout=False,
                              transactions=False),
    payload_format="chroma-records",
    payload_version=1,
    catalog_kinds=CATALOG_KINDS,
    icon=icon_beside(__file__),
    extra="chroma",
    requires=("chromadb", "numpy"),
    local_uri="chroma://",
    local_label="Chroma stores in the data directory",
    describe_error=f"{_PACKAGE}.errors:error_message",
    settings=(
        EngineSetting(
            "model_dir", "Embedding model folder", "DBPLAY_CHROMA_MODEL_DIR", "folder",
            "A folder holding Chroma's default embedding model (all-MiniLM-L6-v2: the onnx/ "
            "folder from ~/.cache/chroma/onnx_models on a machine that has used it, or its "
            "onnx.tar.gz), so query_texts works offline.",
        ),
    ),
    rank=40,
)
