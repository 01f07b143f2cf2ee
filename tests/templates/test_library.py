"""The template library: listing, search, import, rename and delete on real files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from dbplay_desktop.templates.library import (
    LibraryError,
    TemplateLibrary,
    data_dir,
    library_dir,
    safe_file_stem,
)
from dbplay_desktop.templates.reader import TemplateReader, read_manifest
from dbplay_desktop.templates.writer import TemplateWriter

PAYLOAD = b"CREATE TABLE t (id int);\n" * 50


def make_template(
    path: Path,
    name: str,
    description: str = "",
    stats: dict[str, int] | None = None,
    engine: str = "postgresql",
) -> Path:
    """Write a small real template with one payload file."""
    with TemplateWriter(path, engine=engine, name=name, description=description) as writer:
        with writer.open("schema.sql") as stream:
            stream.write(PAYLOAD)
        writer.commit("15.4", stats if stats is not None else {"tables": 1, "rows": 0})
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "library"
    samples = tmp_path / "samples"
    root.mkdir()
    samples.mkdir()
    make_template(root / "shop.dbtpl", "Shop", "Customers, products and orders", {"tables": 4})
    make_template(root / "notes.dbtpl", "Notes", "A tiny notebook", engine="sqlite")
    make_template(samples / "school.dbtpl", "School timetable", "Teachers and rooms")
    return root, samples


@pytest.fixture
def library(dirs: tuple[Path, Path]) -> TemplateLibrary:
    root, samples = dirs
    return TemplateLibrary(root, samples)


def test_data_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"
    assert library_dir() == tmp_path / "data" / "templates"
    assert TemplateLibrary().root == tmp_path / "data" / "templates"


def test_entries_lists_mine_then_samples(library: TemplateLibrary) -> None:
    entries = library.entries()
    assert [(e.name, e.sample) for e in entries] == [
        ("Notes", False),
        ("Shop", False),
        ("School timetable", True),
    ]
    shop = entries[1]
    assert shop.engine == "postgresql"
    assert shop.description == "Customers, products and orders"
    assert shop.stats == {"tables": 4}
    assert shop.size == shop.path.stat().st_size > 0
    assert shop.created_at.endswith("Z")
    assert shop.error is None
    assert entries[0].engine == "sqlite"


def test_missing_folders_give_an_empty_list(tmp_path: Path) -> None:
    assert TemplateLibrary(tmp_path / "nope", tmp_path / "none").entries() == []


def test_broken_files_are_listed_with_their_error(library: TemplateLibrary) -> None:
    (library.root / "garbage.dbtpl").write_bytes(b"this is not a zip")
    with zipfile.ZipFile(library.root / "nomanifest.dbtpl", "w") as archive:
        archive.writestr("data.sql", "select 1;")
    (library.root / "ignored.txt").write_text("not a template")
    broken = {e.path.name: e for e in library.entries() if e.error}
    assert set(broken) == {"garbage.dbtpl", "nomanifest.dbtpl"}
    assert "not a ZIP archive" in broken["garbage.dbtpl"].error
    assert "manifest.json" in broken["nomanifest.dbtpl"].error
    assert broken["garbage.dbtpl"].name == "garbage"
    assert "\n" not in broken["garbage.dbtpl"].error


def test_entries_are_cached_until_the_file_changes(library: TemplateLibrary) -> None:
    first = {e.path: e for e in library.entries()}
    again = {e.path: e for e in library.entries()}
    assert all(first[path] is again[path] for path in first)
    shop = library.root / "shop.dbtpl"
    make_template(shop, "Shop v2", "changed", {"tables": 9})
    changed = {e.path: e for e in library.entries()}
    assert changed[shop].name == "Shop v2"
    assert changed[shop] is not first[shop]


def test_search_matches_every_word_case_insensitively(library: TemplateLibrary) -> None:
    assert [e.name for e in library.search("")] == ["Notes", "Shop", "School timetable"]
    assert [e.name for e in library.search("SHOP")] == ["Shop"]
    assert [e.name for e in library.search("orders customers")] == ["Shop"]
    assert [e.name for e in library.search("orders teachers")] == []
    assert [e.name for e in library.search("sqlite")] == ["Notes"]
    assert [e.name for e in library.search("rooms")] == ["School timetable"]


def test_import_copies_with_unique_names(library: TemplateLibrary, tmp_path: Path) -> None:
    outside = make_template(tmp_path / "shop.dbtpl", "Another shop", "from a friend")
    entry = library.import_file(outside)
    assert entry.path == library.root / "shop (2).dbtpl"
    assert entry.name == "Another shop"
    assert outside.exists()
    third = library.import_file(outside)
    assert third.path.name == "shop (3).dbtpl"
    assert not [p for p in library.root.iterdir() if p.name.startswith(".")]


def test_import_creates_the_library_folder(tmp_path: Path) -> None:
    library = TemplateLibrary(tmp_path / "new" / "templates", tmp_path / "samples")
    source = make_template(tmp_path / "x.dbtpl", "X")
    assert library.import_file(source).path == tmp_path / "new" / "templates" / "x.dbtpl"


def test_import_refuses_non_templates(library: TemplateLibrary, tmp_path: Path) -> None:
    bad = tmp_path / "bad.dbtpl"
    bad.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(LibraryError, match=r"bad\.dbtpl is not a valid template"):
        library.import_file(bad)
    with pytest.raises(LibraryError, match="no such file"):
        library.import_file(tmp_path / "missing.dbtpl")
    assert sorted(p.name for p in library.root.iterdir()) == ["notes.dbtpl", "shop.dbtpl"]


def test_rename_rewrites_manifest_and_file_name(library: TemplateLibrary) -> None:
    shop = next(e for e in library.entries() if e.name == "Shop")
    renamed = library.rename(shop, "Corner shop: 2024")
    assert renamed.path == library.root / "Corner shop_ 2024.dbtpl"
    assert not shop.path.exists()
    manifest = read_manifest(renamed.path)
    assert manifest.name == "Corner shop: 2024"
    assert manifest.description == "Customers, products and orders"
    assert manifest.stats == {"tables": 4}
    with TemplateReader(renamed.path) as reader:
        assert reader.verify() == []
        with reader.open("schema.sql") as stream:
            assert stream.read() == PAYLOAD
    assert [e.name for e in library.entries()] == ["Corner shop: 2024", "Notes", "School timetable"]


def test_rename_clash_and_same_file_name(library: TemplateLibrary) -> None:
    shop = next(e for e in library.entries() if e.name == "Shop")
    clash = library.rename(shop, "notes")
    assert clash.path.name == "notes (2).dbtpl"
    same = library.rename(clash, "Notes (2)")
    assert same.path.name == "Notes (2).dbtpl"
    assert sorted(p.name for p in library.root.iterdir()) == ["Notes (2).dbtpl", "notes.dbtpl"]
    kept = library.rename(same, "Notes (2)")
    assert kept.path == same.path
    assert read_manifest(same.path).name == "Notes (2)"
    with pytest.raises(LibraryError, match="needs a name"):
        library.rename(same, "   ")


def test_delete_removes_the_file(library: TemplateLibrary) -> None:
    notes = next(e for e in library.entries() if e.name == "Notes")
    library.delete(notes)
    assert not notes.path.exists()
    library.delete(notes)  # already gone: nothing to do
    assert [e.name for e in library.entries()] == ["Shop", "School timetable"]


def test_samples_are_read_only(library: TemplateLibrary) -> None:
    sample = next(e for e in library.entries() if e.sample)
    with pytest.raises(LibraryError, match="sample template and cannot be deleted"):
        library.delete(sample)
    with pytest.raises(LibraryError, match="sample template and cannot be renamed"):
        library.rename(sample, "Mine now")
    assert sample.path.exists()
    assert read_manifest(sample.path).name == "School timetable"


def test_files_outside_the_library_are_refused(library: TemplateLibrary, tmp_path: Path) -> None:
    stray = make_template(tmp_path / "stray.dbtpl", "Stray")
    entry = library.entry_for(stray)
    with pytest.raises(LibraryError, match="not in the template library"):
        library.delete(entry)
    assert stray.exists()


def test_path_for_new_is_safe_and_unique(library: TemplateLibrary) -> None:
    assert library.path_for_new("Shop") == library.root / "Shop (2).dbtpl"
    assert library.path_for_new("My new one") == library.root / "My new one.dbtpl"
    assert library.path_for_new("../../etc/passwd").parent == library.root
    assert library.path_for_new("").name == "template.dbtpl"


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("shop", "shop"),
        ("a/b\\c:d", "a_b_c_d"),
        ("  spaced   out  ", "spaced out"),
        ("...", "template"),
        ("CON", "_CON"),
        ("report.dbtpl", "report"),
        ("x" * 200, "x" * 80),
        ("tab\there", "tab_here"),
    ],
)
def test_safe_file_stem(name: str, stem: str) -> None:
    assert safe_file_stem(name) == stem


def test_shipped_samples_are_valid(tmp_path: Path) -> None:
    """The samples made by scripts/make_samples.py are listed, readable and described."""
    entries = TemplateLibrary(tmp_path / "empty").entries()
    assert len(entries) >= 4
    for entry in entries:
        assert entry.sample and entry.error is None, entry.error
        assert entry.engine in ("postgresql", "sqlite")
        assert len(entry.description) > 40
        assert entry.stats.get("tables", 0) >= 4 and entry.stats.get("rows", 0) > 200
        with TemplateReader(entry.path) as reader:
            assert reader.verify() == []
    assert {"Shop", "Library", "School timetable", "Film club"} <= {e.name for e in entries}
    assert {e.engine for e in entries if e.name == "Film club"} == {"sqlite"}
