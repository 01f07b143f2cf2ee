"""The Linux desktop integration in packaging/linux: install.sh and uninstall.sh into
temporary XDG folders, the desktop entry, the MIME type (by name and by content) and the
default program, so a change to any of them is caught before a user's desktop sees it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
SAMPLE = ROOT / "resources" / "samples" / "film-club.dbtpl"
MIME_TYPE = "application/x-dbplay-template"
TIMEOUT = 60

pytestmark = [
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="desktop integration is Linux only"
    ),
    pytest.mark.skipif(
        not all(
            shutil.which(t) for t in ("xdg-mime", "update-mime-database", "desktop-file-validate")
        ),
        reason="xdg-mime, update-mime-database or desktop-file-validate missing "
        "(scripts/install-system-deps.sh installs them)",
    ),
    pytest.mark.skipif(
        shutil.which("mimetype") is None,
        reason="mimetype (libfile-mimeinfo-perl) missing: xdg-mime cannot read the MIME database",
    ),
]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the test with its output when it fails."""
    result = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _listing(root: Path) -> set[str]:
    """Every path under ``root``, relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def xdg_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose XDG folders and home are all inside ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    for name in ("home", "data", "config"):
        (tmp_path / name).mkdir()
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_DIRS=f"{tmp_path / 'data'}:/usr/share",
        XDG_CURRENT_DESKTOP="X-Generic",
    )
    return env


def test_repo_desktop_entry_is_valid() -> None:
    _run(["desktop-file-validate", str(LINUX / "dbplay.desktop")])


def test_repo_mime_xml_parses_and_builds(tmp_path: Path) -> None:
    root = ET.parse(LINUX / "dbplay-mime.xml").getroot()
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    mime = root.find(f"{ns}mime-type")
    assert mime is not None and mime.get("type") == MIME_TYPE
    assert mime.find(f"{ns}glob").get("pattern") == "*.dbtpl"  # type: ignore[union-attr]
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(LINUX / "dbplay-mime.xml", packages)
    # update-mime-database checks the XML against the shared-mime-info rules as it builds.
    _run(["update-mime-database", "-V", str(tmp_path / "mime")])
    assert MIME_TYPE in (tmp_path / "mime" / "types").read_text()


def test_install_and_uninstall_for_one_user(tmp_path: Path, xdg_env: dict[str, str]) -> None:
    before = _listing(tmp_path)
    fake = "/opt/fake/dbplay"
    _run(["bash", str(LINUX / "install.sh"), "--user", "--exec", fake], env=xdg_env)
    data = tmp_path / "data"

    desktop = data / "applications" / "dbplay.desktop"
    _run(["desktop-file-validate", str(desktop)])
    assert f"Exec={fake} %f" in desktop.read_text().splitlines()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        base = data / "icons" / "hicolor" / f"{size}x{size}"
        assert (base / "apps" / "dbplay.png").is_file()
        assert (base / "mimetypes" / "application-x-dbplay-template.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "dbplay.svg").is_file()

    files = tmp_path / "files"
    files.mkdir()
    for name in ("x.dbtpl", "x.bin", "x"):
        shutil.copy(SAMPLE, files / name)
        out = _run(["xdg-mime", "query", "filetype", str(files / name)], env=xdg_env).stdout.strip()
        assert out == MIME_TYPE, f"{name}: {out}"
    default = _run(["xdg-mime", "query", "default", MIME_TYPE], env=xdg_env).stdout.strip()
    assert default == "dbplay.desktop"

    _run(["bash", str(LINUX / "uninstall.sh"), "--user"], env=xdg_env)
    out = _run(
        ["xdg-mime", "query", "filetype", str(files / "x.dbtpl")], env=xdg_env
    ).stdout.strip()
    assert out != MIME_TYPE
    shutil.rmtree(files)
    assert _listing(tmp_path) == before


def test_install_beside_a_bundled_program(tmp_path: Path, xdg_env: dict[str, str]) -> None:
    """In the download install.sh sits in the dbplay/ folder and starts the dbplay there."""
    bundle = tmp_path / "bundle" / "dbplay"
    shutil.copytree(LINUX, bundle, ignore=shutil.ignore_patterns("README.md"))
    program = bundle / "dbplay"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    _run([str(bundle / "install.sh"), "--user"], env=xdg_env)
    desktop = tmp_path / "data" / "applications" / "dbplay.desktop"
    assert f"Exec={program} %f" in desktop.read_text().splitlines()
    _run([str(bundle / "uninstall.sh"), "--user"], env=xdg_env)
    assert not desktop.exists()
