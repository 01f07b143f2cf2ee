"""The scripts part of a template: the editor's text, saved with the database state.

A user who saves a playground expects to get back what they typed, not only the tables
(DBeaver and pgAdmin keep the script with the connection). Scripts are stored under
``scripts/`` in the archive and listed in the manifest's ``scripts`` key with their hash
and size (format version 2). They are never restored and never run when a template
opens: the window shows them in the editor, where the user decides what to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dbplay_desktop.templates.manifest import SCRIPTS_FOLDER, TemplateError
from dbplay_desktop.templates.reader import TemplateReader

__all__ = ["LoadedScripts", "Script", "read_scripts", "script_name"]


@dataclass(frozen=True)
class Script:
    """One script: its path in the archive (``scripts/NAME``) and its text."""

    path: str
    text: str

    @property
    def name(self) -> str:
        """The file name without the ``scripts/`` folder."""
        return self.path.removeprefix(SCRIPTS_FOLDER)


@dataclass(frozen=True)
class LoadedScripts:
    """The scripts that could be read, and one line per script that could not."""

    scripts: tuple[Script, ...] = ()
    problems: tuple[str, ...] = ()


def read_scripts(path: str | Path) -> LoadedScripts:
    """Every script of the template at ``path``, checked against its hash.

    A damaged script does not stop the others (nor the restore, which never reads
    scripts); it is reported in ``problems``. A template the reader refuses raises
    :class:`TemplateError`. The total read is bounded by the scripts' size limit.
    """
    scripts: list[Script] = []
    problems: list[str] = []
    with TemplateReader(path) as reader:
        for script_path in reader.script_paths():
            try:
                scripts.append(Script(script_path, reader.read_script(script_path)))
            except TemplateError as err:
                problems.append(err.message)
    return LoadedScripts(tuple(scripts), tuple(problems))


def script_name(stem: str, suffix: str) -> str:
    """A script file name: ``stem`` plus the engine's script suffix (``.sql``)."""
    suffix = suffix if suffix.startswith(".") or not suffix else f".{suffix}"
    return f"{stem}{suffix}"
