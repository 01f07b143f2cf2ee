"""Engine descriptors and the registry: what is known about an engine before importing it."""

from __future__ import annotations

import dataclasses

import pytest

from dbplay_desktop.engines import registry
from dbplay_desktop.engines.base import UnsupportedUri
from dbplay_desktop.engines.descriptor import redact_uri


def test_the_registry_lists_the_engines_by_entry_point() -> None:
    names = registry.engine_names()
    assert names[:2] == ["postgresql", "sqlite"]  # the app's own engines rank first
    assert registry.display_name("postgresql") == "PostgreSQL"
    assert registry.display_name("nosuch") == "nosuch"
    for found in registry.descriptors():
        assert found.icon_path is not None and found.icon_path.suffix == ".svg"
        assert found.language.split("") == []


@pytest.mark.parametrize(
    ("uri", "engine"),
    [
        ("postgresql://u@h:5432/shop", "postgresql"),
        ("postgres://u@h/shop", "postgresql"),
        ("POSTGRESQL://u@h/shop", "postgresql"),
        ("sqlite:///tmp/x.db", "sqlite"),
    ],
)
def test_engine_for_a_scheme(uri: str, engine: str) -> None:
    assert registry.engine_name_for_uri(uri) == engine


@pytest.mark.parametrize("uri", ["nosuch://h/x", "localhost:5432", "", "shop"])
def test_unknown_or_missing_schemes_are_one_line_errors(uri: str) -> None:
    with pytest.raises(UnsupportedUri) as info:
        registry.descriptor_for_uri(uri)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("postgresql://u@h:5432/shop", "shop"),
        ("postgresql://u@h:5432/my%20db", "my db"),
        ("postgresql://u@h:5432?dbname=copy", "copy"),
        ("sqlite:///abs/dir/file.db", "/abs/dir/file.db"),
    ],
)
def test_which_database_a_uri_names(uri: str, database: str) -> None:
    assert registry.descriptor_for_uri(uri).database_from_uri(uri) == database


@pytest.mark.parametrize("uri", ["postgresql://u:secret@h:5432", "postgresql://u:secret@h/", "sqlite://"])
def test_a_uri_without_a_database_is_refused_without_its_password(uri: str) -> None:
    with pytest.raises(UnsupportedUri) as info:
        registry.descriptor_for_uri(uri).database_from_uri(uri)
    assert "secret" not in str(info.value) and "names no database" in str(info.value)


def test_uri_for_database_keeps_file_paths_and_drops_passwords() -> None:
    pg = registry.descriptor("postgresql")
    assert pg.uri_for_database("postgresql://ann:pw@h:5432/postgres?sslmode=require&password=x",
                               "my db") == "postgresql://ann@h:5432/my%20db?sslmode=require"
    sqlite = registry.descriptor("sqlite")
    assert sqlite.uri_for_database("sqlite://", "/data/play 1.db") == "sqlite:///data/play%201.db"
    assert redact_uri("postgresql://ann:pw@h/x") == "postgresql://ann:***@h/x"


def test_identifiers_are_quoted_only_when_needed() -> None:
    pg = registry.descriptor("postgresql").language
    assert pg.quote_identifier("orders") == "orders"
    assert pg.quote_identifier("Orders") == '"Orders"'
    assert pg.quote_identifier('a"b') == '"a""b"'
    assert pg.quote_identifier("select") == '"select"'
    lite = registry.descriptor("sqlite").language
    assert lite.quote_identifier("Orders") == "Orders"  # SQLite keeps the case
    assert lite.quote_identifier("order items") == '"order items"'


def test_an_engine_whose_driver_is_missing_says_what_to_install() -> None:
    found = dataclasses.replace(registry.descriptor("postgresql"),
                                requires=("dbplay_no_such_driver",))
    assert not found.available
    reason = found.unavailable_reason()
    assert reason is not None and "pip install 'dbplay-desktop[postgres]'" in reason
    with pytest.raises(UnsupportedUri, match="dbplay_no_such_driver"):
        found.engine_class()


def test_an_engine_that_is_not_installed_is_named_with_what_is() -> None:
    with pytest.raises(UnsupportedUri) as info:
        registry.engine_class("nosuchengine")
    message = str(info.value)
    assert "'nosuchengine' engine" in message and "postgresql" in message


def test_catalog_kinds_and_language_come_from_the_descriptor() -> None:
    pg = registry.descriptor("postgresql")
    assert pg.catalog_kind("partitioned table").folder == "Tables"
    assert pg.folder_order()[:3] == ("Databases", "Schemas", "Tables")
    assert pg.language.can_format
    assert "SELECT" in pg.language.keyword_list
    assert [s.text for s in pg.language.split("select 1; select ';'")] == ["select 1", "select ';'"]
    assert pg.language.format("select 1 from t").startswith("SELECT")
