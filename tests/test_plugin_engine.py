"""An engine from another distribution (tests/plugin_engine) works with no edit of dbplay.

The ``dbplay-test-engine`` distribution is installed only in the test venv (the Makefile's
``.installed-test``); it registers ``kv`` in the ``dbplay.engines`` entry points. Nothing
in ``dbplay_desktop/`` names it: these tests reach it through the registry and the real
``dbplay`` command in a fresh process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbplay_desktop.engines import registry
from dbplay_desktop.engines.descriptor import EngineDescriptor
from tests.test_cli import run_dbplay


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"pets:1": "Rex", "pets:2": "it's; a pet", "other": "☃"}))
    return path


def test_the_registry_lists_the_plugin_engine() -> None:
    assert "kv" in registry.engine_names()
    found = registry.descriptor("kv")
    assert found.display_name == "Key-value store"
    assert registry.display_name("kv") == "Key-value store"
    assert found.available and found.icon_path is not None
    assert found.language.script_suffix == ".kv" and not found.language.can_format
    assert registry.descriptor_for_uri("kv:///tmp/x.json") is found
    assert found.database_from_uri("kv:///tmp/x.json") == "/tmp/x.json"
    assert [s.text for s in found.language.split("SET a 1\n# c\n  KEYS")] == ["SET a 1", "KEYS"]
    assert not any(d.name == "kv" for d in _builtin())


def _builtin() -> list[EngineDescriptor]:
    """The engines dbplay's own distribution registers (kv is not among them)."""
    from importlib.metadata import distribution

    return [e.load() for e in distribution("dbplay-desktop").entry_points
            if e.group == registry.ENTRY_POINT_GROUP]


def test_save_info_verify_restore_and_query_through_the_cli(store: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.dbtpl"
    saved = run_dbplay("template", "save", "--source", f"kv://{store}", "--out", str(template))
    assert saved.returncode == 0, saved.stderr
    assert template.is_file()

    info = run_dbplay("template", "info", str(template))
    assert info.returncode == 0, info.stderr
    assert "Key-value store" in info.stdout and "data.json" in info.stdout

    verified = run_dbplay("template", "verify", str(template))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith(": ok")

    copy = tmp_path / "copy.json"
    restored = run_dbplay("template", "restore", str(template), "--target", f"kv://{copy}")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(copy.read_text()) == json.loads(store.read_text())

    queried = run_dbplay("query", "--source", f"kv://{copy}", "KEYS")
    assert queried.returncode == 0, queried.stderr
    for text in ("pets:1", "Rex", "it's; a pet", "other"):
        assert text in queried.stdout
    as_json = run_dbplay("query", "--source", f"kv://{copy}", "--format", "json", "GET pets:1")
    assert as_json.returncode == 0, as_json.stderr
    assert "Rex" in as_json.stdout


def test_a_cli_query_error_is_located(store: Path) -> None:
    failed = run_dbplay("query", "--source", f"kv://{store}", "KEYS\n\nGET")
    assert failed.returncode != 0
    assert "line 3" in failed.stderr and "GET takes 1" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_hostile_kv_template_is_refused_by_verify(tmp_path: Path) -> None:
    from dbplay_desktop.templates.container import TemplateWriter

    template = tmp_path / "bad.dbtpl"
    with TemplateWriter(template, engine="kv", name="bad", description="") as writer:
        with writer.open("data.json") as out:
            out.write(b'{\n "a": "1",\n "b": ["not", "a", "string"]\n}\n')
        writer.commit("kv 1", {"keys": 2})
    verified = run_dbplay("template", "verify", str(template))
    assert verified.returncode != 0
    assert "data.json:3" in verified.stdout and "not a string" in verified.stdout
    target = tmp_path / "never.json"
    restored = run_dbplay("template", "restore", str(template), "--target", f"kv://{target}")
    assert restored.returncode != 0 and not target.exists()
