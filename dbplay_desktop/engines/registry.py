"""Find an engine by name, URI or template without importing any engine's driver.

Engines register an :class:`~dbplay_desktop.engines.descriptor.EngineDescriptor` in the
``dbplay.engines`` entry-point group (name = the engine's ``name``), so a new engine is a
new package plus one line in its distribution's metadata. Loading an entry point imports
only the descriptor's module, which keeps start-up fast: psycopg, pymongo and chromadb
load when their engine is first used. An entry point that fails to load is logged and
left out, never a crash.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dbplay_desktop.engines.descriptor import EngineDescriptor
from dbplay_desktop.errors import UnsupportedUri

if TYPE_CHECKING:
    from dbplay_desktop.engines.base import Engine

__all__ = [
    "ENTRY_POINT_GROUP",
    "descriptor",
    "descriptor_for_uri",
    "descriptors",
    "display_name",
    "driver_error_message",
    "engine_class",
    "engine_for_uri",
    "engine_name_for_uri",
    "engine_names",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "dbplay.engines"


@cache
def _descriptors() -> dict[str, EngineDescriptor]:
    from importlib.metadata import entry_points  # a costly import: on first lookup only

    found: dict[str, EngineDescriptor] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            value = entry.load()
        except Exception as exc:  # a broken plugin must not take the app down
            log.warning("engine %r cannot be loaded from %s: %s", entry.name, entry.value, exc)
            continue
        if not isinstance(value, EngineDescriptor):
            log.warning("engine %r (%s) is not an EngineDescriptor", entry.name, entry.value)
            continue
        if value.name != entry.name:
            log.warning("engine entry point %r names a descriptor called %r",
                        entry.name, value.name)
            continue
        found.setdefault(value.name, value)
    return dict(sorted(found.items(), key=lambda item: (item[1].rank, item[0])))


def descriptors() -> list[EngineDescriptor]:
    """Every registered engine, available or not (see ``unavailable_reason()``), by rank
    and then name."""
    return list(_descriptors().values())


def engine_names() -> list[str]:
    """Names of the registered engines (in :func:`descriptors` order), without importing
    them."""
    return list(_descriptors())


def descriptor(name: str) -> EngineDescriptor:
    """The descriptor of engine ``name``; an unknown name is a one-line error."""
    found = _descriptors().get(name)
    if found is None:
        known = ", ".join(_descriptors()) or "none"
        raise UnsupportedUri(
            f"this needs the {name!r} engine, which is not installed (installed: {known})"
        )
    return found


def display_name(name: str) -> str:
    """The engine's name for people (``PostgreSQL``), or ``name`` when not installed."""
    found = _descriptors().get(name)
    return found.display_name if found is not None else name


def engine_class(name: str) -> type[Engine]:
    """Import and return the engine class registered as ``name``.

    A template of an engine whose driver is missing gets the install hint:
    ``this template needs the MongoDB engine: pip install 'dbplay-desktop[mongo]'``.
    """
    return descriptor(name).engine_class()


def engine_name_for_uri(uri: str) -> str:
    """The engine name for a URI's scheme (``postgres://`` -> ``postgresql``)."""
    return descriptor_for_uri(uri).name


def descriptor_for_uri(uri: str) -> EngineDescriptor:
    """The engine that answers ``uri``'s scheme."""
    try:
        scheme = urlsplit(uri).scheme.lower()
    except ValueError as exc:
        raise UnsupportedUri(f"not a valid address: {exc}") from exc
    if not scheme or "://" not in uri:
        examples = ", ".join(d.uri_example for d in descriptors()[:2])
        raise UnsupportedUri(f"{uri!r} is not an address: expected e.g. {examples}")
    for candidate in _descriptors().values():
        if candidate.handles(scheme):
            return candidate
    known = ", ".join(f"{s}://" for d in descriptors() for s in d.schemes[:1])
    raise UnsupportedUri(f"no installed engine handles {scheme}:// addresses (known: {known})")


def engine_for_uri(uri: str, **options: Any) -> Engine:
    """An engine handle for a server URI."""
    return descriptor_for_uri(uri).open(uri, **options)


def driver_error_message(exc: BaseException) -> str | None:
    """A driver exception that escaped an engine's wrapping, in the driver's own words."""
    package = type(exc).__module__.split(".")[0]
    for candidate in _descriptors().values():
        if candidate.describe_error and package in candidate.requires:
            from dbplay_desktop.engines.descriptor import load_reference

            try:
                return load_reference(candidate.describe_error)(exc)
            except Exception:  # describing an error must never raise another
                return None
    return None
