"""Size limits for templates, and the ``DBPLAY_MAX_TEMPLATE_SIZE`` setting.

A template is a ZIP archive from an untrusted source: a few kilobytes of deflated zeros
can expand to gigabytes. The limit caps how many uncompressed bytes a template may hold
in total; readers refuse larger templates before restoring anything and count the bytes
they actually decompress. Writers use the same limit so dbplay never saves a template
it would refuse to open.

The manifest has limits of its own (its size here; depth, numbers, strings and list
sizes in :mod:`~dbplay_desktop.templates.manifest`, re-exported below), so every limit a
template can hit is listed in this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dbplay_desktop.templates.manifest import (
    MAX_DEPTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_FIELD_LENGTH,
    MAX_FILES,
    MAX_NAME_LENGTH,
    MAX_NUMBER_LENGTH,
    MAX_PATH_LENGTH,
    MAX_SCRIPTS,
    MAX_SCRIPTS_SIZE,
    MAX_STATS,
    TemplateError,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "ENV_MAX_SIZE",
    "MAX_ARCHIVE_ENTRIES",
    "MAX_DEPTH",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_FIELD_LENGTH",
    "MAX_FILES",
    "MAX_MANIFEST_SIZE",
    "MAX_NAME_LENGTH",
    "MAX_NUMBER_LENGTH",
    "MAX_PATH_LENGTH",
    "MAX_SCRIPTS",
    "MAX_SCRIPTS_SIZE",
    "MAX_STATS",
    "format_size",
    "max_template_size",
    "parse_size",
    "resolve_max_size",
]

DEFAULT_MAX_SIZE = 4 * 1024**3
MAX_MANIFEST_SIZE = 1024**2
# Entries in the ZIP: the payload files and scripts, the manifest and as many directories.
MAX_ARCHIVE_ENTRIES = 2 * (MAX_FILES + MAX_SCRIPTS) + 1
ENV_MAX_SIZE = "DBPLAY_MAX_TEMPLATE_SIZE"

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """Bytes from ``"1048576"``, ``"500M"``, ``"4G"``, ``"1.5GiB"`` (units are powers of 1024)."""
    cleaned = text.strip().upper().replace(" ", "")
    for suffix in ("IB", "B"):
        if cleaned.endswith(suffix) and len(cleaned) > len(suffix):
            cleaned = cleaned[: -len(suffix)]
            break
    unit = cleaned[-1] if cleaned and cleaned[-1] in "KMGT" else ""
    number = cleaned[: len(cleaned) - len(unit)]
    try:
        value = float(number) if "." in number else int(number)
    except ValueError:
        raise TemplateError(
            f"{text!r} is not a size: use a number of bytes or a suffix, e.g. 500M or 4G"
        ) from None
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise TemplateError(f"{text!r} is not a size: it must be more than 0 bytes")
    return size


def format_size(size: int) -> str:
    """A short human-readable size: ``4 GiB``, ``1.5 MiB``, ``120 bytes``."""
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")


def max_template_size(environ: Mapping[str, str] | None = None) -> int:
    """The size limit in bytes: ``DBPLAY_MAX_TEMPLATE_SIZE`` if set, else 4 GiB."""
    env = os.environ if environ is None else environ
    raw = env.get(ENV_MAX_SIZE, "").strip()
    if not raw:
        return DEFAULT_MAX_SIZE
    try:
        return parse_size(raw)
    except TemplateError as err:
        raise TemplateError(f"{ENV_MAX_SIZE}: {err.message}") from None


def resolve_max_size(max_size: int | None) -> int:
    """``max_size`` if given (must be positive), else the configured limit."""
    if max_size is None:
        return max_template_size()
    if not isinstance(max_size, int) or max_size <= 0:
        raise ValueError(f"max_size must be a positive number of bytes, not {max_size!r}")
    return max_size
