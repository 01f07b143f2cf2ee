"""The window's first frame comes before anything heavy is imported, and is a real window.

``MainWindow(deferred=True)`` makes the frame only; ``build()`` the rest; what is asked
of the window meanwhile waits for ``set_ready()``. The launch itself (``dbplay`` in a
subprocess) must import neither the editor nor the results nor an engine before it
prints "window shown", and CLI commands must not import Qt at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon

_REPO = Path(__file__).resolve().parents[2]

#: Printed by the app at its first painted frame: which heavy modules were loaded.
_PROBE = """
import sys
import dbplay_desktop.ui.app as app
painted = app.Launch.first_frame_painted
def probe(self):
    heavy = ("dbplay_desktop.ui.playground", "dbplay_desktop.ui.results",
             "dbplay_desktop.ui.editor", "dbplay_desktop.ui.templates",
             "dbplay_desktop.engines.registry", "dbplay_desktop.templates.library",
             "PySide6.QtNetwork", "psycopg", "importlib.metadata")
    loaded = sorted({h for h in heavy for m in sys.modules if m == h or m.startswith(h + ".")})
    print("loaded at first frame:", ",".join(loaded) or "-", flush=True)
    painted(self)
app.Launch.first_frame_painted = probe
from dbplay_desktop.cli import main
sys.exit(main([]))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DBPLAY_QUIT_WHEN_SHOWN": "1",
            "DBPLAY_DATA_DIR": str(tmp_path / "data"),
            "DBPLAY_SETTINGS_DIR": str(tmp_path / "settings")}


def test_the_first_frame_imports_nothing_heavy(tmp_path, monkeypatch):
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=_REPO, env=_env(tmp_path),
                            capture_output=True, text=True, timeout=240)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert "loaded at first frame: -" in lines, lines
    # The shown line comes first (build.sh reads it), the whole window follows.
    shown = lines.index("dbplay: window shown")
    assert lines.index("dbplay: window ready") > shown
    # It quit as soon as it was ready, with its server start still on a worker: no
    # server is left running (a start the quit overtook is refused).
    from dbplay_desktop.servers import pg_paths

    for name, value in _env(tmp_path).items():  # the environment the launch had
        monkeypatch.setenv(name, value)
    cluster = pg_paths.default_data_dir()
    assert not (cluster / "postmaster.pid").exists(), f"a server still runs in {cluster}"


def test_cli_commands_do_not_import_qt(tmp_path):
    code = ("import sys\nfrom dbplay_desktop.cli import main\n"
            "for argv in (['--version'], ['template', 'info', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('qt' if any(m.startswith('PySide6') for m in sys.modules) else 'no qt')")
    result = subprocess.run([sys.executable, "-c", code], cwd=_REPO, env=_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert "no qt" in result.stdout, result.stdout + result.stderr


def test_a_deferred_window_shows_its_frame_then_builds(qtbot, data_dir, tmp_path):
    from dbplay_desktop.templates.library import TemplateLibrary
    from dbplay_desktop.ui.window.main_window import APP_TITLE, MainWindow

    samples = tmp_path / "no-samples"
    samples.mkdir()
    window = MainWindow(library=TemplateLibrary(samples_dir=samples), deferred=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert not window.is_built
    assert window.windowTitle() == APP_TITLE
    assert window.stack.currentWidget() is window.welcome
    assert window.templates_dock.isVisible() and window.catalog_dock.isVisible()
    assert not window.run_action.isEnabled() and window.new_action.isEnabled()
    # Asked for before the window is ready: it waits, then happens once, in order.
    asked: list[str] = []
    window.when_ready(lambda: asked.append("first"))
    window.open_files([])  # a second ``dbplay`` while this one starts
    window.when_ready(lambda: asked.append("second"))
    window.close()  # a close during start-up waits for the window to exist
    assert asked == [] and window.isVisible()
    window.build()
    assert window.is_built
    assert window.templates_dock.widget() is window.template_browser
    assert window.catalog_dock.widget() is window.catalog_tree
    assert window.new_engine_actions  # one entry per registered engine
    window.set_ready()
    assert asked == ["first", "second"]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    window.when_ready(lambda: asked.append("now"))  # ready: at once
    assert asked[-1] == "now"


def test_the_frame_restores_the_saved_layout(qtbot, data_dir, tmp_path):
    from dbplay_desktop.ui.settings import APPLICATION, ORGANIZATION, AppSettings
    from dbplay_desktop.ui.window import chrome
    from dbplay_desktop.ui.window.chrome import saved_window_layout

    assert chrome._SETTINGS_NAMES == (ORGANIZATION, APPLICATION)
    settings = AppSettings()
    settings.window_geometry = b"geometry bytes"
    settings.window_state = b"state bytes"
    settings.sync()
    assert saved_window_layout() == (b"geometry bytes", b"state bytes")


def test_icons_render_each_size_when_asked(qtbot):
    from dbplay_desktop.templates.library import resources_dir
    from dbplay_desktop.ui import icons

    assert icons.icons_dir() == resources_dir() / "icons"
    icon = icons.icon("run")
    normal = icon.pixmap(QSize(20, 20), 1.0, QIcon.Mode.Normal)
    disabled = icon.pixmap(QSize(20, 20), 1.0, QIcon.Mode.Disabled)
    sharp = icon.pixmap(QSize(20, 20), 2.0, QIcon.Mode.Normal)
    assert normal.size() == QSize(20, 20) and disabled.size() == QSize(20, 20)
    assert sharp.size() == QSize(40, 40) and sharp.devicePixelRatio() == 2.0
    assert normal.toImage() != disabled.toImage()  # greyed by the style
    copy = QIcon(icon)
    del icon
    assert not copy.pixmap(64, 64).isNull()
