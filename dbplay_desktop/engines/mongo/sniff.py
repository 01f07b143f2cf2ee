"""Whether a file or folder looks like something the MongoDB importer reads (stdlib only).

Cheap on purpose (``dbplay template import`` asks every engine): names in a folder and its
subfolders one level down, the first bytes of a file. The importer itself decides for
real and says what it does not understand.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

ARCHIVE_MAGIC = b"\x6d\xe2\x99\x81"
GZIP_MAGIC = b"\x1f\x8b"
DUMP_SUFFIXES = (".bson", ".bson.gz", ".metadata.json", ".metadata.json.gz")
_PLAYGROUND = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:\[|db\s*=)")


def has_dump_files(folder: Path) -> bool:
    try:
        return any(entry.is_file() and entry.name.endswith(DUMP_SUFFIXES)
                   for entry in folder.iterdir())
    except OSError:
        return False


def can_import(source: Path) -> bool:
    """A mongodump folder or archive, or Mongo Playground's configuration text."""
    source = Path(source)
    if source.is_dir():
        if has_dump_files(source):
            return True
        try:
            return any(entry.is_dir() and has_dump_files(entry) for entry in source.iterdir())
        except OSError:
            return False
    try:
        with open(source, "rb") as handle:
            head = handle.read(256)
        if head.startswith(GZIP_MAGIC):
            with gzip.open(source, "rb") as handle:
                head = handle.read(256)
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return head.startswith(ARCHIVE_MAGIC) or bool(_PLAYGROUND.match(head))
