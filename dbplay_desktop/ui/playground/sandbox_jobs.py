"""Worker bodies that make and remove a playground's sandbox database, and their relay.

They run on worker threads, take plain arguments and return plain values, so the
playground widget only starts them and reacts to their signals. Each one leaves nothing
behind when it fails half-way: a sandbox that could not be connected to is dropped again.

On an engine that clones sandboxes, a template is restored once into a *pristine* copy
that no session ever uses, and the playground works in a clone of it; a reset adopts a
clone made ahead of time (:mod:`.ready_clones`), or clones the pristine copy, and
restores the template again only when cloning fails.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dbplay_desktop.engines.base import CatalogItem, Engine, EngineError, Session

log = logging.getLogger(__name__)


class WrongEngine(EngineError):
    """The template is for another engine than the server the window is connected to."""

    title = "Cannot open template"


def wrong_engine_message(file_name: str, wanted: str, given: str) -> str:
    """Why a template cannot be restored on ``given``'s engine, and what would open it:
    a server of the template's engine where it needs one, else just that engine."""
    from dbplay_desktop.engines import registry

    wanted_name, given_name = registry.display_name(wanted), registry.display_name(given)
    message = f"{file_name} is a {wanted_name} template, not a {given_name} one"
    try:
        needs_server = registry.descriptor(wanted).capabilities.needs_server
    except EngineError as exc:  # not installed: say what to install
        return f"{message}; {exc}"
    if needs_server:
        return f"{message}; connect to a {wanted_name} server to open it"
    return f"{message}; open it in a {wanted_name} playground"


def can_retry(exc: object) -> bool:
    """Whether preparing a playground again may succeed after ``exc``: yes after a restore
    error or a lost server; no for a file that is not a template, a template the safety
    scan refused, or one for another engine (the same file fails the same way again)."""
    from dbplay_desktop.engines.base import UnsafeContent
    from dbplay_desktop.templates.manifest import TemplateError

    return not isinstance(exc, (TemplateError, UnsafeContent, WrongEngine))


def one_line(exc: BaseException) -> str:
    """A user-readable single line for any failure (engine errors already are one)."""
    if isinstance(exc, EngineError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ProgressRelay(QObject):
    """Carries progress from a worker thread to the UI (emits are queued across threads)
    and carries a cancel request back (the engine's progress callback returns it)."""

    progress = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancelled = threading.Event()

    def report(self, done: int, total: int | None) -> bool:
        self.progress.emit(int(done), total)
        return self.cancelled.is_set()


@dataclass(frozen=True)
class Prepared:
    """A playground's database, connected, with its catalog read."""

    database: str
    session: Session
    catalog: list[CatalogItem]
    #: The pristine copy its resets clone (None: the engine cannot clone, or it failed).
    pristine: str | None = None


def prepare_sandbox(
    engine: Engine,
    template: Path | None,
    relay: ProgressRelay | None,
    batch_size: int,
    timeout: float | None,
) -> Prepared:
    """Worker body: make the sandbox (restored from ``template`` or blank), connect to it
    and read its catalog. A restored template is kept as the pristine copy and the
    playground gets a clone of it, where the engine can clone. Nothing is left behind
    when any step fails."""
    report = relay.report if relay is not None else None
    if template is None:
        return connected(engine, engine.create_sandbox(), batch_size, timeout)
    from dbplay_desktop.templates.container import TemplateReader

    with TemplateReader(template) as reader:
        if reader.manifest.engine != engine.name:
            raise WrongEngine(wrong_engine_message(template.name, reader.manifest.engine,
                                                   engine.name))
        database = engine.restore(reader, progress=report)
    if not engine.clones_sandboxes:
        return connected(engine, database, batch_size, timeout)
    try:
        working = engine.clone_sandbox(database)
    except (EngineError, NotImplementedError) as exc:
        # Still a working playground; its resets restore the template again.
        log.info("cannot keep a pristine copy of %s: %s", database, exc)
        return connected(engine, database, batch_size, timeout)
    return connected(engine, working, batch_size, timeout, pristine=database, own_pristine=True)


def reset_from_clone(
    engine: Engine,
    template: Path | None,
    ready: str | None,
    pristine: str,
    relay: ProgressRelay | None,
    batch_size: int,
    timeout: float | None,
) -> Prepared:
    """Worker body of a fast reset: connect to the ``ready`` clone; without one (or when
    it cannot be used) clone ``pristine``; when that fails too, restore the template as
    when the playground opened. The old database is the caller's to drop."""
    if ready is not None:
        try:
            return connected(engine, ready, batch_size, timeout, pristine=pristine)
        except EngineError as exc:
            log.info("the ready clone %s cannot be used: %s", ready, exc)
    try:
        clone = engine.clone_sandbox(pristine)
    except (EngineError, NotImplementedError) as exc:
        log.info("cannot clone %s, restoring the template again: %s", pristine, exc)
        return prepare_sandbox(engine, template, relay, batch_size, timeout)
    return connected(engine, clone, batch_size, timeout, pristine=pristine)


def connected(
    engine: Engine,
    database: str,
    batch_size: int,
    timeout: float | None,
    *,
    pristine: str | None = None,
    own_pristine: bool = False,
) -> Prepared:
    """Connect to ``database`` and read its catalog; on failure drop it (and
    ``pristine`` when this call made it, ``own_pristine``)."""
    try:
        session = engine.connect(database)
        try:
            session.batch_size = batch_size
            if timeout:
                session.set_timeout(timeout)
            catalog = session.catalog()
        except BaseException:
            session.close()
            raise
    except BaseException:
        for made in (database, pristine if own_pristine else None):
            if made is not None:
                with contextlib.suppress(EngineError):
                    engine.drop_sandbox(made)
        raise
    return Prepared(database, session, catalog, pristine)


def close_and_drop(engine: Engine, database: str, session: Session | None) -> str:
    """Worker body: disconnect and drop a sandbox; returns its name."""
    if session is not None:
        with contextlib.suppress(Exception):  # a dead connection is as good as closed
            session.close()
    engine.drop_sandbox(database)
    return database


def clone_for_later(engine: Engine, pristine: str) -> tuple[str, str]:
    """Worker body: a clone of ``pristine`` for the next reset; returns both names."""
    return engine.clone_sandbox(pristine), pristine
