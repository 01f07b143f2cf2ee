"""The ``.dbtpl`` reader on damaged templates: real ones, then bytes, archive and manifest
mutated (:mod:`tests.fuzz.dbtpl_mutations`).

Properties, through every entry point the window and the command line use (reading the
manifest, ``template info``, the scripts, streaming the payload files as an engine reads
a :class:`PayloadSource`, ``verify``, and an SQLite restore): each either succeeds or
raises the engine error family with one line, never another exception; a payload file
that reads to its end without an error is exactly what the manifest declares; a failed
restore leaves nothing behind; and reading never takes memory the template's declared
sizes do not allow, however the archive was crafted.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dbplay_desktop.errors import EngineError
from dbplay_desktop.templates.container import TemplateReader, read_manifest
from dbplay_desktop.templates.operations import template_info, verify_template
from dbplay_desktop.templates.scripts import read_scripts
from tests.fuzz.dbtpl_mutations import (
    Member,
    archive,
    damaged_template,
    manifest_of,
    members,
    seeds,
    with_manifest,
)
from tests.fuzz.support import MAX_MESSAGE, budget, check_one_line, peak_memory

LABEL = "t.dbtpl"
#: A message names the file and an entry or key, each cut short; never the input itself.
MESSAGE_LIMIT = MAX_MESSAGE + len(LABEL)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dbplay-fuzz-dbtpl-") as name:
        yield Path(name)


def _place(folder: Path, data: bytes) -> Path:
    path = folder / LABEL
    path.write_bytes(data)
    return path


def _refused_properly(call: Callable[..., object], *args: object) -> object:
    """``call(*args)``'s result, or None when it raised the family's one-line error."""
    try:
        return call(*args)
    except EngineError as error:
        check_one_line(error, MESSAGE_LIMIT)
        return None


def _read_in_steps(stream: io.BufferedIOBase, sizes: list[int]) -> bytes:
    """A file read as engines read one: ``read(n)``, ``readinto`` and ``readline`` mixed."""
    out = bytearray()
    turn = 0
    while True:
        size = sizes[turn % len(sizes)]
        turn += 1
        if size == 0:
            chunk = stream.readline()
        elif size % 2:
            chunk = stream.read(size)
        else:
            buffer = bytearray(size)
            got = stream.readinto(buffer)
            chunk = bytes(buffer[:got])
        if not chunk:
            return bytes(out)
        out += chunk


def _stream_payload(path: Path, sizes: list[int]) -> None:
    """Every payload file and script, read to its end; what reads cleanly is as declared."""
    with TemplateReader(path) as reader:
        for name in reader.paths():
            entry = reader.manifest.file(name)
            assert entry is not None
            size = reader.size(name)
            content = _refused_properly(_read_whole, reader, name, sizes)
            if content is not None:
                assert isinstance(content, bytes)
                assert len(content) == entry.size == size
                assert hashlib.sha256(content).hexdigest() == entry.sha256
        for name in reader.script_paths():
            text = _refused_properly(reader.read_script, name)
            script = reader.manifest.script(name)
            if text is not None and script is not None:
                assert isinstance(text, str)
                assert len(text.encode("utf-8")) <= script.size
        for problem in reader.verify():
            assert "\n" not in problem and len(problem) <= MESSAGE_LIMIT, problem


def _read_whole(reader: TemplateReader, name: str, sizes: list[int]) -> bytes:
    with reader.open(name) as stream:
        return _read_in_steps(stream, sizes)


def _every_entry_point(path: Path, sizes: list[int]) -> None:
    manifest = _refused_properly(read_manifest, path)
    info = _refused_properly(template_info, path)
    assert (manifest is None) == (info is None)
    _refused_properly(read_scripts, path)
    problems = _refused_properly(verify_template, path)
    if isinstance(problems, list):
        for problem in problems:
            assert isinstance(problem, str)
            assert "\n" not in problem and "\r" not in problem, problem
    if manifest is not None:
        _stream_payload(path, sizes)


_sizes = st.lists(st.sampled_from([0, 1, 2, 7, 100, 4096, 65536, 1 << 20]), min_size=1,
                  max_size=4)


@budget(100)
@given(damaged_template(), _sizes)
def test_damaged_templates_read_or_refuse_in_one_line(folder: Path, data: bytes,
                                                       sizes: list[int]) -> None:
    _every_entry_point(_place(folder, data), sizes)


def test_the_seeds_are_sound(folder: Path) -> None:
    """The undamaged seeds open, verify clean and cover format versions 1 to 3."""
    versions = set()
    for data in seeds():
        path = _place(folder, data)
        assert verify_template(path) == []
        versions.add(read_manifest(path).format_version)
        _every_entry_point(path, [1 << 20])
    assert versions == {1, 2, 3}


# --------------------------------------------------------------------------- restore


@pytest.fixture(scope="module")
def sqlite_data(folder: Path) -> Iterator[Path]:
    """A private data directory for the SQLite sandboxes the restores make."""
    with pytest.MonkeyPatch.context() as patch:
        data = folder / "data"
        patch.setenv("DBPLAY_DATA_DIR", str(data))
        yield data / "sqlite"


def _leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


@budget(25)
@given(damaged_template("sqlite"))
def test_a_failed_sqlite_restore_leaves_nothing(folder: Path, sqlite_data: Path,
                                                data: bytes) -> None:
    from dbplay_desktop.engines.sqlite.engine import SqliteEngine

    path = _place(folder, data)
    engine = SqliteEngine("sqlite://")
    before = _leftovers(sqlite_data)

    def restore() -> str:
        with TemplateReader(path) as reader:
            return engine.restore(reader)

    database = _refused_properly(restore)
    if database is None:
        assert _leftovers(sqlite_data) == before
    else:
        assert isinstance(database, str)
        engine.drop_sandbox(database)


# --------------------------------------------------------------------------- memory

#: Python allocations allowed while reading one small hostile template.
_MEMORY = 48 * 1024 * 1024


def _bomb(declared: int, actual: int, method: int, where: str) -> bytes:
    """A v1 template whose dump.sql (or manifest) inflates to ``actual`` bytes, while the
    manifest (and the ZIP header, patched) say ``declared``."""
    entries = members(seeds()[0])
    manifest = manifest_of(entries)
    assert manifest is not None
    content = b" " * actual
    if where == "manifest":
        entries = with_manifest(entries, b"{" + content + b"}")
    else:
        manifest["files"][0]["size"] = declared
        entries = [Member(e.name, content, method) if e.name == "dump.sql" else e
                   for e in with_manifest(entries, _json(manifest))]
    data = bytearray(archive(entries))
    _claim_size(data, "manifest.json" if where == "manifest" else "dump.sql", declared)
    return bytes(data)


def _json(value: object) -> bytes:
    import json

    return json.dumps(value).encode()


def _claim_size(data: bytearray, name: str, size: int) -> None:
    """Patch the uncompressed size of ``name`` in its local and central headers."""
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as found:
        local = found.getinfo(name).header_offset
        at = found.start_dir
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    while not data.startswith(name.encode(), at + 46):
        at = data.index(b"PK\x01\x02", at + 4)
    data[at + 24:at + 28] = size.to_bytes(4, "little")


@budget(6)
@given(
    st.sampled_from(["dump.sql", "manifest"]),
    st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]),
    st.integers(0, 1000),
    st.integers(1 << 20, 24 << 20),
)
@example("dump.sql", zipfile.ZIP_DEFLATED, 10, 24 << 20)
@example("manifest", zipfile.ZIP_DEFLATED, 100, 24 << 20)
def test_reading_a_bomb_takes_bounded_memory(folder: Path, where: str, method: int,
                                             declared: int, actual: int) -> None:
    """A file that inflates far past what it declares costs what it declares, no more."""
    path = _place(folder, _bomb(declared, actual, method, where))
    peak = peak_memory(_every_entry_point, path, [1 << 20])
    assert peak <= _MEMORY + 4 * declared, peak


# --------------------------------------------------------------------------- regressions


def _refusal_of(folder: Path, entries: list[Member]) -> str:
    path = _place(folder, archive(entries))
    try:
        read_manifest(path)
    except EngineError as error:
        return check_one_line(error, MESSAGE_LIMIT)
    raise AssertionError("the archive was accepted")


def test_long_names_are_cut_short_in_messages(folder: Path) -> None:
    """A ZIP name may be 65,535 bytes; the message names it in a few dozen characters."""
    entries = members(seeds()[0])
    message = _refusal_of(folder, [*entries, Member("x" * 2000, b"")])
    assert message.startswith("t.dbtpl: archive entry xxx") and "..." in message
    manifest = manifest_of(entries)
    assert manifest is not None
    manifest["files"].append({"path": "a/" * 300 + "z", "sha256": "0" * 64, "size": 0})
    message = _refusal_of(folder, with_manifest(entries, _json(manifest)))
    assert "is listed in manifest.json but missing" in message and "..." in message


def test_a_local_header_naming_another_file_is_said_in_words(folder: Path) -> None:
    """zipfile's own message quotes the local header's bytes, whatever their length."""
    data = bytearray(seeds()[0])
    at = data.index(b"PK\x03\x04")
    data[at + 26:at + 28] = (200).to_bytes(2, "little")  # the name runs into the data
    path = _place(folder, bytes(data))
    with TemplateReader(path) as reader, pytest.raises(EngineError) as caught:
        reader.open("dump.sql").read()
    assert check_one_line(caught.value, MESSAGE_LIMIT) == (
        "t.dbtpl: payload file dump.sql is damaged (its local header names another file)")
