"""Worker bodies and small helpers of the main window, kept out of the widget code.

The functions that run on worker threads (:func:`connect_engine`,
:func:`save_template_job`) take plain arguments and return plain values, so they can be
read and tested without a window.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMimeData

from dbplay_desktop.engines.base import ConnectionFailed, Engine, EngineError
from dbplay_desktop.engines.descriptor import EngineDescriptor
from dbplay_desktop.servers.manager import ServerManager
from dbplay_desktop.templates.library import TEMPLATE_SUFFIX

log = logging.getLogger(__name__)


def connect_engine(
    descriptor: EngineDescriptor, server_uri: str | None, manager: ServerManager
) -> tuple[Engine, str]:
    """Worker body: reach the engine's server and return the engine and its version.

    ``server_uri`` is a server the user connected to; without one the engine's local
    default is used: its local server (started, or adopted, by ``manager`` from the
    descriptor's ``local_server`` factory) or its ``local_uri`` (engines whose sandboxes
    are files need no server). Importing the engine and its driver happens here too, off
    the UI thread. The first start of a local default clears the playgrounds a crashed
    window left behind (the local server is ours alone).
    """
    from dbplay_desktop.engines.descriptor import load_reference

    local = not server_uri
    if server_uri:
        uri = server_uri
    elif descriptor.local_server:
        descriptor.engine_class()  # a missing driver says what to install, before a start
        factory = load_reference(descriptor.local_server)
        uri = manager.start(descriptor.name, factory)
    elif descriptor.local_uri:
        uri = descriptor.local_uri
    else:
        raise ConnectionFailed(
            f"{descriptor.display_name} has no built-in server: connect to one in "
            f"Server ▸ Connections… (e.g. {descriptor.uri_example})"
        )
    engine = descriptor.open(uri)
    version = engine.server_version()
    if local and manager.take_cleanup_turn(descriptor.name):
        try:
            dropped = engine.drop_abandoned_playgrounds()
        except EngineError as exc:
            log.warning("could not clear abandoned playgrounds: %s", exc)
        else:
            if dropped:
                log.info("dropped abandoned playgrounds: %s", ", ".join(dropped))
    return engine, version


def short_version(display_name: str, version: str) -> str:
    """The version's first word, without the engine's name when the server starts with it
    ("Engine 3.45.1" -> "3.45.1", "16.4 (Debian 16.4-1)" -> "16.4")."""
    words = version.strip()
    if words.lower().startswith(display_name.lower()):
        words = words[len(display_name):].strip()
    return words.split()[0] if words else ""


#: Name of the editor's script inside a saved template (``scripts/playground.sql``).
SCRIPT_STEM = "playground"


def save_template_job(
    engine: Engine, database: str, choice, relay, script: str = "", suffix: str = ".sql"
) -> Path:
    """Worker body: dump ``database`` into a new template file (atomic; a cancel or an
    error leaves no file behind), with ``script`` (the editor's text) as its script when
    it is not empty, named with the language's ``suffix``. ``choice`` is a
    :class:`SaveChoice`; ``relay`` a
    :class:`ProgressRelay` whose cancel flag stops the dump."""
    from dbplay_desktop.templates.container import TemplateWriter
    from dbplay_desktop.templates.scripts import script_name

    with TemplateWriter(
        choice.path, engine=engine.name, name=choice.name, description=choice.description
    ) as writer:
        if script:  # first: a script over the size limit fails before the dump
            writer.add_script(script_name(SCRIPT_STEM, suffix), script)
        info = engine.dump(database, writer, progress=relay.report)
        writer.commit(info.engine_version, info.stats)
    return Path(choice.path)


def template_paths_from_mime(mime: QMimeData) -> list[Path]:
    """The local ``.dbtpl`` files in a drag-and-drop payload."""
    if not mime.hasUrls():
        return []
    paths = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() == TEMPLATE_SUFFIX:
                paths.append(path)
    return paths
