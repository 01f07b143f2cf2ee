"""The ``manifest.json`` of a ``.dbtpl`` template: what it holds and how to check it.

A template comes from strangers, so everything read from a manifest is validated here
before any other code sees it: types, the file list, paths that could escape a directory,
and the format version. Keys this version does not know are kept in ``extra`` so that a
template written by a newer tool keeps them when it is read and written again.

Parsing is bounded too: the manifest is at most 1 MiB (see
:mod:`~dbplay_desktop.templates.limits`), and within it nesting depth, number length,
string lengths and list sizes have limits of their own, checked before or while the JSON
is decoded, so a hostile manifest fails with one line naming the limit rather than a
``RecursionError`` or a 4300-digit ``ValueError`` from deep inside the parser.

The format is described for users and other tools in ``docs/dbtpl-format.md``.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbplay_desktop.engines.base import EngineError

FORMAT = "dbtpl"
#: The newest version this dbplay reads. Version 2 adds ``scripts``, version 3 payload
#: files compressed with zstd (a file item's ``compression``). A template is written with
#: the lowest version that holds it, so older readers keep opening what they can read.
FORMAT_VERSION = 3
#: The first version that has a ``scripts`` list.
SCRIPTS_VERSION = 2
#: The first version whose file items may say ``"compression": "zstd"``.
ZSTD_VERSION = 3
#: The compressions a file item may name (version 3 on); ZIP's own methods need none.
COMPRESSIONS = ("zstd",)
#: Folder of the archive that holds the scripts (and nothing else, from version 2 on).
SCRIPTS_FOLDER = "scripts/"
#: Longest engine name a manifest may carry (engine names are short identifiers).
MAX_ENGINE_NAME_LENGTH = 40
MANIFEST_NAME = "manifest.json"


def is_engine_name(name: object) -> bool:
    """Whether ``name`` can name an engine: any engine, installed or not.

    The manifest does not know which engines exist (a plugin may add one); whether the
    engine is installed is decided at restore time, where the error says what to install.
    """
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_ENGINE_NAME_LENGTH
        and name.isascii()
        and name[0].isalpha()
        and name == name.lower()
        and all(char.isalnum() or char in "_-" for char in name)
    )

# Keys written in this order; anything else read from a manifest goes to ``extra``.
_KNOWN_KEYS = (
    "format",
    "format_version",
    "engine",
    "engine_version",
    "name",
    "description",
    "created_at",
    "app_version",
    "files",
    "stats",
    "scripts",
)
_FILE_KEYS = ("path", "sha256", "size")
_COMPRESSION_KEY = "compression"

# Limits inside the manifest; dbplay's own writer stays far below them.
MAX_DEPTH = 32  # nested lists and objects; a dbplay manifest needs 3
MAX_NUMBER_LENGTH = 32  # characters of one JSON number; a 64-bit size needs 19 digits
MAX_NAME_LENGTH = 200  # characters of 'name'
MAX_DESCRIPTION_LENGTH = 10_000  # characters of 'description'
MAX_FIELD_LENGTH = 200  # characters of 'engine_version', 'app_version', 'created_at'
MAX_PATH_LENGTH = 1024  # characters of a payload file's path
MAX_FILES = 10_000  # payload files listed
MAX_STATS = 256  # keys of 'stats'
MAX_SCRIPTS = 32  # scripts listed in 'scripts'
MAX_SCRIPTS_SIZE = 4 * 1024**2  # bytes of all scripts together (editor text, not data)
_DEPTH_TOKEN = re.compile(r'["\[\]{}]')
_HEX_DIGITS = frozenset(string.hexdigits.lower())


class TemplateError(EngineError):
    """A template file is damaged, unsafe, too large or not a template at all."""

    title = "Invalid template"


# --------------------------------------------------------------------------- paths


def check_member_path(path: object, what: str = "path") -> str:
    """Return ``path`` if it is a safe relative POSIX path inside an archive, else raise.

    Refused: empty names, absolute paths, backslashes, drive letters, ``.`` and ``..``
    components, empty components (``a//b``) and control characters. A trailing ``/``
    (directory entry) is allowed here; callers that need a file name check for it.
    """
    if not isinstance(path, str) or not path:
        raise TemplateError(f"{what} must be a non-empty string, not {_show(path)}")
    if "\\" in path:
        raise TemplateError(f"{what} {_show(path)} contains a backslash")
    if path.startswith("/"):
        raise TemplateError(f"{what} {_show(path)} is absolute")
    if len(path) >= 2 and path[1] == ":" and path[0].isascii() and path[0].isalpha():
        raise TemplateError(f"{what} {_show(path)} starts with a drive letter")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise TemplateError(f"{what} {_show(path)} contains a control character")
    parts = path[:-1].split("/") if path.endswith("/") else path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise TemplateError(f"{what} {_show(path)} has a {part or 'empty'!r} component")
    return path


# --------------------------------------------------------------------------- data


@dataclass
class FileEntry:
    """One payload file: its path in the archive, SHA-256 (lowercase hex) and size in bytes.

    ``sha256`` and ``size`` are those of the uncompressed file. ``compression`` (version 3)
    is ``"zstd"`` when the archive entry is stored and holds zstd frames, None when ZIP's
    own method (stored or deflated) applies. ``extra`` keeps per-file keys this version
    does not know, so they round-trip.
    """

    path: str
    sha256: str
    size: int
    extra: dict[str, Any] = field(default_factory=dict)
    compression: str | None = None

    def to_dict(self) -> dict[str, Any]:
        known: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "size": self.size}
        if self.compression is not None:
            known[_COMPRESSION_KEY] = self.compression
        return {**known, **self.extra}


@dataclass
class Manifest:
    """The parsed, validated ``manifest.json`` of a template.

    ``files`` are in restore order. ``stats`` are object counts for display (tables,
    rows, collections, ...). ``scripts`` (version 2) are editor texts under ``scripts/``:
    shown in the editor, never restored or run. ``extra`` holds top-level keys this
    version does not know.
    """

    engine: str
    engine_version: str
    name: str
    description: str
    created_at: str
    app_version: str
    files: list[FileEntry] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = 1
    scripts: list[FileEntry] = field(default_factory=list)

    @property
    def total_size(self) -> int:
        """Uncompressed size of all payload files together, as the manifest declares it."""
        return sum(entry.size for entry in self.files)

    @property
    def scripts_size(self) -> int:
        """Uncompressed size of all scripts together, as the manifest declares it."""
        return sum(entry.size for entry in self.scripts)

    @property
    def created(self) -> datetime | None:
        """``created_at`` as an aware datetime, or None if it cannot be parsed."""
        return _parse_timestamp(self.created_at)

    def file(self, path: str) -> FileEntry | None:
        """The entry for ``path``, or None if the manifest does not list it."""
        return next((entry for entry in self.files if entry.path == path), None)

    def script(self, path: str) -> FileEntry | None:
        """The script entry for ``path``, or None if the manifest does not list it."""
        return next((entry for entry in self.scripts if entry.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        known = {
            "format": FORMAT,
            "format_version": self.format_version,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "name": self.name,
            "description": self.description,
            "created_at": self.created_at,
            "app_version": self.app_version,
            "files": [entry.to_dict() for entry in self.files],
            "stats": dict(self.stats),
        }
        if self.format_version >= SCRIPTS_VERSION:
            known["scripts"] = [entry.to_dict() for entry in self.scripts]
        extra = {key: value for key, value in self.extra.items() if key not in known}
        return {**known, **extra}

    def to_json(self) -> str:
        """The manifest as pretty-printed UTF-8 JSON text, known keys first."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        """Parse and validate manifest text; raise :class:`TemplateError` naming the bad key."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as err:
                raise TemplateError(
                    f"{MANIFEST_NAME} is not UTF-8 text (bad byte at offset {err.start})"
                ) from err
        _check_depth(text)
        try:
            data = json.loads(
                text,
                object_pairs_hook=_no_duplicate_keys,
                parse_constant=_no_constants,
                parse_int=_parse_int,
                parse_float=_parse_float,
            )
        except json.JSONDecodeError as err:
            raise TemplateError(
                f"{MANIFEST_NAME} is not valid JSON (line {err.lineno} column {err.colno}: "
                f"{err.msg})"
            ) from err
        if not isinstance(data, dict):
            raise TemplateError(f"{MANIFEST_NAME} must hold a JSON object, not {_kind(data)}")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Validate an already decoded manifest object (see :meth:`from_json`)."""
        fmt = _require(data, "format")
        if fmt != FORMAT:
            raise TemplateError(
                f"{MANIFEST_NAME} key 'format' is {_show(fmt)}, expected {FORMAT!r}"
            )
        version = _require(data, "format_version")
        if not _is_int(version) or version < 1:
            raise TemplateError(
                f"{MANIFEST_NAME} key 'format_version' must be a positive integer, "
                f"not {_show(version)}"
            )
        if version > FORMAT_VERSION:
            raise TemplateError(
                f"template format version {version} is newer than this dbplay understands "
                f"({FORMAT_VERSION}); update dbplay"
            )
        engine = _string(data, "engine", required=True)
        if not is_engine_name(engine):
            raise TemplateError(
                f"{MANIFEST_NAME} key 'engine' must be an engine name (letters, digits, "
                f"'_' and '-'), not {_show(engine)}"
            )
        name = _string(data, "name", required=True, limit=MAX_NAME_LENGTH)
        if not name.strip():
            raise TemplateError(f"{MANIFEST_NAME} key 'name' must not be empty")
        created_at = _string(data, "created_at", required=True)
        if _parse_timestamp(created_at) is None:
            raise TemplateError(
                f"{MANIFEST_NAME} key 'created_at' is not an ISO 8601 timestamp: "
                f"{_show(created_at)}"
            )
        # Before version 2 'scripts' meant nothing: it stays an unknown key, and the files
        # it names are unlisted entries, refused exactly as an older reader refuses them.
        has_scripts = version >= SCRIPTS_VERSION
        files = _files(_require(data, "files"), version=version)
        scripts = _files(data.get("scripts", []), "scripts", version) if has_scripts else []
        if has_scripts:
            _check_scripts(files, scripts)
        known = _KNOWN_KEYS if has_scripts else _KNOWN_KEYS[:-1]
        return cls(
            engine=engine,
            engine_version=_string(data, "engine_version", required=True),
            name=name,
            description=_string(data, "description", limit=MAX_DESCRIPTION_LENGTH),
            created_at=created_at,
            app_version=_string(data, "app_version"),
            files=files,
            stats=_stats(data.get("stats", {})),
            extra={key: value for key, value in data.items() if key not in known},
            format_version=version,
            scripts=scripts,
        )


# --------------------------------------------------------------------------- validation


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else "a value")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a hostile value must not flood the message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown_name(name: str, limit: int = 80) -> str:
    """An archive name for a message: as it is, or cut in the middle when it is long (a
    ZIP name may be 65,535 bytes; the message must stay one readable line)."""
    if len(name) <= limit:
        return name
    half = (limit - 3) // 2
    return f"{name[:half]}...{name[-half:]}"


def check_text_length(key: str, value: str, limit: int) -> None:
    """Refuse a manifest string longer than ``limit`` characters (the writer checks too)."""
    if len(value) > limit:
        raise TemplateError(
            f"{MANIFEST_NAME} key {key!r} is {len(value)} characters long; "
            f"at most {limit} are allowed"
        )


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before the recursive JSON parser runs.

    Strings are skipped with the JSON module's own (linear) string scanner, so brackets
    inside them do not count; malformed text is left for ``json.loads`` to report.
    """
    depth, pos = 0, 0
    while (match := _DEPTH_TOKEN.search(text, pos)) is not None:
        char, pos = match.group(), match.end()
        if char == '"':
            try:
                pos = json.decoder.scanstring(text, pos)[1]
            except json.JSONDecodeError:
                return
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise TemplateError(
                    f"{MANIFEST_NAME} nests lists or objects more than {MAX_DEPTH} deep"
                )
        else:
            depth -= 1


def _check_number(text: str) -> None:
    if len(text) > MAX_NUMBER_LENGTH:
        raise TemplateError(
            f"{MANIFEST_NAME} holds a number {len(text)} characters long; "
            f"at most {MAX_NUMBER_LENGTH} are allowed"
        )


def _parse_int(text: str) -> int:
    _check_number(text)
    return int(text)


def _parse_float(text: str) -> float:
    _check_number(text)
    value = float(text)
    if not math.isfinite(value):
        raise TemplateError(f"{MANIFEST_NAME} holds the number {text}, too large for JSON")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse repeated keys: parsers disagree on which one wins, so a template could differ."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise TemplateError(f"{MANIFEST_NAME} has the key {_show(key)} twice")
        result[key] = value
    return result


def _no_constants(name: str) -> None:
    raise TemplateError(f"{MANIFEST_NAME} contains {name}, which is not valid JSON")


def _require(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise TemplateError(f"{MANIFEST_NAME} has no {key!r} key")
    return data[key]


def _string(
    data: dict[str, Any], key: str, *, required: bool = False, limit: int = MAX_FIELD_LENGTH
) -> str:
    value = _require(data, key) if required else data.get(key, "")
    if not isinstance(value, str):
        raise TemplateError(f"{MANIFEST_NAME} key {key!r} must be a string, not {_kind(value)}")
    check_text_length(key, value, limit)
    return value


def _parse_timestamp(text: str) -> datetime | None:
    # Python 3.10's fromisoformat does not accept a trailing "Z".
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _files(value: object, key: str = "files", version: int = 1) -> list[FileEntry]:
    """The entries of ``files`` (payload) or ``scripts``: same item rules for both.

    Before version 3 ``compression`` meant nothing: it stays an unknown key, as an older
    reader sees it (the entry is then read as ZIP alone says).
    """
    what, limit = ("payload file", MAX_FILES) if key == "files" else ("script", MAX_SCRIPTS)
    if not isinstance(value, list):
        raise TemplateError(f"{MANIFEST_NAME} key {key!r} must be a list, not {_kind(value)}")
    if len(value) > limit:
        raise TemplateError(
            f"{MANIFEST_NAME} lists {len(value)} {what}s; at most {limit} are allowed"
        )
    entries: list[FileEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise TemplateError(f"{MANIFEST_NAME} key {where!r} must be an object")
        for name in _FILE_KEYS:
            if name not in item:
                raise TemplateError(f"{MANIFEST_NAME} key {where!r} has no {name!r}")
        if isinstance(item["path"], str):
            check_text_length(f"{where}.path", item["path"], MAX_PATH_LENGTH)
        path = check_member_path(item["path"], f"{MANIFEST_NAME} key '{where}.path'")
        if path.endswith("/"):
            raise TemplateError(
                f"{MANIFEST_NAME} key '{where}.path' names a directory: {_show(path)}"
            )
        if path == MANIFEST_NAME:
            raise TemplateError(f"{MANIFEST_NAME} lists itself as a payload file")
        if path in seen:
            raise TemplateError(f"{MANIFEST_NAME} lists the {what} {_show(path)} twice")
        seen.add(path)
        digest = item["sha256"]
        if (
            not isinstance(digest, str)
            or len(digest) != 64
            or not set(digest.lower()) <= _HEX_DIGITS
        ):
            raise TemplateError(
                f"{MANIFEST_NAME} key '{where}.sha256' must be 64 hex digits, not {_show(digest)}"
            )
        size = item["size"]
        if not _is_int(size) or size < 0:
            raise TemplateError(
                f"{MANIFEST_NAME} key '{where}.size' must be a non-negative integer, "
                f"not {_show(size)}"
            )
        known = _FILE_KEYS
        compression: str | None = None
        if version >= ZSTD_VERSION and _COMPRESSION_KEY in item:
            known = (*_FILE_KEYS, _COMPRESSION_KEY)
            compression = item[_COMPRESSION_KEY]
            if compression not in COMPRESSIONS:
                raise TemplateError(
                    f"{MANIFEST_NAME} key '{where}.compression' is {_show(compression)}; "
                    f"this dbplay knows only {', '.join(map(repr, COMPRESSIONS))}"
                )
        extra = {key: val for key, val in item.items() if key not in known}
        entries.append(FileEntry(path, digest.lower(), size, extra, compression))
    return entries


def _check_scripts(files: list[FileEntry], scripts: list[FileEntry]) -> None:
    """Scripts live directly in ``scripts/``, and nothing else does (version 2 on)."""
    for entry in files:
        if entry.path.startswith(SCRIPTS_FOLDER):
            raise TemplateError(
                f"{MANIFEST_NAME} lists {_show(entry.path)} as a payload file, but "
                f"{SCRIPTS_FOLDER} holds only scripts"
            )
    for entry in scripts:
        name = entry.path.removeprefix(SCRIPTS_FOLDER)
        if not entry.path.startswith(SCRIPTS_FOLDER) or "/" in name:
            raise TemplateError(
                f"{MANIFEST_NAME} lists the script {_show(entry.path)} outside "
                f"{SCRIPTS_FOLDER} (a script is {SCRIPTS_FOLDER}NAME)"
            )
    total = sum(entry.size for entry in scripts)
    if total > MAX_SCRIPTS_SIZE:
        raise TemplateError(
            f"{MANIFEST_NAME} lists scripts of {total} bytes together; at most "
            f"{MAX_SCRIPTS_SIZE} are allowed"
        )


def _stats(value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        raise TemplateError(f"{MANIFEST_NAME} key 'stats' must be an object, not {_kind(value)}")
    if len(value) > MAX_STATS:
        raise TemplateError(
            f"{MANIFEST_NAME} key 'stats' has {len(value)} counts; at most {MAX_STATS} "
            "are allowed"
        )
    for key, count in value.items():
        if len(key) > MAX_FIELD_LENGTH:
            raise TemplateError(
                f"{MANIFEST_NAME} key 'stats' has a key {len(key)} characters long; "
                f"at most {MAX_FIELD_LENGTH} are allowed"
            )
        if not _is_int(count):
            raise TemplateError(
                f"{MANIFEST_NAME} key 'stats.{key}' must be an integer, not {_show(count)}"
            )
    return dict(value)
