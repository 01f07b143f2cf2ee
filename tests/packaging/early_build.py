"""The bundle built in the background while the rest of the suite runs.

``packaging/build.sh`` (PyInstaller) takes minutes of one core; the suite mostly waits on
its servers. So when a run will test the bundle, the build starts right after collection
(:func:`start_if_wanted`, called from the root conftest) and the bundle tests, which run
near the end, wait for it (:func:`wait_for_bundle`). A run that does not test the bundle
starts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE_TESTS = "tests/packaging/test_bundle.py"

_build: subprocess.Popen[bytes] | None = None
_log: Path | None = None


def wanted(items: Iterable[object]) -> bool:
    """Whether this run tests a bundle it must build itself."""
    if os.environ.get("DBPLAY_TEST_BUNDLE") != "1" or os.environ.get("DBPLAY_BUNDLE_DIR"):
        return False
    if sys.platform == "win32":
        return False
    return any(str(getattr(item, "nodeid", "")).startswith(BUNDLE_TESTS) for item in items)


def start_if_wanted(items: Iterable[object]) -> None:
    """Start the build (at a lower priority than the tests) when the run will need it."""
    global _build, _log
    if _build is not None or not wanted(items):
        return
    import importlib.util

    if importlib.util.find_spec("PyInstaller") is None:
        # Now, before any test runs: build.sh would install it while the tests import.
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e",
                        f"{ROOT}[all,bundle]"], check=False, stdin=subprocess.DEVNULL)
    descriptor, name = tempfile.mkstemp(prefix="dbplay-bundle-build-", suffix=".log")
    _log = Path(name)
    command = ["bash", str(ROOT / "packaging" / "build.sh")]
    if hasattr(os, "nice"):
        command = ["nice", "-n", "10", *command]
    with os.fdopen(descriptor, "wb") as log:
        _build = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  env=dict(os.environ, VENV=sys.prefix))


def wait_for_bundle(timeout: float = 1500) -> tuple[int, str]:
    """Wait for the background build (starting one now if none runs): its exit code and
    the tail of its output."""
    if _build is None:
        start_if_wanted([type("Item", (), {"nodeid": BUNDLE_TESTS})()])
    assert _build is not None and _log is not None
    code = _build.wait(timeout=timeout)
    text = _log.read_text(encoding="utf-8", errors="replace")
    return code, text[-6000:]


def stop() -> None:
    """At the end of the run: a build still going is stopped, its log removed."""
    global _build
    if _build is not None and _build.poll() is None:
        _build.kill()
        _build.wait()
    _build = None
    if _log is not None:
        _log.unlink(missing_ok=True)
