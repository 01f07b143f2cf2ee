"""The template library: the user's folder of ``.dbtpl`` files plus the read-only samples.

The library is just a folder (``<data dir>/templates``), so users may also copy files
into it with their file manager; listing reads only each file's small manifest and
caches it by (path, mtime, size), which keeps a refresh after every file-system change
cheap. Sample templates ship with the application (``resources/samples``) and can be
opened but never renamed or deleted.

All app data lives under :func:`data_dir` (``platformdirs`` user data directory,
overridable by the ``DBPLAY_DATA_DIR`` environment variable, which tests point at a
temporary folder). Other modules ask :func:`data_dir` / :func:`library_dir` instead of
computing paths themselves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dbplay_desktop.app_dirs import data_dir
from dbplay_desktop.engines.base import EngineError

TEMPLATE_SUFFIX = ".dbtpl"

# Names Windows refuses as file names, whatever the extension.
_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
_UNSAFE_CHARS = frozenset('<>:"/\\|?*')
_MAX_STEM = 80


class LibraryError(EngineError):
    """A library operation failed; ``str(err)`` is one line a user can read."""

    title = "Template library"


# --------------------------------------------------------------------------- locations


def library_dir() -> Path:
    """The user's template library folder (may not exist yet)."""
    return data_dir() / "templates"


def resources_dir() -> Path:
    """The shipped ``resources`` folder: inside a PyInstaller bundle or next to the package."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def default_samples_dir() -> Path:
    """The folder of sample templates shipped with the application."""
    return resources_dir() / "samples"


# --------------------------------------------------------------------------- entries


@dataclass
class TemplateEntry:
    """One template file as the browser lists it (manifest data only, no payload)."""

    path: Path
    engine: str
    name: str
    description: str
    size: int
    stats: dict[str, int] = field(default_factory=dict)
    created_at: str = ""
    sample: bool = False
    error: str | None = None
    #: File modification time (seconds since the epoch), a fallback date for broken files.
    mtime: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the manifest could be read."""
        return self.error is None


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def _read_entry(path: Path, stat: os.stat_result, sample: bool) -> TemplateEntry:
    """Build an entry from the manifest; a broken file becomes an entry with ``error``."""
    from dbplay_desktop.templates.container import read_manifest

    base = TemplateEntry(
        path=path,
        engine="",
        name=path.stem,
        description="",
        size=stat.st_size,
        sample=sample,
        mtime=stat.st_mtime,
    )
    try:
        manifest = read_manifest(path)
    except Exception as err:  # any broken file is listed, never fatal for the list
        base.error = _one_line(err)
        return base
    base.engine = manifest.engine
    base.name = manifest.name
    base.description = manifest.description
    base.created_at = manifest.created_at
    base.stats = dict(manifest.stats)
    return base


def matches(entry: TemplateEntry, text: str) -> bool:
    """True if every word of ``text`` occurs (case-insensitively) in the entry's name,
    description, engine or file name; an empty ``text`` matches everything."""
    haystack = " ".join((entry.name, entry.description, entry.engine, entry.path.name))
    folded = haystack.casefold()
    return all(word in folded for word in text.casefold().split())


# --------------------------------------------------------------------------- file names


def safe_file_stem(name: str) -> str:
    """A file name stem derived from a template name that every OS accepts."""
    cleaned = "".join(
        "_" if (ch in _UNSAFE_CHARS or ord(ch) < 32 or ch == "\x7f") else ch for ch in name
    )
    cleaned = " ".join(cleaned.split()).strip(" .")
    if cleaned.lower().endswith(TEMPLATE_SUFFIX):
        cleaned = cleaned[: -len(TEMPLATE_SUFFIX)].rstrip(" .")
    cleaned = cleaned[:_MAX_STEM].rstrip(" .")
    if not cleaned:
        cleaned = "template"
    if cleaned.split(".")[0].lower() in _RESERVED_NAMES:
        cleaned = f"_{cleaned}"
    return cleaned


def _candidates(folder: Path, stem: str) -> Iterator[Path]:
    yield folder / f"{stem}{TEMPLATE_SUFFIX}"
    n = 2
    while True:
        yield folder / f"{stem} ({n}){TEMPLATE_SUFFIX}"
        n += 1


def _unique_path(folder: Path, stem: str, allow: Path | None = None) -> Path:
    """The first free ``stem.dbtpl`` / ``stem (2).dbtpl`` ... in ``folder``.

    ``allow`` is a path that counts as free (the file being renamed). The comparison is
    case-insensitive so the result is unique on case-insensitive file systems too.
    """
    taken = {p.name.casefold() for p in folder.iterdir()} if folder.is_dir() else set()
    allowed = allow.name.casefold() if allow is not None else None
    for candidate in _candidates(folder, stem):
        key = candidate.name.casefold()
        if key == allowed or key not in taken:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _place_without_clobber(tmp: Path, folder: Path, stem: str, allow: Path | None = None) -> Path:
    """Move ``tmp`` to a free name in ``folder`` without overwriting a file that appears
    meanwhile (a hard link fails if the name exists); returns the final path."""
    for _attempt in range(50):
        target = _unique_path(folder, stem, allow)
        if allow is not None and target.name.casefold() == allow.name.casefold():
            os.replace(tmp, allow)
            if target.name != allow.name:  # only the letter case changes
                os.rename(allow, target)
            return target
        try:
            os.link(tmp, target)
        except FileExistsError:
            continue
        except OSError:  # file system without hard links: best effort
            if target.exists():
                continue
            os.replace(tmp, target)
            return target
        tmp.unlink()
        return target
    raise LibraryError(f"Could not find a free file name for {stem!r} in {folder}")


@contextlib.contextmanager
def _temp_file(folder: Path) -> Iterator[Path]:
    """A temporary file in ``folder`` (same file system, so the final move is atomic);
    removed again if the block fails or leaves it behind."""
    fd, name = tempfile.mkstemp(prefix=".incoming-", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


# --------------------------------------------------------------------------- the library


class TemplateLibrary:
    """The user's template folder plus the shipped samples, as a list of entries."""

    def __init__(self, root: Path | None = None, samples_dir: Path | None = None) -> None:
        self.root = Path(root) if root is not None else library_dir()
        self.samples_dir = (
            Path(samples_dir) if samples_dir is not None else default_samples_dir()
        )
        self._cache: dict[Path, tuple[int, int, TemplateEntry]] = {}

    # -- listing -----------------------------------------------------------------
    def ensure_root(self) -> Path:
        """Create the library folder if needed and return it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LibraryError(f"Cannot create the template library {self.root}: {err}") from err
        return self.root

    def entries(self) -> list[TemplateEntry]:
        """The user's templates (by name) followed by the samples (by name)."""
        fresh: dict[Path, tuple[int, int, TemplateEntry]] = {}
        mine = self._scan(self.root, sample=False, fresh=fresh)
        samples: list[TemplateEntry] = []
        if self.samples_dir.resolve() != self.root.resolve():
            samples = self._scan(self.samples_dir, sample=True, fresh=fresh)
        self._cache = fresh
        return mine + samples

    def _scan(
        self, folder: Path, *, sample: bool, fresh: dict[Path, tuple[int, int, TemplateEntry]]
    ) -> list[TemplateEntry]:
        try:
            paths = [
                p
                for p in folder.iterdir()
                if p.suffix.lower() == TEMPLATE_SUFFIX and not p.name.startswith(".")
            ]
        except OSError:  # missing or unreadable folder: nothing to list
            return []
        found: list[TemplateEntry] = []
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished between listing and stat
            if not path.is_file():
                continue
            cached = self._cache.get(path)
            if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
                entry = cached[2]
            else:
                entry = _read_entry(path, stat, sample)
            fresh[path] = (stat.st_mtime_ns, stat.st_size, entry)
            found.append(entry)
        found.sort(key=lambda e: (e.name.casefold(), e.path.name.casefold()))
        return found

    def search(self, text: str) -> list[TemplateEntry]:
        """Entries whose name, description, engine or file name contain every word."""
        return [entry for entry in self.entries() if matches(entry, text)]

    def entry_for(self, path: Path) -> TemplateEntry:
        """The (fresh) entry for one file of the library or the samples."""
        path = Path(path)
        try:
            stat = path.stat()
        except OSError as err:
            raise LibraryError(f"Cannot read {path}: {err.strerror or err}") from err
        sample = self._is_sample(path)
        entry = _read_entry(path, stat, sample)
        self._cache[path] = (stat.st_mtime_ns, stat.st_size, entry)
        return entry

    # -- changes -----------------------------------------------------------------
    def import_file(self, path: Path | str) -> TemplateEntry:
        """Copy a template into the library (atomically) after checking it is one.

        The copy keeps the file's name, numbered on a clash (``shop (2).dbtpl``).
        """
        source = Path(path)
        if not source.is_file():
            raise LibraryError(f"Cannot import {source}: no such file")
        self._verify(source)
        root = self.ensure_root()
        if self._inside(source, root):
            return self.entry_for(source)
        stem = safe_file_stem(source.stem)
        with _temp_file(root) as tmp:
            try:
                shutil.copyfile(source, tmp)
                _fsync(tmp)
            except OSError as err:
                raise LibraryError(f"Cannot import {source}: {err.strerror or err}") from err
            try:  # the copy is what enters the library: check it too
                self._verify(tmp)
            except LibraryError as err:
                raise LibraryError(f"{source.name} changed while it was imported") from err
            target = _place_without_clobber(tmp, root, stem)
        return self.entry_for(target)

    def rename(self, entry: TemplateEntry, new_name: str) -> TemplateEntry:
        """Give a template a new name: the manifest's name and the file name both change."""
        self._check_writable(entry, "renamed")
        new_name = " ".join(new_name.split())
        if not new_name:
            raise LibraryError("A template needs a name")
        from dbplay_desktop.templates.manifest import MAX_NAME_LENGTH

        if len(new_name) > MAX_NAME_LENGTH:
            raise LibraryError(
                f"A template name may have at most {MAX_NAME_LENGTH} characters, "
                f"this one has {len(new_name)}"
            )
        old = entry.path
        if not old.is_file():
            raise LibraryError(f"Cannot rename {old.name}: the file no longer exists")
        folder = old.parent
        with _temp_file(folder) as tmp:
            _rewrite_with_name(old, tmp, new_name)
            _fsync(tmp)
            self._verify(tmp)
            target = _place_without_clobber(tmp, folder, safe_file_stem(new_name), allow=old)
        if target.name.casefold() != old.name.casefold():
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
        self._cache.pop(old, None)
        return self.entry_for(target)

    def delete(self, entry: TemplateEntry) -> None:
        """Remove a template file from the library (a file already gone counts as done)."""
        self._check_writable(entry, "deleted")
        try:
            entry.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as err:
            raise LibraryError(f"Cannot delete {entry.path.name}: {err.strerror or err}") from err
        self._cache.pop(entry.path, None)

    def path_for_new(self, name: str) -> Path:
        """A safe, unused file path in the library for saving a template called ``name``."""
        return _unique_path(self.ensure_root(), safe_file_stem(name))

    # -- helpers -----------------------------------------------------------------
    def _is_sample(self, path: Path) -> bool:
        return self._inside(path, self.samples_dir) and not self._inside(path, self.root)

    @staticmethod
    def _inside(path: Path, folder: Path) -> bool:
        try:
            return path.resolve().parent == folder.resolve()
        except OSError:
            return False

    def _check_writable(self, entry: TemplateEntry, verb: str) -> None:
        if entry.sample or self._is_sample(entry.path):
            raise LibraryError(
                f"{entry.name!r} is a sample template and cannot be {verb}; "
                "open it and save it as your own template instead"
            )
        if not self._inside(entry.path, self.root):
            raise LibraryError(f"{entry.path} is not in the template library {self.root}")

    @staticmethod
    def _verify(path: Path) -> None:
        """Refuse anything that is not a readable template before it enters the library."""
        from dbplay_desktop.templates.container import read_manifest

        try:
            read_manifest(path)
        except Exception as err:
            raise LibraryError(f"{path.name} is not a valid template: {_one_line(err)}") from err


# --------------------------------------------------------------------------- rewriting


def _rewrite_with_name(source: Path, target: Path, new_name: str) -> None:
    """Stream-copy the container ``source`` into ``target`` with the manifest's name changed.

    Payload entries are copied byte for byte in their original order and compression; only
    the manifest entry is re-encoded.
    """
    from dbplay_desktop.templates.container import read_manifest
    from dbplay_desktop.templates.manifest import MANIFEST_NAME

    try:
        manifest = read_manifest(source)
        updated = dataclasses.replace(manifest, name=new_name).to_json().encode("utf-8")
        with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
            zout.comment = zin.comment
            for info in zin.infolist():
                fresh = _copy_info(info)
                if info.filename == MANIFEST_NAME:
                    zout.writestr(fresh, updated)
                    continue
                fresh.file_size = info.file_size  # lets zipfile choose ZIP64 for huge files
                with zin.open(info) as src, zout.open(fresh, "w") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
    except LibraryError:
        raise
    except Exception as err:
        raise LibraryError(f"Cannot rename {source.name}: {_one_line(err)}") from err


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new header with the entry's name, date, compression and mode, but no stale
    extra fields (a copied ZIP64 record would otherwise be written twice)."""
    fresh = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    fresh.compress_type = info.compress_type
    fresh.external_attr = info.external_attr
    fresh.create_system = info.create_system
    fresh.comment = info.comment
    return fresh
