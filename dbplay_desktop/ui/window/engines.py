"""The window's engines: one per kind, each started on a worker on first need.

:class:`EngineHostMixin` keeps, for every engine kind the window has used, the
:class:`~dbplay_desktop.engines.base.Engine` handle once its server answers, the reason
when it does not, and where it lives: a server the user connected to (a profile's URI
replaces the server of *its* engine kind only) or the engine's local default -- the local
server its descriptor names, started by the
:class:`~dbplay_desktop.servers.manager.ServerManager`, or its ``local_uri`` for engines
whose sandboxes are files. Nothing here names an engine: everything comes from the
engines' descriptors (:mod:`dbplay_desktop.engines.registry`).

The *default engine* is the one *New playground* (Ctrl+N) uses and the one started at
launch; a template opens on the engine its manifest names.

A local server the window started is watched once a second (a process lookup, no
connection): when it dies under open playgrounds the window says so at once, every
playground on it becomes *lost* and offers to restart it, and after the restart each one
is made again from its template with its editor text kept (:mod:`..playground.server_loss`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dbplay_desktop.display_text import qt_text, safe_text
from dbplay_desktop.ui import icons

if TYPE_CHECKING:  # imported where used: the window's first frame needs none of them
    from PySide6.QtCore import QTimer

    from dbplay_desktop.engines.base import Engine
    from dbplay_desktop.engines.descriptor import EngineDescriptor
    from dbplay_desktop.servers.manager import ServerManager
    from dbplay_desktop.ui.playground.playground import Playground
    from dbplay_desktop.ui.workers import Worker

__all__ = ["EngineHostMixin", "find_descriptor", "preferred_default_engine", "server_text"]

#: How often the window checks that the local servers it started still run.
SERVER_WATCH_MS = 1000


def _registry():
    """The engines' registry, imported on first need (not for the window's first frame)."""
    from dbplay_desktop.engines import registry

    return registry


def find_descriptor(name: str) -> EngineDescriptor | None:
    """The registered engine ``name``, or ``None``."""
    return next((d for d in _registry().descriptors() if d.name == name), None)


def preferred_default_engine() -> str:
    """The engine *New playground* uses when nothing says otherwise: an available engine
    with a local server of its own (a real server to play with), else any available one,
    else any registered one."""
    found = _registry().descriptors()
    for wanted in (lambda d: d.available and bool(d.local_server),
                   lambda d: d.available, lambda d: True):
        for descriptor in found:
            if wanted(descriptor):
                return descriptor.name
    return ""


def server_text(uri: str) -> str:
    """``user@host:port`` of a server URI, never its password (a file's path for engines
    whose databases are files)."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(uri)
        if not parts.netloc and parts.path:
            return unquote(parts.path)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return "Server"
    return f"{user}{host}{port}"


class EngineHostMixin:
    """The engines part of :class:`~.main_window.MainWindow` (signals live there)."""

    manager: ServerManager

    def _init_engines(
        self,
        server_uris: Mapping[str, str] | None,
        server_uri: str | None,
        manager: ServerManager | None,
        default_engine: str | None,
    ) -> None:
        from dbplay_desktop.servers.manager import ServerManager

        self.manager = manager if manager is not None else ServerManager()
        #: Servers the user connected to, by engine kind (the rest use local defaults).
        self.server_uris: dict[str, str] = {}
        #: The names those servers go by (a profile's name, or ``user@host:port``).
        self.server_labels: dict[str, str] = {}
        for uri in ([server_uri] if server_uri else []) + list((server_uris or {}).values()):
            kind = self._kind_of_uri(uri)
            self.server_uris[kind] = uri
            self.server_labels[kind] = server_text(uri)
        for kind, uri in (server_uris or {}).items():  # an explicit kind wins
            self.server_uris[kind] = uri
            self.server_labels[kind] = server_text(uri)
        if default_engine is None and server_uri:
            default_engine = self._kind_of_uri(server_uri)
        #: The engine of *New playground* (Ctrl+N), started at launch.
        self.default_engine: str = default_engine or preferred_default_engine()
        self.engines: dict[str, Engine] = {}
        self.engine_versions: dict[str, str] = {}
        self.engine_errors: dict[str, str] = {}
        self._server_workers: dict[str, Worker] = {}
        self._server_generation: dict[str, int] = {}
        self._launched = False
        self._server_watch: QTimer | None = None

    @staticmethod
    def _kind_of_uri(uri: str) -> str:
        from dbplay_desktop.engines.base import EngineError

        try:
            return _registry().descriptor_for_uri(uri).name
        except EngineError:
            from urllib.parse import urlsplit

            return urlsplit(uri).scheme.split("+", 1)[0].lower()

    # ================================================================== the default kind
    @property
    def engine(self) -> Engine | None:
        """The default engine once its server answers."""
        return self.engines.get(self.default_engine)

    @property
    def engine_error(self) -> str | None:
        """Why the default engine's server could not be reached, if it could not."""
        return self.engine_errors.get(self.default_engine)

    @property
    def server_uri(self) -> str | None:
        """The server the user connected to for the default engine (None: built-in)."""
        return self.server_uris.get(self.default_engine)

    @property
    def server_label_text(self) -> str:
        return self.server_label_for(self.default_engine)

    # ================================================================== per kind
    def server_label_for(self, name: str) -> str:
        """What the top bar calls engine ``name``'s server."""
        if name in self.server_labels:
            return self.server_labels[name]
        descriptor = find_descriptor(name)
        if descriptor is None:
            return _registry().display_name(name)
        return descriptor.local_label or descriptor.display_name

    def uses_local_server(self, name: str) -> bool:
        """Whether engine ``name`` runs on a server this window starts itself."""
        descriptor = find_descriptor(name)
        return (name not in self.server_uris and descriptor is not None
                and bool(descriptor.local_server))

    def is_starting(self, name: str) -> bool:
        worker = self._server_workers.get(name)
        return worker is not None and not worker.is_done

    def start_server(self, name: str | None = None) -> None:
        """Start (or reach) engine ``name``'s server on a worker (default: the default
        engine's); the window stays usable."""
        from dbplay_desktop.engines.base import UnsupportedUri
        from dbplay_desktop.ui.window.support import connect_engine
        from dbplay_desktop.ui.workers import Worker, start_worker

        name = name or self.default_engine
        if name == self.default_engine:
            self._launched = True
        if self.is_starting(name):
            return
        self.engine_errors.pop(name, None)
        self.engines.pop(name, None)
        generation = self._server_generation.get(name, 0) + 1
        self._server_generation[name] = generation
        descriptor = find_descriptor(name)
        if descriptor is None:
            try:
                _registry().descriptor(name)
            except UnsupportedUri as exc:
                self._on_engine_failed(name, generation, exc)
            return
        if name in self.server_uris:
            message = "Connecting…"
        else:
            message = f"Starting {descriptor.display_name}…"
        self.statusBar().showMessage(message)
        self.status_label.setText(message)
        worker = Worker(connect_engine, descriptor, self.server_uris.get(name), self.manager)
        worker.signals.returned.connect(
            lambda result, n=name, g=generation: self._on_engine_ready(n, g, result))
        worker.signals.errored.connect(
            lambda exc, n=name, g=generation: self._on_engine_failed(n, g, exc))
        self._server_workers[name] = worker
        start_worker(worker)
        self._update_chrome()

    def ensure_engine(self, name: str) -> None:
        """Start engine ``name`` unless it runs, starts or failed already. The default
        engine waits for the window's launch (:meth:`start_server`)."""
        if name in self.engines or name in self.engine_errors or self.is_starting(name):
            return
        if name == self.default_engine and not self._launched:
            return
        self.start_server(name)

    def _on_engine_ready(self, name: str, generation: int, result: tuple[Engine, str]) -> None:
        from dbplay_desktop.ui.playground.playground import LOST, PREPARING
        from dbplay_desktop.ui.window.support import short_version

        if self._server_generation.get(name) != generation:
            return  # a connection replaced meanwhile
        engine, version = result
        self.engines[name] = engine
        self.engine_versions[name] = version
        display = _registry().display_name(name)
        words = short_version(display, version)
        self.statusBar().showMessage(safe_text(f"{display} {words} ready".replace("  ", " ")),
                                     5000)
        for playground in self.playgrounds():
            if playground.engine_name != name or playground.engine is not None:
                continue
            if playground.state == PREPARING:
                playground.attach_engine(engine)
            elif playground.state == LOST:
                playground.reopen(engine)
        if self.uses_local_server(name):
            self._watch_servers_start()
        self._update_chrome()
        self.engine_ready.emit(name)

    def _on_engine_failed(self, name: str, generation: int, exc: object) -> None:
        from dbplay_desktop.ui.playground.playground import LOST, PREPARING
        from dbplay_desktop.ui.playground.sandbox_jobs import one_line

        if self._server_generation.get(name) != generation:
            return
        message = safe_text(one_line(exc) if isinstance(exc, BaseException) else str(exc))
        self.engine_errors[name] = message
        self.statusBar().showMessage(f"{self._unavailable_words(name)}: {message}")
        for playground in self.playgrounds():
            if playground.engine_name != name or playground.engine is not None:
                continue
            if playground.state == PREPARING:
                self._show_no_server(playground, message)
            elif playground.state == LOST:
                playground.restart_failed(message)
        self._update_chrome()
        self.engine_failed.emit(message, name)

    # ================================================================== watching
    def _watch_servers_start(self) -> None:
        from PySide6.QtCore import QTimer

        if self._server_watch is None:
            self._server_watch = QTimer(self)
            self._server_watch.setInterval(SERVER_WATCH_MS)
            self._server_watch.timeout.connect(self.check_servers)
        if not self._server_watch.isActive():
            self._server_watch.start()

    def check_servers(self) -> None:
        """Notice local servers that died since the last look (the watch timer's tick)."""
        for name in list(self.engines):
            if self.uses_local_server(name) and self.manager.alive(name) is False:
                self._on_server_lost(name)

    def _on_server_lost(self, name: str) -> None:
        """Engine ``name``'s local server died: forget it, close its engine handle on a
        worker, and turn every playground on it into a lost one that offers a restart."""
        from dbplay_desktop.ui.workers import Worker, start_worker

        engine = self.engines.pop(name, None)
        if engine is None:
            return
        message = f"{self.manager_label(name)} stopped unexpectedly"
        self.manager.forget(name)
        self._server_generation[name] = self._server_generation.get(name, 0) + 1
        self.engine_errors[name] = message
        start_worker(Worker(engine.close))  # its connections are dead: fails fast
        for playground in self.playgrounds():
            if playground.engine is engine:
                playground.server_lost(message)
        self.statusBar().showMessage(
            safe_text(f"{message}: restart it with Server ▸ Start the built-in server "
                      "again, or from a playground's banner"))
        self._update_chrome()
        self.server_lost.emit(name)

    def manager_label(self, name: str) -> str:
        """The local server's name for people ("Embedded …"), else the engine's."""
        server = self.manager.server(name)
        label = getattr(server, "label", "") if server is not None else ""
        return label or self.server_label_for(name)

    @staticmethod
    def _needs_server(name: str) -> bool:
        descriptor = find_descriptor(name)
        return descriptor is None or descriptor.capabilities.needs_server

    def _unavailable_words(self, name: str) -> str:
        if self._needs_server(name):
            return "Database server unavailable"
        return f"{_registry().display_name(name)} unavailable"

    def _show_no_server(self, playground: Playground, message: str) -> None:
        if self._needs_server(playground.engine_name):
            playground.status = "No database server"
            text = f"No database server: {message}"
        else:
            playground.status = "Engine failed"
            text = f"{_registry().display_name(playground.engine_name)} failed: {message}"
        playground.show_banner(text, busy=False, error=True, retry="Retry",
                               close="Close playground")

    def _give_engine(self, playground: Playground) -> None:
        """Attach a new playground to its engine, or start that engine, or say why not."""
        name = playground.engine_name
        if name in self.engines:
            playground.attach_engine(self.engines[name])
        elif name in self.engine_errors:
            self._show_no_server(playground, self.engine_errors[name])
        else:
            self.ensure_engine(name)

    # ================================================================== connections
    def use_connection(self, server_uri: str | None, name: str) -> None:
        """New playgrounds of the URI's engine kind go to another server (None: every
        kind back to its built-in default); open tabs keep theirs."""
        if server_uri is None:
            kinds = list(self.server_uris)
            self.server_uris.clear()
            self.server_labels.clear()
        else:
            kind = self._kind_of_uri(server_uri)
            kinds = [kind]
            self.server_uris[kind] = server_uri
            self.server_labels[kind] = name
        self.app_settings.last_connection = name
        self.history_panel.set_connection(
            name if server_uri is not None else self.server_label_text)
        for kind in kinds:
            self.engines.pop(kind, None)
            self.engine_errors.pop(kind, None)
            self._server_workers.pop(kind, None)
            if kind == self.default_engine or any(
                    p.engine_name == kind for p in self.playgrounds()):
                self.start_server(kind)
            else:
                self._server_generation[kind] = self._server_generation.get(kind, 0) + 1
        if server_uri is None and not kinds:
            self.start_server(self.default_engine)
        self._update_chrome()

    # ================================================================== server address
    def _on_local_server(self, playground: Playground) -> bool:
        engine_uri = getattr(playground.engine, "uri", None)
        return (engine_uri is not None
                and engine_uri == self.manager.admin_uri(playground.engine_name))

    def playground_uri(self, playground: Playground | None, *,
                       with_password: bool = False) -> str | None:
        """The URI of ``playground``'s database, for other tools or ``dbplay query``.

        On a local server that is the server's own administrator login (sandbox roles
        cannot log in from outside); the password only when asked for. Engines whose
        databases are files give the file's absolute path.
        """
        from dbplay_desktop.connections import uri_for_database
        from dbplay_desktop.engines.base import EngineError

        if playground is None or playground.engine is None or not playground.database:
            return None
        if self._on_local_server(playground):
            return self.manager.uri(playground.engine_name, playground.database,
                                    with_password=with_password)
        try:
            database = playground.engine.database_address(playground.database)
        except EngineError:
            return None
        try:
            return uri_for_database(playground.engine.uri, database,
                                    with_password=with_password)
        except EngineError:
            return None

    def copy_connection_uri(self, *, with_password: bool = False) -> None:
        """Server → Copy connection URI (…with password): the current playground's."""
        playground = self.current_playground()
        uri = self.playground_uri(playground, with_password=with_password)
        if uri is None or playground is None:
            self.statusBar().showMessage("Open a playground to copy its address.", 6000)
            return
        from PySide6.QtGui import QGuiApplication

        QGuiApplication.clipboard().setText(uri)
        if with_password:
            note = "Copied the connection URI, with its password."
        else:
            server = (self.manager.server(playground.engine_name)
                      if self._on_local_server(playground) else None)
            extra = server.uri_note() if server is not None else ""
            if extra or self._needs_server(playground.engine_name):
                note = f"Copied {uri} (without the password" + (f"; {extra})" if extra else ")")
            else:
                note = f"Copied {uri}"
        self.statusBar().showMessage(safe_text(note), 10000)

    def _update_server_address(self, playground: Playground | None) -> None:
        """The server label's tooltip says where the server is; the copy actions follow."""
        uri = self.playground_uri(playground)
        for action in (self.copy_uri_action, self.copy_uri_password_action):
            action.setEnabled(uri is not None)
        kind = playground.engine_name if playground is not None else self.default_engine
        label = self.server_label_for(kind)
        if playground is not None and playground.engine is not None:
            if self._on_local_server(playground):
                tip = self.manager.describe(kind) or label
            elif kind in self.server_uris or self._needs_server(kind):
                tip = server_text(playground.engine.uri)
            else:
                tip = label + (f"\n{uri}" if uri else "")
        elif playground is None and kind not in self.server_uris and kind in self.engines:
            tip = self.manager.describe(kind) or label
        else:
            tip = label
        self.server_label.setToolTip(qt_text(tip))

    def _update_engine_label(self, playground: Playground | None) -> None:
        """Icon, name and version of the engine in front (the default one on no tab)."""
        from dbplay_desktop.ui.window.support import short_version

        kind = playground.engine_name if playground is not None else self.default_engine
        descriptor = playground.descriptor if playground is not None else None
        descriptor = descriptor or find_descriptor(kind)
        display = descriptor.display_name if descriptor is not None else kind
        version = self.engine_versions.get(kind, "")
        words = short_version(display, version) if version else ""
        self.engine_label.setText(safe_text(f"{display} {words}".strip()))
        self.engine_label.setToolTip(qt_text(f"{display} {version}".strip()))
        self.engine_icon_label.setPixmap(icons.engine_icon(descriptor).pixmap(16, 16))
