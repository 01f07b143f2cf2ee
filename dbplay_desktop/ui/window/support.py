"""Worker bodies and small helpers of the main window, kept out of the widget code.

The functions that run on worker threads (:func:`connect_to_server`,
:func:`save_template_job`) take plain arguments and return plain values, so they can be
read and tested without a window.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMimeData

from dbplay_desktop.engines.base import Engine, EngineError
from dbplay_desktop.servers.manager import ServerManager
from dbplay_desktop.templates.library import TEMPLATE_SUFFIX

log = logging.getLogger(__name__)


def connect_to_server(server_uri: str | None, manager: ServerManager) -> tuple[Engine, str]:
    """Worker body: start the embedded server (no URI) or reach ``server_uri``; returns
    the engine and the server's version. Importing the engine (psycopg) happens here too,
    off the UI thread."""
    from dbplay_desktop.engines.registry import engine_for_uri

    uri = server_uri or manager.start_default()
    engine = engine_for_uri(uri)
    version = engine.server_version()
    if server_uri is None and manager.take_cleanup_turn():
        # The private server is ours alone: playgrounds nobody is connected to were left
        # by a window that crashed.
        try:
            dropped = engine.drop_abandoned_playgrounds()
        except EngineError as exc:
            log.warning("could not clear abandoned playgrounds: %s", exc)
        else:
            if dropped:
                log.info("dropped abandoned playgrounds: %s", ", ".join(dropped))
    return engine, version


#: Name of the editor's script inside a saved template (``scripts/playground.sql``).
SCRIPT_STEM = "playground"


def script_suffix(engine: Engine) -> str:
    """The suffix of the engine's script files (``.sql`` unless the engine names one)."""
    return str(getattr(type(engine), "script_suffix", ".sql"))


def save_template_job(engine: Engine, database: str, choice, relay, script: str = "") -> Path:
    """Worker body: dump ``database`` into a new template file (atomic; a cancel or an
    error leaves no file behind), with ``script`` (the editor's text) as its script when
    it is not empty. ``choice`` is a :class:`SaveChoice`; ``relay`` a
    :class:`ProgressRelay` whose cancel flag stops the dump."""
    from dbplay_desktop.templates.container import TemplateWriter
    from dbplay_desktop.templates.scripts import script_name

    with TemplateWriter(
        choice.path, engine=engine.name, name=choice.name, description=choice.description
    ) as writer:
        if script:  # first: a script over the size limit fails before the dump
            writer.add_script(script_name(SCRIPT_STEM, script_suffix(engine)), script)
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
