"""A MongoDB playground in the real window, end to end: a template in mongodump's layout
opens on the engine its manifest names, mongosh text runs, documents fill the grid and the
document tree, a find changes nothing, a write does, and saving, resetting and closing work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

pytest.importorskip("pymongo")

from dbplay_desktop.templates.container import TemplateReader
from dbplay_desktop.templates.operations import save_template
from dbplay_desktop.ui.templates.save_dialog import SaveChoice
from tests.ui.conftest import run_and_wait, shown_window, wait_ready


@pytest.fixture
def mongo_template(mongo_uri: str, tmp_path: Path) -> Iterator[Path]:
    """A real MongoDB template: a sandbox with two collections, dumped by the engine."""
    from dbplay_desktop.engines.mongo.engine import MongoEngine

    engine = MongoEngine(mongo_uri)
    database = engine.create_sandbox()
    try:
        with engine.connect(database) as session:
            text = ('db.pets.insertMany([{_id: 1, name: "Rex", age: 3},'
                    ' {_id: 2, name: "Tom", owner: {name: "Ann", since: ISODate("2021-01-02")}}]);'
                    ' db.createCollection("empty")')
            for result in session.execute(text):
                assert result.error is None, result.error
                result.close()
        out = tmp_path / "pets.dbtpl"
        save_template(f"{mongo_uri.rstrip('/')}/{database}", out, name="Pets")
        yield out
    finally:
        engine.drop_sandbox(database)
        engine.close()


@pytest.fixture
def window(qtbot, pg_admin_uri: str, mongo_uri: str, data_dir: Path,
           tmp_path: Path) -> Iterator[object]:
    with shown_window(qtbot, tmp_path,
                      server_uris={"postgresql": pg_admin_uri, "mongodb": mongo_uri},
                      default_engine="postgresql") as window:
        yield window


def _registered(mongo_uri: str) -> set[str]:
    import pymongo

    with pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000) as client:
        return {d["_id"] for d in client["dbplay_registry"]["sandboxes"].find({}, {"_id": 1})}


def test_a_mongodb_template_runs_saves_resets_and_closes(
    qtbot, window, mongo_template: Path, mongo_uri: str, tmp_path: Path
):
    playground = window.open_template(mongo_template)
    assert playground is not None and playground.engine_name == "mongodb"
    wait_ready(qtbot, playground, timeout=60_000)
    database = playground.database
    assert database in _registered(mongo_uri)
    assert window.engine_label.text().startswith("MongoDB ")
    assert "pets" in window.catalog_tree.names()

    # A find: documents in the grid, the union of fields, nothing marked changed.
    playground.editor.setPlainText("db.pets.find().sort({_id: 1})")
    run_and_wait(qtbot, playground)
    model = playground.result_models()[0]
    names = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    assert names[:3] == ["_id", "name", "age"] and "owner" in names
    assert model.rowCount() == 2
    assert not playground.modified
    view = playground.results.views()[0]
    qtbot.waitUntil(lambda: view.tree.isVisible(), timeout=10_000)

    # A write marks it changed; saving keeps the new document.
    playground.editor.setPlainText('db.pets.insertOne({_id: 3, name: "Kit"})')
    run_and_wait(qtbot, playground)
    assert playground.modified
    saved = window.save_playground(
        playground, SaveChoice("More pets", "", tmp_path / "more.dbtpl", into_library=False))
    assert saved is not None
    with TemplateReader(saved) as reader:
        assert reader.manifest.engine == "mongodb"
        assert "pets.bson" in reader.paths()

    # The saved file is now the tab's template: a later change is undone by a reset.
    playground.editor.setPlainText('db.pets.deleteMany({})')
    run_and_wait(qtbot, playground)
    assert playground.reset()
    wait_ready(qtbot, playground, timeout=60_000)
    playground.editor.setPlainText("db.pets.countDocuments({})")
    run_and_wait(qtbot, playground)
    assert playground.result_models()[-1].value(0, 0) == 3

    # Close: the sandbox database is dropped.
    current = playground.database
    window.close_playground(playground)
    qtbot.waitUntil(lambda: current not in _registered(mongo_uri), timeout=60_000)


def test_file_import_makes_a_template_and_opens_it(qtbot, window, tmp_path: Path):
    """File ▸ Import as template: Mongo Playground's configuration text becomes a template
    in the library (scanned first) and opens as a playground of its engine."""
    source = tmp_path / "playground.txt"
    source.write_text('db={"pets": [{"_id": 1, name: "Rex", born: ISODate("2020-01-02")},'
                      ' {"_id": 2, name: "Tom"}]}', encoding="utf-8")
    assert window.import_file_action.isEnabled()
    with qtbot.waitSignal(window.tabs.currentChanged, timeout=60_000):
        window.import_source(source)
    playground = window.current_playground()
    assert playground.engine_name == "mongodb"
    assert playground.template_path.parent == window.library.root
    wait_ready(qtbot, playground, timeout=60_000)
    playground.editor.setPlainText("db.pets.find({name: 'Tom'})")
    run_and_wait(qtbot, playground)
    model = playground.result_models()[0]
    assert model.rowCount() == 1 and model.value(0, 1) == "Tom"


def test_a_refused_import_says_why_and_writes_nothing(qtbot, window, tmp_path: Path,
                                                      monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(window, "show_error", lambda title, message: shown.append(message))
    source = tmp_path / "bad.txt"
    source.write_text('db={"pets": [{"$where": "sleep(1000)"}]}', encoding="utf-8")
    before = set(window.library.root.glob("*.dbtpl")) if window.library.root.is_dir() else set()
    window.import_source(source)
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert "bad.txt" in shown[0] and "\n" not in shown[0]
    after = set(window.library.root.glob("*.dbtpl")) if window.library.root.is_dir() else set()
    assert after == before


def test_the_tree_shows_the_first_document_and_format_is_off(qtbot, window, mongo_template):
    """A language without a formatter greys out Format; the document tree shows the first
    document as soon as it arrives, before any row is chosen."""
    playground = window.open_template(mongo_template)
    wait_ready(qtbot, playground, timeout=60_000)
    assert not window.format_action.isEnabled()
    playground.editor.setPlainText("db.pets.find().sort({_id: 1})")
    run_and_wait(qtbot, playground)
    view = playground.results.views()[0]
    qtbot.waitUntil(lambda: view.tree.tree_model.rowCount() > 0, timeout=10_000)
    fields = [view.tree.tree_model.index(i, 0).data() for i in range(
        view.tree.tree_model.rowCount())]
    assert fields[:3] == ["_id", "name", "age"]
