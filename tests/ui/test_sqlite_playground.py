"""A SQLite playground in the real window, end to end, beside PostgreSQL ones.

The window of :func:`main_window` has the test PostgreSQL as its default server; SQLite
needs no server (its sandboxes are files in ``<data dir>/sqlite``), so the same window
makes both kinds of playground: a template opens on the engine its manifest names.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from dbplay_desktop.templates.container import read_manifest
from dbplay_desktop.templates.operations import save_template
from dbplay_desktop.ui.templates.save_dialog import SaveChoice
from tests.ui.conftest import run_and_wait, wait_ready


@pytest.fixture
def sqlite_template(tmp_path: Path) -> Path:
    """A real SQLite template: a file with a table, dumped by the SQLite engine."""
    source = tmp_path / "src.db"
    with sqlite3.connect(source) as connection:
        connection.executescript(
            "CREATE TABLE birds (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            "INSERT INTO birds (name) VALUES ('Robin'), ('Wren'), ('Kite');"
            "CREATE VIEW short_names AS SELECT name FROM birds WHERE length(name) = 4;"
        )
    connection.close()
    out = tmp_path / "birds.dbtpl"
    save_template(f"sqlite://{source}", out, name="Birds", description="three birds")
    return out


def _sandbox_files(data_dir: Path) -> list[str]:
    folder = data_dir / "sqlite"
    return sorted(p.name for p in folder.glob("*.db")) if folder.is_dir() else []


def _own_files(playground) -> list[str]:
    """The playground's sandbox files: its database, the pristine copy its resets clone,
    and the clone the next reset adopts (once made)."""
    clones = playground.clones
    names = [playground.database, clones.pristine, clones.ready]
    return sorted(f"{name}.db" for name in names if name is not None)


def _engine_label(window) -> str:
    return window.engine_label.text()


def test_a_sqlite_template_runs_saves_resets_and_closes(
    qtbot, main_window, data_dir: Path, sqlite_template: Path, tmp_path: Path
):
    window = main_window
    playground = window.open_template(sqlite_template)
    assert playground is not None and playground.engine_name == "sqlite"
    wait_ready(qtbot, playground)
    database = playground.database
    qtbot.waitUntil(lambda: playground.clones.ready is not None, timeout=30_000)
    assert _sandbox_files(data_dir) == _own_files(playground)
    assert len(_own_files(playground)) == 3
    # The chrome follows the tab: SQLite's name and version, its icon, its catalog.
    assert _engine_label(window).startswith("SQLite ")
    assert "SQLite" not in _engine_label(window)[len("SQLite"):]  # no "SQLite SQLite"
    assert not window.engine_icon_label.pixmap().isNull()
    assert not window.tabs.tabIcon(window.tabs.indexOf(playground)).isNull()
    assert "birds" in window.catalog_tree.names()
    labels = window.catalog_tree.row_labels()
    assert any(label[-1] == "Tables (1)" for label in labels)
    assert any(label[-1] == "Views (1)" for label in labels)

    # Run a query: rows in the grid.
    playground.editor.setPlainText("SELECT name FROM birds ORDER BY name;")
    run_and_wait(qtbot, playground)
    model = playground.result_models()[0]
    assert [model.value(i, 0) for i in range(3)] == ["Kite", "Robin", "Wren"]

    # Change it and save as a new template (with the editor's script, .sql).
    playground.editor.setPlainText("INSERT INTO birds (name) VALUES ('Owl');")
    run_and_wait(qtbot, playground)
    assert playground.modified
    saved = window.save_playground(
        playground, SaveChoice("More birds", "four", tmp_path / "more.dbtpl", into_library=False)
    )
    assert saved is not None and saved.is_file()
    manifest = read_manifest(saved)
    assert manifest.engine == "sqlite" and manifest.name == "More birds"
    assert not playground.modified

    # Copy connection URI: the sandbox file's address.
    qtbot.waitUntil(window.copy_uri_action.isEnabled, timeout=10_000)
    window.copy_uri_action.trigger()
    copied = QGuiApplication.clipboard().text()
    sandbox_file = data_dir / "sqlite" / f"{database}.db"
    assert copied == f"sqlite://{sandbox_file}"
    with sqlite3.connect(sandbox_file) as connection:
        assert connection.execute("SELECT count(*) FROM birds").fetchone() == (4,)
    connection.close()

    # Reset to the template it now is: a fresh sandbox, the old file gone.
    with qtbot.waitSignal(playground.state_changed, timeout=30_000):
        assert playground.reset()
    qtbot.waitUntil(lambda: playground.state == "ready" and playground.database != database,
                    timeout=30_000)
    qtbot.waitUntil(lambda: playground.clones.ready is not None
                    and _sandbox_files(data_dir) == _own_files(playground), timeout=30_000)
    playground.editor.setPlainText("SELECT count(*) FROM birds;")
    run_and_wait(qtbot, playground)
    assert playground.result_models()[0].value(0, 0) == 4

    # Reopen the saved template in a tab of its own.
    again = window.open_template(saved)
    wait_ready(qtbot, again)
    assert again.engine_name == "sqlite" and again.database != playground.database
    assert "INSERT INTO birds" in again.editor.toPlainText()  # the saved script

    # Close both: their sandbox files are gone from the data directory.
    assert window.close_playground(again)
    assert window.close_playground(playground)
    qtbot.waitUntil(lambda: window.closing_playgrounds == 0, timeout=20_000)
    assert _sandbox_files(data_dir) == []


def test_new_playground_menu_offers_every_engine(qtbot, main_window, data_dir: Path):
    window = main_window
    entries = {action.text(): action for action in window.new_menu.actions()}
    assert {"PostgreSQL", "SQLite"} <= set(entries)
    assert all(entries[name].isEnabled() for name in ("PostgreSQL", "SQLite"))
    assert window.new_action.menu() is window.new_menu  # File ▸ New playground ▸ …

    pg = window.new_playground()  # Ctrl+N: the default engine
    wait_ready(qtbot, pg)
    assert pg.engine_name == "postgresql"
    assert _engine_label(window).startswith("PostgreSQL ")

    entries["SQLite"].trigger()
    lite = window.current_playground()
    assert lite is not pg and lite.engine_name == "sqlite"
    wait_ready(qtbot, lite)
    assert _sandbox_files(data_dir) == [f"{lite.database}.db"]
    assert _engine_label(window).startswith("SQLite ")
    assert window.server_label.text() != ""
    lite.editor.setPlainText("CREATE TABLE t (x);\nINSERT INTO t VALUES (1), (2);\n"
                             "SELECT sum(x) FROM t;")
    run_and_wait(qtbot, lite)
    assert lite.result_models()[-1].value(0, 0) == 3
    qtbot.waitUntil(lambda: "t" in window.catalog_tree.names(), timeout=10_000)

    # The status bar follows the tab in front.
    window.tabs.setCurrentWidget(pg)
    assert _engine_label(window).startswith("PostgreSQL ")
    assert window.database_label.text() == f"Sandbox: {pg.database}"
    window.tabs.setCurrentWidget(lite)
    assert _engine_label(window).startswith("SQLite ")
    assert window.database_label.text() == f"Sandbox: {lite.database}"


def test_a_template_of_an_engine_that_is_not_installed_says_so(
    qtbot, main_window, sqlite_template: Path, tmp_path: Path
):
    """A manifest naming an unknown engine: one line with what is missing, no retry."""
    import zipfile

    strange = tmp_path / "strange.dbtpl"
    with zipfile.ZipFile(sqlite_template) as source, zipfile.ZipFile(strange, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "manifest.json":
                data = data.replace(b'"sqlite"', b'"nosuchengine"')
            target.writestr(item, data)
    assert read_manifest(strange).engine == "nosuchengine"
    playground = main_window.open_template(strange)
    assert playground.state == "failed"
    text = playground.banner.text()
    assert "\n" not in text and "nosuchengine" in text and "not installed" in text
    assert not playground.banner.retry_button.isVisible()
    assert playground.banner.close_button.isVisible()
    assert not main_window.run_action.isEnabled()
    playground.banner.close_button.click()
    qtbot.waitUntil(lambda: main_window.tabs.count() == 0, timeout=10_000)


def test_no_engine_names_in_the_window_code():
    """ui/ (but the editor and results, whose language tools are moving into the
    engines) names no engine: every engine comes from its descriptor."""
    import re

    root = Path(__file__).resolve().parents[2] / "dbplay_desktop" / "ui"
    pattern = re.compile(r"postgres|sqlite|mongo|chroma|psycopg|pglast|sqlparse", re.I)
    skipped = {root / "editor", root / "results"}
    found = []
    for path in root.rglob("*.py"):
        if any(folder in path.parents for folder in skipped):
            continue
        if path.name == "query_runner.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == []


def test_a_connection_replaces_the_server_of_its_engine_only(
    qtbot, main_window, pg_admin_uri: str
):
    window = main_window
    lite = window.new_playground("sqlite")
    wait_ready(qtbot, lite)
    sqlite_engine = window.engines["sqlite"]
    with qtbot.waitSignal(window.engine_ready, timeout=30_000,
                          check_params_cb=lambda name: name == "postgresql"):
        window.use_connection(pg_admin_uri, "Staging")
    assert window.engines["sqlite"] is sqlite_engine  # untouched
    assert window.server_label_for("postgresql") == "Staging"
    pg = window.new_playground()
    wait_ready(qtbot, pg)
    assert pg.server_name == "Staging" and window.server_label.text() == "Staging"
    window.tabs.setCurrentWidget(lite)
    assert window.server_label.text() == lite.server_name != "Staging"
    assert lite.engine is sqlite_engine


def test_a_template_on_the_wrong_engine_says_what_opens_it():
    from dbplay_desktop.ui.playground.sandbox_jobs import wrong_engine_message

    on_file = wrong_engine_message("birds.dbtpl", "sqlite", "postgresql")
    assert on_file == ("birds.dbtpl is a SQLite template, not a PostgreSQL one; "
                       "open it in a SQLite playground")
    assert "server" not in on_file
    on_server = wrong_engine_message("shop.dbtpl", "postgresql", "sqlite")
    assert on_server.endswith("connect to a PostgreSQL server to open it")
    missing = wrong_engine_message("odd.dbtpl", "nosuchengine", "sqlite")
    assert "not installed" in missing and "\n" not in missing


def test_an_engine_from_another_distribution_works_in_the_window(
    qtbot, main_window, data_dir: Path, tmp_path: Path
):
    """The test-only kv engine (tests/plugin_engine) has no line in ui/: its playground
    is offered, runs its own language, shows its catalog and saves with its suffix."""
    from dbplay_desktop.templates.container import TemplateReader

    window = main_window
    entries = {action.data(): action for action in window.new_menu.actions()}
    assert "kv" in entries, (
        "the test-only engine is not installed: `make test` installs tests/plugin_engine "
        "into .venv/test-plugins")
    entries["kv"].trigger()
    kv = window.current_playground()
    assert kv.engine_name == "kv"
    wait_ready(qtbot, kv)
    assert _engine_label(window).startswith("Key-value store")
    kv.editor.setPlainText("SET pets:1 Rex\n# a comment\nSET pets:2 Tom\nGET pets:1")
    run_and_wait(qtbot, kv)
    model = kv.result_models()[-1]
    assert (model.value(0, 0), model.value(0, 1)) == ("pets:1", "Rex")
    qtbot.waitUntil(lambda: "pets:1" in window.catalog_tree.names()
                    or "pets" in window.catalog_tree.names(), timeout=10_000)
    saved = window.save_playground(
        kv, SaveChoice("Pets", "", tmp_path / "pets.dbtpl", into_library=False))
    assert saved is not None
    with TemplateReader(saved) as reader:
        assert reader.manifest.engine == "kv"
    from dbplay_desktop.templates.scripts import read_scripts

    assert [Path(s.name).suffix for s in read_scripts(saved).scripts] == [".kv"]


def test_the_shipped_sqlite_sample_opens_and_its_hint_runs(qtbot, main_window, tmp_path: Path):
    """The Film club sample (scripts/sqlite_samples.py) opens as a SQLite playground, and
    the query its description suggests returns rows without changing it."""
    from dbplay_desktop.templates.library import TemplateLibrary

    window = main_window
    shipped = TemplateLibrary(tmp_path / "mine").entries()  # the shipped samples
    entry = next(e for e in shipped if e.name == "Film club")
    playground = window.open_template(entry.path)
    assert playground is not None and playground.engine_name == "sqlite"
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("SELECT * FROM film_ratings ORDER BY average DESC;")
    run_and_wait(qtbot, playground)
    model = playground.result_models()[0]
    assert model.rowCount() > 5
    assert not playground.modified  # reading changes nothing


def test_preferences_choose_the_engine_of_new_playground(qtbot, main_window):
    """Preferences ▸ New playground engine: Ctrl+N then makes that engine's playgrounds."""
    from dbplay_desktop.ui.settings import SettingsDialog

    window = main_window
    dialog = SettingsDialog(window.app_settings, window)
    qtbot.addWidget(dialog)
    index = dialog.default_engine.findData("sqlite")
    assert index > 0 and dialog.default_engine.findData("postgresql") > 0
    dialog.default_engine.setCurrentIndex(index)
    dialog.accept()
    assert window.default_engine == "sqlite"
    window.new_action.trigger()
    playground = window.current_playground()
    assert playground.engine_name == "sqlite"
    wait_ready(qtbot, playground)
    dialog = SettingsDialog(window.app_settings, window)
    qtbot.addWidget(dialog)
    assert dialog.default_engine.currentData() == "sqlite"  # remembered
    dialog.restore_defaults()
    dialog.accept()
    assert window.default_engine == "postgresql"  # automatic: the engine with a server
