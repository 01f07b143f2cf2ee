"""What the user typed is kept: saved with the template, asked about on close, autosaved,
and offered back after a crash (a real process killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from dbplay_desktop.templates.container import TemplateReader, TemplateWriter
from dbplay_desktop.ui.templates.save_dialog import SaveChoice
from tests.ui.conftest import answer_confirmations, run_and_wait, wait_ready

SCRIPT = "SELECT name FROM pets ORDER BY name;\n"


def scratch_files(window) -> list[Path]:
    return sorted(window.autosave.root.glob("*/*.json"))


def test_saved_template_brings_the_script_back(qtbot, main_window, tmp_path: Path) -> None:
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText("CREATE TABLE pets (name text);\n")
    run_and_wait(qtbot, playground)
    playground.editor.setPlainText(SCRIPT)
    saved = main_window.save_playground(
        playground, SaveChoice("Pets", "my pets", tmp_path / "pets.dbtpl", into_library=False)
    )
    assert saved is not None
    assert not playground.script_changed and not playground.modified
    with TemplateReader(saved) as reader:
        assert reader.manifest.format_version == 2
        assert reader.script_paths() == ["scripts/playground.sql"]
        assert reader.read_script("scripts/playground.sql") == SCRIPT
        assert reader.paths() == ["dump.sql"]

    reopened = main_window.open_template(saved)
    wait_ready(qtbot, reopened)
    assert reopened.editor.toPlainText() == f"-- Pets\n-- my pets\n\n{SCRIPT}"
    assert not reopened.script_changed
    assert reopened.result_models() == []  # shown, never run
    # Saved again, the header is the template's, not part of the script.
    again = main_window.save_playground(
        reopened, SaveChoice("Pets 2", "", tmp_path / "pets2.dbtpl", into_library=False)
    )
    with TemplateReader(again) as reader:
        assert reader.read_script("scripts/playground.sql") == SCRIPT
    # Left out on purpose: no scripts part, and the script still counts as unsaved.
    reopened.editor.appendPlainText("SELECT 2;")
    plain = main_window.save_playground(reopened, SaveChoice(
        "Plain", "", tmp_path / "plain.dbtpl", into_library=False, include_script=False))
    with TemplateReader(plain) as reader:
        assert reader.manifest.format_version == 1 and reader.script_paths() == []
    assert reopened.script_changed


def test_a_strangers_script_is_shown_escaped(qtbot, main_window, pg_engine, tmp_path) -> None:
    database = pg_engine.create_sandbox()
    path = tmp_path / "odd.dbtpl"
    try:
        with TemplateWriter(path, engine="postgresql", name="Odd") as writer:
            writer.add_script("a.sql", "SELECT 'x\u202eexe.txt';\n")
            writer.add_script("b.sql", "SELECT 2;\n")
            info = pg_engine.dump(database, writer)
            writer.commit(info.engine_version, info.stats)
    finally:
        pg_engine.drop_sandbox(database)
    playground = main_window.open_template(path)
    wait_ready(qtbot, playground)
    assert playground.editor.toPlainText() == (
        "-- Odd\n\n-- Script 1 of 2\nSELECT 'x\\u202eexe.txt';\n\n-- Script 2 of 2\nSELECT 2;\n"
    )


def test_closing_asks_when_only_the_script_changed(qtbot, main_window, monkeypatch) -> None:
    del main_window.ask_save  # the real question box
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    playground.editor.setPlainText(SCRIPT)
    asked = answer_confirmations(monkeypatch, "Cancel")
    assert not main_window.close_playground(playground)
    box = asked[0]
    assert box.text() == "The script in “Untitled playground” has changed."
    assert "discards the script" in box.informativeText()
    assert sorted(b.text() for b in box.buttons()) == [
        "Cancel", "Close without saving", "Save as template…"
    ]
    assert box.defaultButton().text() == "Save as template…"
    answer_confirmations(monkeypatch, "Close without saving")
    assert main_window.close_playground(playground)
    main_window.ask_save = lambda playground: "discard"


def test_scripts_are_autosaved_privately_and_removed_on_close(qtbot, main_window) -> None:
    main_window.autosave.delay_ms = 50
    playground = main_window.new_playground()
    wait_ready(qtbot, playground)
    assert scratch_files(main_window) == []
    playground.editor.setPlainText(SCRIPT)
    qtbot.waitUntil(lambda: len(scratch_files(main_window)) == 1, timeout=10_000)
    (file,) = scratch_files(main_window)
    record = json.loads(file.read_text(encoding="utf-8"))
    assert (record["title"], record["text"], record["template"]) == (
        "Untitled playground", SCRIPT, None
    )
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    qtbot.waitUntil(lambda: json.loads(file.read_text(encoding="utf-8"))["text"] == SCRIPT)
    playground.editor.setPlainText("")  # back to what it opened with: nothing to keep
    qtbot.waitUntil(lambda: scratch_files(main_window) == [], timeout=10_000)
    playground.editor.setPlainText("SELECT 3;")
    qtbot.waitUntil(lambda: len(scratch_files(main_window)) == 1, timeout=10_000)
    assert main_window.close_playground(playground)  # closed normally: the file goes
    assert scratch_files(main_window) == []
    other = main_window.new_playground()
    other.editor.setPlainText("SELECT 4;")
    qtbot.waitUntil(lambda: len(scratch_files(main_window)) == 1, timeout=10_000)
    session = main_window.autosave.session_dir
    with qtbot.waitSignal(main_window.shutdown_finished, timeout=30_000):
        main_window.close()
    assert not session.exists()


CRASHING_WINDOW = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication(sys.argv)
    from dbplay_desktop.ui.window.main_window import MainWindow
    window = MainWindow(server_uri="postgresql://nobody@127.0.0.1:9/postgres")
    window.autosave.delay_ms = 50
    window.show()
    playground = window.new_playground()
    playground.editor.setPlainText(sys.argv[1])
    def check():
        if list(window.autosave.root.glob("*/*.json")):
            os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing gets to clean up
    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    app.exec()
""")


def crash_a_window(data_dir: Path, text: str) -> None:
    env = dict(os.environ, DBPLAY_DATA_DIR=str(data_dir), QT_QPA_PLATFORM="offscreen")
    process = subprocess.run(
        [sys.executable, "-c", CRASHING_WINDOW, text], env=env, timeout=120,
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
    )
    assert process.returncode == -9, process.stderr


def test_after_a_crash_the_scripts_are_offered_back(
    qtbot, main_window, data_dir: Path, monkeypatch
) -> None:
    assert main_window.offer_unsaved_scripts() == 0  # nothing to offer: no question
    crash_a_window(data_dir, "SELECT 'lost?';\n")
    asked = answer_confirmations(monkeypatch, "Not now")
    assert main_window.offer_unsaved_scripts() == 0
    assert "1 playground had scripts that were not saved: “Untitled playground”" in (
        asked[0].text()
    )
    answer_confirmations(monkeypatch, "Restore scripts")
    before = main_window.tabs.count()
    assert main_window.offer_unsaved_scripts() == 1  # "Not now" kept them
    restored = main_window.playgrounds()[before]
    assert restored.editor.toPlainText() == "SELECT 'lost?';\n"
    assert restored.script_changed
    # The crashed session is gone; the restored text lives in this window's session.
    files = scratch_files(main_window)
    assert [f.parent for f in files] == [main_window.autosave.session_dir]
    wait_ready(qtbot, restored)
    crash_a_window(data_dir, "SELECT 'unwanted';\n")
    answer_confirmations(monkeypatch, "Discard scripts")
    assert main_window.offer_unsaved_scripts() == 0
    asked = answer_confirmations(monkeypatch, "Restore scripts")
    assert main_window.offer_unsaved_scripts() == 0 and asked == []
