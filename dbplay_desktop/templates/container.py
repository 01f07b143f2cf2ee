"""The ``.dbtpl`` container: one import for reading and writing templates.

A template is a ZIP archive holding ``manifest.json`` and the payload files an engine
dumped; the format is described in ``docs/dbtpl-format.md``. Reading lives in
:mod:`~dbplay_desktop.templates.reader`, writing in :mod:`~dbplay_desktop.templates.writer`,
the manifest in :mod:`~dbplay_desktop.templates.manifest` and the size limits in
:mod:`~dbplay_desktop.templates.limits`.
"""

from __future__ import annotations

from dbplay_desktop.templates.limits import (
    DEFAULT_MAX_SIZE,
    ENV_MAX_SIZE,
    MAX_MANIFEST_SIZE,
    max_template_size,
)
from dbplay_desktop.templates.manifest import FileEntry, Manifest, TemplateError
from dbplay_desktop.templates.reader import TemplateReader, read_manifest
from dbplay_desktop.templates.writer import TemplateWriter

__all__ = [
    "DEFAULT_MAX_SIZE",
    "ENV_MAX_SIZE",
    "MAX_MANIFEST_SIZE",
    "FileEntry",
    "Manifest",
    "TemplateError",
    "TemplateReader",
    "TemplateWriter",
    "max_template_size",
    "read_manifest",
]
