"""The layers stay apart: only the ui package may load Qt.

Each check runs in a fresh interpreter, because this test process may already have
imported PySide6 for the UI tests. Modules are found by walking the packages, so a new
engine or template module is covered without editing this file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

QT_FREE_PACKAGES = (
    "dbplay_desktop.engines",
    "dbplay_desktop.templates",
    "dbplay_desktop.servers",
)
# Besides these packages, every top-level module of dbplay_desktop (cli, progress, ...)
# must be Qt-free; only the ``ui`` package may load Qt.
QT_PACKAGES = ("ui",)
HEAVY_LIBRARIES = ("psycopg", "pglast", "chromadb", "pymongo", "PySide6", "sqlparse", "pygments")


def _run(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object as its last line."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_engines_templates_servers_and_cli_never_import_qt() -> None:
    result = _run(
        f"""
        import importlib, json, pkgutil, sys
        imported, skipped = [], {{}}
        for package_name in {QT_FREE_PACKAGES!r}:
            package = importlib.import_module(package_name)
            imported.append(package_name)
            for info in pkgutil.walk_packages(package.__path__, package_name + "."):
                try:
                    importlib.import_module(info.name)
                except ImportError as exc:
                    # The tests install every engine's driver: a module that does not
                    # import is broken, not optional.
                    skipped[info.name] = f"{{type(exc).__name__}}: {{exc}}"
                else:
                    imported.append(info.name)
        import dbplay_desktop
        for info in pkgutil.iter_modules(dbplay_desktop.__path__):
            if not info.ispkg and info.name not in {QT_PACKAGES!r}:
                name = "dbplay_desktop." + info.name
                importlib.import_module(name)
                imported.append(name)
        qt = sorted(m for m in sys.modules if m == "PySide6" or m.startswith("PySide6."))
        print(json.dumps({{"imported": imported, "skipped": skipped, "qt": qt}}))
        """
    )
    assert result["qt"] == [], f"Qt was loaded by a Qt-free layer: {result['qt'][:5]}"
    assert "dbplay_desktop.engines.base" in result["imported"]
    assert "dbplay_desktop.engines.registry" in result["imported"]
    assert "dbplay_desktop.cli" in result["imported"]
    assert "dbplay_desktop.progress" in result["imported"]
    assert result["skipped"] == {}, f"modules that fail to import: {result['skipped']}"


def test_engine_modules_of_installed_drivers_import() -> None:
    """The PostgreSQL engine and template modules are importable, not silently skipped."""
    result = _run(
        """
        import importlib, json, pkgutil
        import dbplay_desktop.templates as package
        names = ["dbplay_desktop.engines.postgres.engine"] + [
            info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
        ]
        errors = {}
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as exc:
                errors[name] = repr(exc)
        print(json.dumps(errors))
        """
    )
    assert result == {}


@pytest.mark.parametrize("module", ["dbplay_desktop.cli", "dbplay_desktop.__main__"])
def test_cli_import_stays_light(module: str) -> None:
    """``dbplay --version`` must not pay for drivers, parsers or Qt."""
    result = _run(
        f"""
        import json, sys
        import {module}
        heavy = {HEAVY_LIBRARIES!r}
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
        ours = sorted(m for m in sys.modules if m.startswith("dbplay_desktop."))
        print(json.dumps({{"loaded": loaded, "ours": ours}}))
        """
    )
    assert result["loaded"] == []
    assert "dbplay_desktop.templates.container" not in result["ours"]
    assert "dbplay_desktop.engines.postgres.engine" not in result["ours"]


def test_version_is_fast_and_light() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "dbplay_desktop",
            "--version",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0
    from dbplay_desktop import __version__

    assert completed.stdout.strip() == f"dbplay {__version__}"
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in completed.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert imported.isdisjoint(HEAVY_LIBRARIES), imported & set(HEAVY_LIBRARIES)


# --------------------------------------------------------------------------- engine-neutral

#: Where no engine may be named: a new engine must not need an edit here (README).
ENGINE_NEUTRAL_PATHS = ("dbplay_desktop/ui", "dbplay_desktop/templates", "dbplay_desktop/cli.py")
#: Parsers the SQL engines use, which the neutral layers must not know either.
ENGINE_TOOLS = ("sqlparse", "pglast", "psycopg", "pymongo", "chromadb", "mongosh")


def _engine_words() -> set[str]:
    from dbplay_desktop.engines.registry import descriptors

    words = set(ENGINE_TOOLS)
    for found in descriptors():
        words.update({found.name, found.display_name, *found.schemes, *found.requires})
    # Names of the engines the product is designed around, installed or not.
    words.update({"postgres", "mongodb", "chroma"})
    return {word.casefold() for word in words if len(word) > 2}


def test_the_neutral_layers_name_no_engine() -> None:
    """ui/, templates/ and cli.py name no engine, driver or engine parser -- not even in a
    comment -- so the next engine is one package plus an entry point."""
    from pathlib import Path

    import dbplay_desktop

    root = Path(dbplay_desktop.__file__).resolve().parent.parent
    words = _engine_words()
    found: list[str] = []
    for neutral in ENGINE_NEUTRAL_PATHS:
        base = root / neutral
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in files:
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                folded = line.casefold()
                hits = sorted(word for word in words if word in folded)
                if hits:
                    found.append(f"{path.relative_to(root)}:{number}: {', '.join(hits)}")
    assert found == [], "engine names outside engines/:\n" + "\n".join(found)


def test_descriptors_load_no_driver() -> None:
    """Listing the engines (the window's New playground menu) imports no driver."""
    result = _run(
        f"""
        import json, sys
        from dbplay_desktop.engines.registry import descriptors
        names = [d.name for d in descriptors()]
        for d in descriptors():
            d.icon_path, d.unavailable_reason(), d.catalog_kinds
        heavy = {HEAVY_LIBRARIES!r}
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
        print(json.dumps({{"names": names, "loaded": loaded}}))
        """
    )
    assert {"postgresql", "sqlite"} <= set(result["names"])
    assert result["loaded"] == []
