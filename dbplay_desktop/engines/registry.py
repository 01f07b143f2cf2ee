"""Find the engine for a URI or a template without importing every engine.

Engines register in the ``dbplay.engines`` entry-point group (name = the engine's
``name``), so a new engine is a new module plus one line in its distribution's metadata.
Loading an entry point imports only that engine's module, which keeps start-up fast:
psycopg, pymongo and chromadb load when their engine is first used.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from urllib.parse import urlsplit

from dbplay_desktop.engines.base import Engine, UnsupportedUri

ENTRY_POINT_GROUP = "dbplay.engines"

# URI scheme -> engine name. A plugin engine is reached by its own name as scheme
# (``myengine://...``) or ``name+transport://...``.
SCHEME_ALIASES: dict[str, str] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mongodb": "mongodb",
    "mongodb+srv": "mongodb",
    "chroma": "chroma",
    "chroma+http": "chroma",
    "chroma+https": "chroma",
    "sqlite": "sqlite",
}

# engine name -> the pip extra that installs its driver
EXTRAS: dict[str, str] = {"postgresql": "postgres", "mongodb": "mongo"}

DISPLAY_NAMES: dict[str, str] = {
    "postgresql": "PostgreSQL",
    "mongodb": "MongoDB",
    "chroma": "Chroma",
    "sqlite": "SQLite",
}


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def engine_names() -> list[str]:
    """Names of the installed engines, without importing them."""
    return sorted(_entry_points())


def display_name(name: str) -> str:
    return DISPLAY_NAMES.get(name, name)


def engine_class(name: str) -> type[Engine]:
    """Import and return the engine class registered as ``name``."""
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(engine_names()) or "none"
        raise UnsupportedUri(f"no engine named {name!r} is installed (installed: {known})")
    try:
        cls = ep.load()
    except ImportError as exc:
        raise UnsupportedUri(
            f"the {display_name(name)} engine cannot load: {exc}; "
            f"install it with: pip install 'dbplay-desktop[{EXTRAS.get(name, name)}]'"
        ) from exc
    return cls


def engine_name_for_uri(uri: str) -> str:
    """The engine name for a URI's scheme (``postgres://`` -> ``postgresql``)."""
    scheme = urlsplit(uri).scheme.lower()
    if not scheme:
        raise UnsupportedUri(f"{uri!r} is not a URI: expected e.g. postgresql://user@host:5432/db")
    name = SCHEME_ALIASES.get(scheme) or scheme.split("+", 1)[0]
    if name not in _entry_points():
        raise UnsupportedUri(f"no installed engine handles {scheme}:// addresses")
    return name


def engine_for_uri(uri: str) -> Engine:
    """An engine handle for a server URI."""
    return engine_class(engine_name_for_uri(uri))(uri)
