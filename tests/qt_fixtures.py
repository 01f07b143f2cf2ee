"""Fixtures every suite that shows the real window shares (``tests/ui``, ``tests/soak``):
QSettings in a temporary folder and a fresh data directory per test. Their conftests
import them, which is what makes pytest see them there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_qsettings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """QSettings of every window test go to a temporary INI folder, never the user's."""
    from PySide6.QtCore import QCoreApplication, QSettings

    folder = tmp_path_factory.mktemp("qsettings")
    QCoreApplication.setOrganizationName("dbplay-tests")
    QCoreApplication.setApplicationName("dbplay-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh dbplay data directory (``DBPLAY_DATA_DIR``) for this test."""
    folder = tmp_path / "dbplay-data"
    folder.mkdir()
    monkeypatch.setenv("DBPLAY_DATA_DIR", str(folder))
    return folder
