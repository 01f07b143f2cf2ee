"""A Chroma playground in the real window, end to end: a template of an embedded store opens
on the Chroma engine in a sandbox folder of the data directory (no server), a get or a query
fills the grid (id, document, the metadata keys, the embedding as a preview), a get changes
nothing, an add does, and saving, resetting and closing (which removes the folder) work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

pytest.importorskip("chromadb")

from dbplay_desktop.templates.container import TemplateReader
from dbplay_desktop.templates.operations import save_template
from dbplay_desktop.ui.templates.save_dialog import SaveChoice
from tests.ui.conftest import run_and_wait, shown_window, wait_ready

DIMENSIONS = 384


def _embedding(seed: int) -> list[float]:
    return [round(0.1 * (seed + 1) + i / 1000, 3) for i in range(DIMENSIONS)]


@pytest.fixture
def chroma_template(tmp_path: Path) -> Path:
    """A real Chroma template: an embedded store with two collections, dumped by the engine."""
    import chromadb

    from dbplay_desktop.engines.chroma.engine import client_settings

    store = tmp_path / "store"
    # The engine's settings: chromadb shares one system per folder in a process.
    client = chromadb.PersistentClient(path=str(store), settings=client_settings())
    docs = client.create_collection("docs", configuration={"hnsw": {"space": "l2"}})
    docs.add(ids=["a", "b", "c"], embeddings=[_embedding(i) for i in range(3)],
             documents=["apple", "brick", "cherry"],
             metadatas=[{"color": "red", "size": 1}, {"color": "grey"}, {"size": 3}])
    client.create_collection("empty")
    out = tmp_path / "docs.dbtpl"
    save_template(f"chroma://{store}", out, name="Docs")
    return out


@pytest.fixture
def window(qtbot, pg_admin_uri: str, data_dir: Path, tmp_path: Path) -> Iterator[object]:
    with shown_window(qtbot, tmp_path,
                      server_uris={"postgresql": pg_admin_uri},
                      default_engine="postgresql") as window:
        yield window


def _sandbox_folder(data_dir: Path, database: str) -> Path:
    """Where a Chroma sandbox lives: its folder, inside this test's data directory."""
    path = Path(database)
    if not path.is_absolute():
        # os.walk, not rglob: an old sandbox may be removed while the tree is read.
        candidates = [Path(root) / database for root, dirs, _files in os.walk(data_dir)
                      if database in dirs]
        assert len(candidates) == 1, (database, candidates)
        path = candidates[0]
    assert path.is_relative_to(data_dir), path
    return path


def _headers(model) -> list[str]:
    return [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]


def _display(model, row: int, column: int) -> str:
    return model.data(model.index(row, column), Qt.ItemDataRole.DisplayRole)


def test_a_chroma_template_runs_saves_resets_and_closes(
    qtbot, window, chroma_template: Path, data_dir: Path, tmp_path: Path
):
    playground = window.open_template(chroma_template)
    assert playground is not None and playground.engine_name == "chroma"
    wait_ready(qtbot, playground, timeout=60_000)
    folder = _sandbox_folder(data_dir, playground.database)
    assert folder.is_dir()
    assert window.engine_label.text().startswith("Chroma")
    assert {"docs", "empty"} <= set(window.catalog_tree.names())

    # A get: one row per record, id, document, the metadata keys, the embedding previewed.
    playground.editor.setPlainText(
        'docs.get(ids=["a", "b", "c"], include=["embeddings", "documents", "metadatas"])')
    run_and_wait(qtbot, playground)
    assert not playground.modified
    model = playground.result_models()[0]
    names = _headers(model)
    assert names[0] == "id" and "document" in names
    assert {"color", "size"} <= set(names) and "embedding" in names
    assert model.rowCount() == 3
    ids = [model.value(row, 0) for row in range(3)]
    assert sorted(ids) == ["a", "b", "c"]
    row_a = ids.index("a")
    assert model.value(row_a, names.index("document")) == "apple"
    assert model.value(row_a, names.index("color")) == "red"
    preview = _display(model, row_a, names.index("embedding"))
    assert preview.startswith("[0.1, 0.101, ") and preview.endswith(f"… {DIMENSIONS} floats]")

    # A query: the nearest records first, with a distance.
    playground.editor.setPlainText(
        f"docs.query(query_embeddings=[{_embedding(2)}], n_results=2)")
    run_and_wait(qtbot, playground)
    assert not playground.modified
    model = playground.result_models()[0]
    names = _headers(model)
    assert [model.value(row, names.index("id")) for row in range(model.rowCount())] == ["c", "b"]
    assert "distance" in names

    # An add marks it changed; saving keeps the new record.
    playground.editor.setPlainText(
        f'docs.add(ids=["d"], embeddings=[{_embedding(5)}], documents=["date"])')
    run_and_wait(qtbot, playground)
    assert playground.modified
    saved = window.save_playground(
        playground, SaveChoice("More docs", "", tmp_path / "more.dbtpl", into_library=False))
    assert saved is not None
    assert not playground.modified
    with TemplateReader(saved) as reader:
        assert reader.manifest.engine == "chroma"

    # The saved file is now the tab's template: a later change is undone by a reset.
    playground.editor.setPlainText('docs.delete(ids=["a", "b"])')
    run_and_wait(qtbot, playground)
    assert playground.modified
    old_folder = folder
    assert playground.reset()
    wait_ready(qtbot, playground, timeout=60_000)
    folder = _sandbox_folder(data_dir, playground.database)
    qtbot.waitUntil(lambda: not old_folder.exists(), timeout=30_000)
    playground.editor.setPlainText('docs.get(include=["documents"])')
    run_and_wait(qtbot, playground)
    model = playground.result_models()[-1]
    assert model.rowCount() == 4

    # Close: the sandbox folder is removed from the data directory.
    assert window.close_playground(playground)
    qtbot.waitUntil(lambda: window.closing_playgrounds == 0, timeout=30_000)
    qtbot.waitUntil(lambda: not folder.exists(), timeout=30_000)


def test_a_new_chroma_playground_is_an_empty_store(qtbot, window, data_dir: Path):
    """File ▸ New playground ▸ Chroma: an empty sandbox folder, no server; creating a
    collection and adding to it mark the tab changed and fill the catalog."""
    entries = {action.text(): action for action in window.new_menu.actions()}
    assert "Chroma" in entries and entries["Chroma"].isEnabled()
    entries["Chroma"].trigger()
    playground = window.current_playground()
    assert playground.engine_name == "chroma"
    wait_ready(qtbot, playground, timeout=60_000)
    folder = _sandbox_folder(data_dir, playground.database)
    assert window.database_label.text() == f"Sandbox: {playground.database}"

    playground.editor.setPlainText("list_collections()")
    run_and_wait(qtbot, playground)
    assert not playground.modified
    assert playground.result_models()[-1].rowCount() == 0

    playground.editor.setPlainText(
        'create_collection("notes", configuration={"hnsw": {"space": "cosine"}})\n'
        'notes.add(ids=["n1"], embeddings=[[0.5, 0.5]], documents=["hello"],'
        ' metadatas=[{"tag": "greeting"}])')
    run_and_wait(qtbot, playground)
    assert playground.modified
    qtbot.waitUntil(lambda: "notes" in window.catalog_tree.names(), timeout=10_000)

    playground.editor.setPlainText('notes.get(include=["documents", "metadatas"])')
    run_and_wait(qtbot, playground)
    model = playground.result_models()[-1]
    names = _headers(model)
    assert model.rowCount() == 1 and "tag" in names and "embedding" not in names
    assert model.value(0, names.index("document")) == "hello"

    assert window.close_playground(playground)
    qtbot.waitUntil(lambda: window.closing_playgrounds == 0, timeout=30_000)
    qtbot.waitUntil(lambda: not folder.exists(), timeout=30_000)
