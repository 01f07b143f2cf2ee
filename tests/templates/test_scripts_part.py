"""The scripts part of a .dbtpl (format version 2): written, listed, checked, never restored."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dbplay_desktop.templates.container import TemplateError, TemplateReader, TemplateWriter
from dbplay_desktop.templates.library import TemplateLibrary
from dbplay_desktop.templates.limits import MAX_SCRIPTS, MAX_SCRIPTS_SIZE
from dbplay_desktop.templates.operations import template_info, verify_template
from dbplay_desktop.templates.scripts import read_scripts, script_name
from tests.templates.test_container import build_zip, manifest_dict, refusal, sha

PAYLOAD = b"CREATE TABLE pets (name text);\n"
SCRIPT = "-- my queries\nSELECT name FROM pets ORDER BY name;\n-- naïve ☕\n"


def write_template(path: Path, scripts: dict[str, str]) -> Path:
    with TemplateWriter(path, engine="postgresql", name="Pets") as writer:
        for name, text in scripts.items():
            writer.add_script(name, text)
        with writer.open("dump.sql") as stream:
            stream.write(PAYLOAD)
        writer.commit("16.2", {"tables": 1})
    return path


def v2_manifest(files: dict[str, bytes], scripts: dict[str, bytes], **over: Any) -> dict:
    data = manifest_dict(files, **{"format_version": 2, **over})
    data.setdefault(
        "scripts", [{"path": p, "sha256": sha(b), "size": len(b)} for p, b in scripts.items()]
    )
    return data


def test_scripts_round_trip_and_are_never_payload(tmp_path: Path) -> None:
    path = write_template(tmp_path / "pets.dbtpl", {"playground.sql": SCRIPT})
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert sorted(zf.namelist()) == ["dump.sql", "manifest.json", "scripts/playground.sql"]
    assert manifest["format_version"] == 2
    data = SCRIPT.encode()
    assert manifest["scripts"] == [
        {"path": "scripts/playground.sql", "sha256": sha(data), "size": len(data)}
    ]
    with TemplateReader(path) as reader:
        assert reader.paths() == ["dump.sql"]  # what an engine restores or scans
        assert reader.script_paths() == ["scripts/playground.sql"]
        assert reader.read_script("scripts/playground.sql") == SCRIPT
        with pytest.raises(TemplateError, match="no payload file named"):
            reader.open("scripts/playground.sql")
        assert reader.verify() == []
    loaded = read_scripts(path)
    assert [(s.name, s.text) for s in loaded.scripts] == [("playground.sql", SCRIPT)]
    assert loaded.problems == ()
    info = template_info(path)
    assert info["format_version"] == 2
    assert info["scripts"] == [
        {"path": "scripts/playground.sql", "size": len(data), "sha256": sha(data)}
    ]


def test_without_scripts_the_template_stays_version_1(tmp_path: Path) -> None:
    path = write_template(tmp_path / "plain.dbtpl", {})
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format_version"] == 1 and "scripts" not in manifest
    with TemplateReader(path) as reader:
        assert reader.script_paths() == []
    assert template_info(path)["scripts"] == []


def test_version_1_knows_no_scripts_so_their_files_are_unlisted(tmp_path: Path) -> None:
    # Exactly what a reader of version 1 does: 'scripts' is an unknown key, and the file
    # it names is an entry nobody listed.
    files, script = {"dump.sql": PAYLOAD}, {"scripts/a.sql": b"SELECT 1;\n"}
    manifest = v2_manifest(files, script, format_version=1)
    path = build_zip(tmp_path / "v1.dbtpl", [*files.items(), *script.items()], manifest)
    assert "archive entry scripts/a.sql is not listed" in refusal(path)
    only_key = build_zip(tmp_path / "key.dbtpl", list(files.items()), manifest)
    with TemplateReader(only_key) as reader:
        assert reader.script_paths() == []
        assert "scripts" in reader.manifest.extra  # kept, as any unknown key


def test_unlisted_script_is_refused(tmp_path: Path) -> None:
    files = {"dump.sql": PAYLOAD}
    entries = [*files.items(), ("scripts/extra.sql", b"SELECT 1;")]
    path = build_zip(tmp_path / "t.dbtpl", entries, v2_manifest(files, {}))
    assert "archive entry scripts/extra.sql is not listed" in refusal(path)


def test_listed_script_missing_or_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    files, script = {"dump.sql": PAYLOAD}, {"scripts/a.sql": b"SELECT 1;\n"}
    missing = build_zip(tmp_path / "m.dbtpl", list(files.items()), v2_manifest(files, script))
    assert "script scripts/a.sql is listed in manifest.json but missing" in refusal(missing)
    manifest = v2_manifest(files, script)
    manifest["scripts"][0]["size"] = 3
    wrong = build_zip(tmp_path / "w.dbtpl", [*files.items(), *script.items()], manifest)
    assert "script scripts/a.sql is 10 bytes, manifest says 3" in refusal(wrong)


@pytest.mark.parametrize(
    ("files", "scripts", "expected"),
    [
        ({}, {"a.sql": b"x"}, "outside scripts/"),
        ({}, {"scripts/sub/a.sql": b"x"}, "outside scripts/"),
        ({}, {"scripts/../a.sql": b"x"}, "'..' component"),
        ({"scripts/dump.sql": PAYLOAD}, {}, "scripts/ holds only scripts"),
        ({}, {"scripts/a.sql": b"x", "scripts/a.sql ": b"y"}, None),
    ],
)
def test_script_paths_are_checked(
    tmp_path: Path, files: dict[str, bytes], scripts: dict[str, bytes], expected: str | None
) -> None:
    manifest = v2_manifest(files, scripts)
    path = build_zip(tmp_path / "t.dbtpl", [*files.items(), *scripts.items()], manifest)
    if expected is None:
        with TemplateReader(path) as reader:
            assert len(reader.script_paths()) == 2
    else:
        assert expected in refusal(path)


def test_the_same_script_twice_is_refused(tmp_path: Path) -> None:
    files = {"dump.sql": PAYLOAD}
    manifest = v2_manifest(files, {"scripts/a.sql": b"x"})
    manifest["scripts"] *= 2
    path = build_zip(tmp_path / "t.dbtpl", [*files.items(), ("scripts/a.sql", b"x")], manifest)
    assert "lists the script 'scripts/a.sql' twice" in refusal(path)


def test_script_limits_count_and_total_size(tmp_path: Path) -> None:
    files = {"dump.sql": PAYLOAD}
    many = {f"scripts/{n}.sql": b"x" for n in range(MAX_SCRIPTS + 1)}
    path = build_zip(tmp_path / "many.dbtpl", [*files.items(), *many.items()],
                     v2_manifest(files, many))
    assert f"lists {MAX_SCRIPTS + 1} scripts; at most {MAX_SCRIPTS} are allowed" in refusal(path)
    # Declared sizes are checked before anything is decompressed.
    manifest = v2_manifest(files, {"scripts/a.sql": b"x"})
    manifest["scripts"][0]["size"] = MAX_SCRIPTS_SIZE + 1
    big = build_zip(tmp_path / "big.dbtpl", [*files.items(), ("scripts/a.sql", b"x")], manifest)
    assert f"at most {MAX_SCRIPTS_SIZE} are allowed" in refusal(big)
    with TemplateWriter(tmp_path / "w.dbtpl", engine="postgresql", name="W") as writer:
        with pytest.raises(TemplateError, match="of scripts"):
            writer.add_script("huge.sql", "x" * (MAX_SCRIPTS_SIZE + 1))
        for n in range(MAX_SCRIPTS):
            writer.add_script(f"{n}.sql", "SELECT 1;")
        with pytest.raises(TemplateError, match=f"at most {MAX_SCRIPTS} scripts"):
            writer.add_script("one-more.sql", "SELECT 1;")
    assert not (tmp_path / "w.dbtpl").exists()


def test_writer_refuses_bad_script_names_and_payload_in_scripts(tmp_path: Path) -> None:
    with TemplateWriter(tmp_path / "w.dbtpl", engine="postgresql", name="W") as writer:
        for bad in ("", "a/b.sql", "..", "x\x00.sql"):
            with pytest.raises(TemplateError):
                writer.add_script(bad, "SELECT 1;")
        writer.add_script("a.sql", "SELECT 1;")
        with pytest.raises(TemplateError, match="already written"):
            writer.add_script("a.sql", "SELECT 2;")
        with pytest.raises(TemplateError, match="cannot be a payload file name"):
            writer.open("scripts/dump.sql")


def test_altered_or_undecodable_script_is_reported_not_shown(tmp_path: Path) -> None:
    files = {"dump.sql": PAYLOAD}
    good, bad = b"SELECT 1;\n", b"SELECT 2;\n"
    scripts = {"scripts/good.sql": good, "scripts/altered.sql": bad, "scripts/latin1.sql":
               "SELECT 'café';".encode("latin-1")}
    manifest = v2_manifest(files, scripts)
    manifest["scripts"][1]["sha256"] = sha(b"SELECT 3;\n")  # same size, other content
    path = build_zip(tmp_path / "t.dbtpl", [*files.items(), *scripts.items()], manifest)
    loaded = read_scripts(path)
    assert [s.path for s in loaded.scripts] == ["scripts/good.sql"]
    assert loaded.problems == (
        "t.dbtpl: script scripts/altered.sql does not match its SHA-256 in manifest.json "
        "(damaged or altered)",
        "t.dbtpl: script scripts/latin1.sql is not UTF-8 text (bad byte at offset 11)",
    )
    assert verify_template(path)[:2] == list(loaded.problems)


def test_rename_in_the_library_keeps_the_scripts(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    write_template(root / "pets.dbtpl", {"playground.sql": SCRIPT})
    library = TemplateLibrary(root=root, samples_dir=tmp_path / "none")
    renamed = library.rename(library.entries()[0], "More pets")
    with TemplateReader(renamed.path) as reader:
        assert reader.manifest.name == "More pets"
        assert reader.read_script("scripts/playground.sql") == SCRIPT


def test_script_name_uses_the_engine_suffix() -> None:
    assert script_name("playground", ".sql") == "playground.sql"
    assert script_name("playground", "js") == "playground.js"
