"""Saved connection profiles, with their passwords kept only in the OS keyring.

A profile is everything needed to reach a server *except* the password: engine, host,
port, user, database and driver options such as ``sslmode``. Profiles live in
``<data dir>/connections.json`` (written atomically); passwords go to the system keyring
through the ``keyring`` package, under the service ``dbplay`` and the profile's name.

When the machine has no usable keyring (headless Linux, CI), a password is simply not
kept -- it is never written to a file -- and the window asks for it each time:
:meth:`ConnectionStore.keyring_available` tells the dialog to say so, and
:meth:`ConnectionStore.password` returns ``None``.

The built-in "Built-in servers" profile is always listed first: each engine's local
default (the embedded PostgreSQL cluster, SQLite files in the data directory, ...). It
has no address of its own: local servers are started on demand by
:class:`dbplay_desktop.servers.manager.ServerManager`, so callers check
``profile.embedded`` and use each engine's local default instead of calling ``uri()``.

No Qt here, so the command line and tests can use profiles too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from dbplay_desktop.app_dirs import ensure_private_dir
from dbplay_desktop.engines.base import EngineError

__all__ = [
    "EMBEDDED_NAME",
    "KEYRING_SERVICE",
    "ConnectionProfile",
    "ConnectionStore",
    "ProfileError",
    "embedded_profile",
    "uri_for_database",
]

log = logging.getLogger(__name__)

EMBEDDED_NAME = "Built-in servers"
KEYRING_SERVICE = "dbplay"
CONNECTIONS_FILE = "connections.json"
_FORMAT_VERSION = 1


def _descriptor(engine: str):
    """The registered engine ``engine`` (its schemes, port, address rules), or ``None``."""
    from dbplay_desktop.engines import registry

    try:
        return registry.descriptor(engine)
    except EngineError:
        return None


def default_port(engine: str) -> int | None:
    """The engine's usual port (shown as a hint when the port is left empty)."""
    found = _descriptor(engine)
    return found.default_port if found is not None else None


def _engine_of_scheme(scheme: str) -> str:
    from dbplay_desktop.engines import registry

    for found in registry.descriptors():
        if found.handles(scheme):
            return found.name
    return scheme.split("+", 1)[0]


# Query parameters that name a profile field; they are moved out of ``options``.
_FIELD_PARAMS = {"user": "user", "host": "host", "port": "port", "dbname": "database"}


def uri_for_database(uri: str, database: str, *, with_password: bool = False) -> str:
    """``uri`` pointed at ``database``, its password left out unless asked for.

    For the window's *Copy connection URI*: the server's address with the playground's
    database; a ``password`` or ``dbname`` query parameter is dropped as well. The
    engine of the URI decides whether the database is a name or a file path.
    """
    from dbplay_desktop.engines import registry

    return registry.descriptor_for_uri(uri).uri_for_database(
        uri, database, with_password=with_password)


class ProfileError(EngineError):
    """A profile or address is unusable; ``str(err)`` is one line a user can read."""

    title = "Connection profile"


@dataclass
class ConnectionProfile:
    """How to reach one server; never holds a password.

    ``options`` are extra URI query parameters (``sslmode=require``). ``scheme`` is only
    set when the address needs a scheme other than the engine's usual one
    (``mongodb+srv``). ``embedded`` marks the built-in server, which has no address here.
    """

    name: str
    engine: str = "postgresql"
    host: str = ""
    port: int | None = None
    user: str = ""
    database: str = ""
    options: dict[str, str] = field(default_factory=dict)
    embedded: bool = False
    scheme: str = ""

    def uri(self, password: str | None = None) -> str:
        """The address as a URI, e.g. ``postgresql://ann:p%40ss@db.local:5432/shop``.

        User, password and database are percent-quoted, an IPv6 host is bracketed.
        Raises :class:`ProfileError` for the embedded profile, whose address exists only
        once its server runs.
        """
        if self.embedded:
            raise ProfileError(
                f"{self.name!r} is the built-in server: ask the server manager for its address"
            )
        found = _descriptor(self.engine)
        scheme = self.scheme or (found.default_scheme if found is not None else self.engine)
        userinfo = quote(self.user, safe="")
        if password:
            userinfo += ":" + quote(password, safe="")
        host = self.host.strip()
        if ":" in host and "," not in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 literal
        netloc = f"{userinfo}@{host}" if userinfo else host
        if self.port is not None:
            netloc += f":{self.port}"
        # A SQLite "database" is a file path, whose slashes must stay.
        path = (found.quote_path(self.database) if found is not None
                else quote(self.database, safe=""))
        text = f"{scheme}://{netloc}"
        if path:
            text += "/" + path
        if self.options:
            text += "?" + urlencode(self.options, quote_via=quote)
        return text

    def display_uri(self) -> str:
        """The address without a password, for labels and logs."""
        return "built-in server" if self.embedded else self.uri()

    @classmethod
    def from_uri(cls, name: str, uri: str) -> tuple[ConnectionProfile, str | None]:
        """Parse ``uri`` into a profile and the password it contained (or ``None``).

        Accepts ``postgres://`` as well as ``postgresql://``, IPv6 hosts in brackets,
        libpq's comma-separated host lists and ``?password=`` parameters. Raises
        :class:`ProfileError` with a one-line message that never repeats the password.
        """
        text = uri.strip()
        try:
            parts = urlsplit(text)
        except ValueError as exc:
            raise ProfileError(f"not a valid address: {exc}") from exc
        scheme = parts.scheme.lower()
        if not scheme or "://" not in text:
            raise ProfileError(
                "not an address: expected e.g. postgresql://user@host:5432/database"
            )
        engine = _engine_of_scheme(scheme)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        user, colon, raw_password = userinfo.partition(":")
        password: str | None = unquote(raw_password) if (at and colon) else None
        host, port = _split_host_port(hostport)
        database = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)

        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "password" in options:
            password = options.pop("password")
        values: dict[str, Any] = {"user": unquote(user), "host": host, "port": port}
        values["database"] = database
        for param, attribute in _FIELD_PARAMS.items():
            if param in options:
                value = options.pop(param)
                if not values[attribute]:
                    values[attribute] = _parse_port(value) if attribute == "port" else value
        # Keep the scheme only when it says more than the engine (mongodb+srv, chroma+https).
        found = _descriptor(engine)
        usual = found.default_scheme if found is not None else engine
        plain = scheme in (engine, usual) or "+" not in scheme
        profile = cls(name=name, engine=engine, options=options, scheme="" if plain else scheme)
        for attribute, value in values.items():
            setattr(profile, attribute, value)
        return profile, (password or None)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("embedded")
        if not data["scheme"]:
            data.pop("scheme")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConnectionProfile:
        known = {f.name for f in dataclasses.fields(cls)} - {"embedded"}
        values = {key: value for key, value in data.items() if key in known}
        port = values.get("port")
        values["port"] = int(port) if port not in (None, "") else None
        values["options"] = {str(k): str(v) for k, v in (values.get("options") or {}).items()}
        if not str(values.get("name") or "").strip():
            raise ValueError("a profile without a name")
        return cls(**values)


def embedded_profile() -> ConnectionProfile:
    """The built-in profile: every engine's local default server (no engine of its own)."""
    return ConnectionProfile(name=EMBEDDED_NAME, engine="", embedded=True)


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if not hostport or "," in hostport:
        return unquote(hostport), None  # empty (local socket) or a libpq host list
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket:
            raise ProfileError("the IPv6 host in the address lacks its closing ']'")
        return host, _parse_port(rest[1:]) if rest.startswith(":") else None
    host, colon, port = hostport.rpartition(":")
    if not colon:
        return unquote(hostport), None
    return unquote(host), _parse_port(port)


def _parse_port(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    # ASCII digits only: "²".isdigit() is true but int("²") fails; more than five digits
    # is out of range (and int() refuses thousands of them).
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536):
        shown = text if len(text) <= 20 else text[:19] + "…"
        raise ProfileError(f"the port {shown!r} is not a number from 1 to 65535")
    return int(text)


# --------------------------------------------------------------------------- the store


class ConnectionStore:
    """Profiles in ``connections.json``, passwords in the OS keyring (never in the file).

    The file is re-read on every call, so two windows (or a dialog and the main window)
    always see the same profiles. ``path`` defaults to ``<data dir>/connections.json``.
    """

    def __init__(self, path: Path | None = None, keyring_service: str = KEYRING_SERVICE) -> None:
        if path is None:
            from dbplay_desktop.app_dirs import data_dir

            path = data_dir() / CONNECTIONS_FILE
        self.path = Path(path)
        self.keyring_service = keyring_service

    # -- profiles --------------------------------------------------------------------
    def profiles(self) -> list[ConnectionProfile]:
        """The built-in embedded profile first, then the saved ones sorted by name.

        Raises :class:`ProfileError` when the file exists but cannot be read.
        """
        saved = sorted(self._read(), key=lambda p: p.name.casefold())
        return [embedded_profile(), *saved]

    def get(self, name: str) -> ConnectionProfile | None:
        """The profile called ``name``, or ``None``."""
        if name == EMBEDDED_NAME:
            return embedded_profile()
        return next((p for p in self._read() if p.name == name), None)

    def save(
        self, profile: ConnectionProfile, password: str | None, *, replace: str | None = None
    ) -> bool:
        """Add or update ``profile``; store ``password`` in the keyring (``None``/"": forget it).

        ``replace`` names a profile this one supersedes (a rename): it is removed with its
        password. Returns whether the password is now in the keyring -- ``False`` without
        a password or without a usable keyring, in which case the password is not kept
        anywhere. The profile itself is always saved.
        """
        name = profile.name.strip()
        if not name:
            raise ProfileError("the connection needs a name")
        if profile.embedded or name == EMBEDDED_NAME:
            raise ProfileError(f"{EMBEDDED_NAME!r} is built in and cannot be changed")
        if not profile.engine:
            raise ProfileError(f"connection {name!r} needs an engine")
        profile = dataclasses.replace(profile, name=name, options=dict(profile.options))
        keep = [p for p in self._read() if p.name not in {name, replace}]
        self._write([*keep, profile])
        if replace and replace != name:
            self._forget_password(replace)
        if password:
            return self._store_password(name, password)
        self._forget_password(name)
        return False

    def delete(self, name: str) -> None:
        """Remove the profile and its keyring password; unknown names are ignored."""
        if name == EMBEDDED_NAME:
            raise ProfileError(f"{EMBEDDED_NAME!r} is built in and cannot be deleted")
        profiles = self._read()
        remaining = [p for p in profiles if p.name != name]
        if len(remaining) != len(profiles):
            self._write(remaining)
        self._forget_password(name)

    # -- passwords -------------------------------------------------------------------
    def keyring_available(self) -> bool:
        """Whether a real keyring backend is present (not the "fail" or "null" one)."""
        try:
            import keyring
            from keyring.backends import chainer, fail, null

            backend = keyring.get_keyring()
        except Exception as exc:  # a broken backend plugin must not break the app
            log.warning("keyring unavailable: %s", exc)
            return False
        if isinstance(backend, fail.Keyring | null.Keyring):
            return False
        return not (isinstance(backend, chainer.ChainerBackend) and not backend.backends)

    def password(self, name: str) -> str | None:
        """The profile's password from the keyring, or ``None`` (none stored, no keyring)."""
        if name == EMBEDDED_NAME or not self.keyring_available():
            return None
        import keyring

        try:
            return keyring.get_password(self.keyring_service, name)
        except Exception as exc:  # locked or broken keyring: ask the user instead
            log.warning("could not read the password of %r from the keyring: %s", name, exc)
            return None

    def uri_with_password(self, name: str) -> str:
        """The saved profile's URI including its keyring password (if one is stored)."""
        profile = self.get(name)
        if profile is None:
            raise ProfileError(f"there is no saved connection named {name!r}")
        return profile.uri(self.password(name))

    def _store_password(self, name: str, password: str) -> bool:
        if not self.keyring_available():
            return False
        import keyring

        try:
            keyring.set_password(self.keyring_service, name, password)
        except Exception as exc:
            log.warning("could not store the password of %r in the keyring: %s", name, exc)
            return False
        return True

    def _forget_password(self, name: str) -> None:
        if not self.keyring_available():
            return
        import keyring

        with contextlib.suppress(Exception):  # nothing stored is fine
            keyring.delete_password(self.keyring_service, name)

    # -- the file --------------------------------------------------------------------
    def _read(self) -> list[ConnectionProfile]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ProfileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ProfileError(
                f"{self.path} is not valid JSON (line {exc.lineno}, column {exc.colno}):"
                f" {exc.msg}"
            ) from exc
        entries = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ProfileError(f"{self.path} has no 'profiles' list")
        profiles = []
        for number, entry in enumerate(entries, 1):
            try:
                profiles.append(ConnectionProfile.from_json(entry))
            except (TypeError, ValueError, AttributeError) as exc:
                log.warning("skipping connection %d in %s: %s", number, self.path, exc)
        return profiles

    def _write(self, profiles: list[ConnectionProfile]) -> None:
        document = {
            "version": _FORMAT_VERSION,
            "profiles": [p.to_json() for p in sorted(profiles, key=lambda p: p.name.casefold())],
        }
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        try:
            ensure_private_dir(self.path.parent)
            # mkstemp makes the file 0600: profiles name hosts and users.
            fd, temp = tempfile.mkstemp(prefix=".connections-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as stream:
                    stream.write(text)
                os.replace(temp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            raise ProfileError(f"cannot save {self.path}: {exc.strerror or exc}") from exc
