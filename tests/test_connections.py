"""Connection profiles and their storage, with real keyring backends (no Qt)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dbplay_desktop.connections import (
    EMBEDDED_NAME,
    ConnectionProfile,
    ConnectionStore,
    ProfileError,
    uri_for_database,
)

if TYPE_CHECKING:
    from tests.helpers_keyring import MemoryKeyring

# The memory_keyring and no_keyring fixtures.
pytest_plugins = ["tests.helpers_keyring"]


@pytest.fixture
def store(tmp_path: Path) -> ConnectionStore:
    return ConnectionStore(tmp_path / "connections.json", keyring_service="dbplay-test")


# --------------------------------------------------------------------------- URIs


def test_uri_quotes_user_password_and_database() -> None:
    profile = ConnectionProfile(
        name="odd", host="db.example.com", port=6543, user="ann@corp", database="my db/1",
        options={"sslmode": "require"},
    )
    uri = profile.uri("p@ss:w/rd?#")
    assert uri == (
        "postgresql://ann%40corp:p%40ss%3Aw%2Frd%3F%23@db.example.com:6543/my%20db%2F1"
        "?sslmode=require"
    )
    parsed, password = ConnectionProfile.from_uri("odd", uri)
    assert password == "p@ss:w/rd?#"
    assert parsed == profile


def test_uri_without_password_port_or_user() -> None:
    assert ConnectionProfile(name="x", host="h", database="d").uri() == "postgresql://h/d"
    assert ConnectionProfile(name="x", host="h", user="u").uri("") == "postgresql://u@h"


def test_ipv6_host_is_bracketed_both_ways() -> None:
    profile = ConnectionProfile(name="v6", host="::1", port=5432, user="u", database="d")
    assert profile.uri() == "postgresql://u@[::1]:5432/d"
    parsed, _ = ConnectionProfile.from_uri("v6", profile.uri())
    assert parsed.host == "::1" and parsed.port == 5432


def test_from_uri_accepts_aliases_and_query_parameters() -> None:
    profile, password = ConnectionProfile.from_uri(
        "q", "postgres://db.local/shop?password=s3cret&user=bob&port=7000&connect_timeout=3"
    )
    assert password == "s3cret"
    assert (profile.engine, profile.user, profile.port, profile.database) == (
        "postgresql", "bob", 7000, "shop"
    )
    assert profile.options == {"connect_timeout": "3"}
    assert profile.uri().startswith("postgresql://bob@db.local:7000/shop")


def test_from_uri_keeps_a_scheme_that_means_more_than_the_engine() -> None:
    profile, _ = ConnectionProfile.from_uri("atlas", "mongodb+srv://me@cluster0.example.net/app")
    assert profile.engine == "mongodb" and profile.scheme == "mongodb+srv"
    assert profile.uri() == "mongodb+srv://me@cluster0.example.net/app"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("localhost:5432", "not an address"),
        ("postgresql://u:pw@h:port/d", "port 'port'"),
        ("postgresql://u:pw@h:70000/d", "1 to 65535"),
        ("postgresql://u@[::1/d", "IPv6"),
    ],
)
def test_bad_uris_give_one_line_errors_without_the_password(uri: str, message: str) -> None:
    with pytest.raises(ProfileError) as info:
        ConnectionProfile.from_uri("bad", uri)
    text = str(info.value)
    assert message in text and "\n" not in text and "pw" not in text.replace("port", "")


def test_embedded_profile_has_no_uri() -> None:
    store = ConnectionStore(Path("/nonexistent/connections.json"))
    embedded = store.profiles()[0]
    assert embedded.name == EMBEDDED_NAME and embedded.embedded
    with pytest.raises(ProfileError):
        embedded.uri()


# --------------------------------------------------------------------------- the store


def test_profiles_roundtrip_with_password_only_in_keyring(
    store: ConnectionStore, memory_keyring: MemoryKeyring
) -> None:
    assert [p.name for p in store.profiles()] == [EMBEDDED_NAME]
    assert store.keyring_available()
    profile = ConnectionProfile(
        name="staging", host="10.0.0.5", port=5433, user="ann", database="shop",
        options={"sslmode": "require"},
    )
    assert store.save(profile, "top-secret-pw") is True

    names = [p.name for p in store.profiles()]
    assert names == [EMBEDDED_NAME, "staging"]
    assert store.get("staging") == profile
    assert store.password("staging") == "top-secret-pw"
    assert memory_keyring.secrets == {("dbplay-test", "staging"): "top-secret-pw"}
    assert store.uri_with_password("staging") == (
        "postgresql://ann:top-secret-pw@10.0.0.5:5433/shop?sslmode=require"
    )
    raw = store.path.read_text(encoding="utf-8")
    assert "top-secret-pw" not in raw
    assert json.loads(raw)["profiles"][0]["host"] == "10.0.0.5"
    # A second store on the same file sees the same profiles.
    assert ConnectionStore(store.path, "dbplay-test").get("staging") == profile


def test_save_without_password_forgets_the_old_one(
    store: ConnectionStore, memory_keyring: MemoryKeyring
) -> None:
    profile = ConnectionProfile(name="dev", host="localhost", user="me")
    store.save(profile, "pw1")
    assert store.save(profile, None) is False
    assert store.password("dev") is None
    assert memory_keyring.secrets == {}


def test_rename_moves_profile_and_drops_old_password(
    store: ConnectionStore, memory_keyring: MemoryKeyring
) -> None:
    store.save(ConnectionProfile(name="old", host="h"), "pw")
    store.save(ConnectionProfile(name="new", host="h"), "pw", replace="old")
    assert [p.name for p in store.profiles()] == [EMBEDDED_NAME, "new"]
    assert memory_keyring.secrets == {("dbplay-test", "new"): "pw"}


def test_delete_removes_profile_and_password(
    store: ConnectionStore, memory_keyring: MemoryKeyring
) -> None:
    store.save(ConnectionProfile(name="gone", host="h"), "pw")
    store.delete("gone")
    store.delete("never-existed")
    assert [p.name for p in store.profiles()] == [EMBEDDED_NAME]
    assert memory_keyring.secrets == {}


def test_embedded_profile_cannot_be_saved_or_deleted(
    store: ConnectionStore, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(ProfileError, match="built in"):
        store.save(ConnectionProfile(name=EMBEDDED_NAME, host="h"), None)
    with pytest.raises(ProfileError, match="built in"):
        store.delete(EMBEDDED_NAME)
    with pytest.raises(ProfileError, match="needs a name"):
        store.save(ConnectionProfile(name="  ", host="h"), None)


def test_without_keyring_the_password_is_kept_nowhere(
    store: ConnectionStore, no_keyring: None, tmp_path: Path
) -> None:
    assert not store.keyring_available()
    profile = ConnectionProfile(name="ci", host="h", user="u", database="d")
    assert store.save(profile, "never-on-disk") is False
    assert store.get("ci") == profile
    assert store.password("ci") is None
    assert store.uri_with_password("ci") == "postgresql://u@h/d"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"never-on-disk" not in path.read_bytes()
    store.delete("ci")
    assert store.get("ci") is None


def test_damaged_file_gives_a_one_line_error(store: ConnectionStore) -> None:
    store.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"not valid JSON \(line 1"):
        store.profiles()


def test_unknown_profile_names_are_reported(store: ConnectionStore) -> None:
    with pytest.raises(ProfileError, match="no saved connection named 'nope'"):
        store.uri_with_password("nope")


def test_default_path_is_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    assert ConnectionStore().path == tmp_path / "data" / "connections.json"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_connections_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     memory_keyring) -> None:
    import stat

    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    mode_before = stat.S_IMODE(tmp_path.stat().st_mode)
    old_umask = os.umask(0o022)
    try:
        ConnectionStore().save(ConnectionProfile(name="Staging", host="db", user="ann"), None)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "connections.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == mode_before


def test_uri_for_database_leaves_the_password_out_unless_asked() -> None:
    uri = "postgresql://ann:s%40cret@db.local:5433/postgres?sslmode=require&password=x"
    assert uri_for_database(uri, "playground_1") == (
        "postgresql://ann@db.local:5433/playground_1?sslmode=require"
    )
    assert uri_for_database(uri, "my db", with_password=True) == (
        "postgresql://ann:s%40cret@db.local:5433/my%20db?sslmode=require&password=x"
    )
    assert uri_for_database("postgresql://127.0.0.1:5432", "x") == "postgresql://127.0.0.1:5432/x"
