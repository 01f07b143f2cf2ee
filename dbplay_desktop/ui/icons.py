"""Icons for engines and actions: hand-made SVG files in ``resources/icons`` for actions,
each engine's own badge (its descriptor's ``icon_path``) for engines.

Action icons are line drawings in ``currentColor``; that colour is replaced with the
palette's text colour when the icon is made, so the same files work in light and dark
themes. Coloured parts (the green run arrow, the red stop square, engine badges) keep
their own colours. An icon renders a size only when something paints it at that size (a
start-up shows a tool bar of icons at one size, not every size of every icon); icons
are cached by name and colour: call :func:`clear_cache` after the palette changes.

Importing this module is cheap on purpose (the window's first frame needs it): the SVG
renderer and the painting classes are imported on first render.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPixmap

if TYPE_CHECKING:
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QPainter

    from dbplay_desktop.engines.descriptor import EngineDescriptor

#: Action icons shipped in ``resources/icons`` (file name without ``.svg``).
ACTION_ICONS = (
    "run",
    "run-all",
    "stop",
    "format",
    "save-template",
    "open",
    "new-playground",
    "reset",
    "refresh",
    "connect",
    "import",
    "reveal",
    "rename",
    "delete",
    "search",
    "template",
    "database",
    "warning",
    "table",
    "view",
    "function",
    "index",
    "column",
    "export",
    "copy",
    "history",
)
_SIZES = (16, 20, 24, 32, 48, 64)


def icons_dir() -> Path:
    """The folder holding the SVG files."""
    return _resources_dir() / "icons"


def _resources_dir() -> Path:
    """The shipped ``resources`` folder, as ``templates.library.resources_dir`` finds it
    (inside a PyInstaller bundle or next to the package), without importing the library:
    the window's first frame needs its icons before anything else."""
    import sys

    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def icon_path(name: str) -> Path:
    """The SVG file of an action icon (``"run"``)."""
    return icons_dir() / f"{name}.svg"


def app_icon() -> QIcon:
    """dbplay's own icon in full colour, for the window and the task bar (empty if missing)."""
    path = icons_dir() / "app" / "dbplay.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def icon(name: str) -> QIcon:
    """The action icon ``name`` in the current palette's text colour (empty if unknown)."""
    return _icon(name, _foreground().name(QColor.NameFormat.HexArgb))


def engine_icon(engine: EngineDescriptor | str | None) -> QIcon:
    """The badge of an engine (a descriptor, or a name as templates carry it), drawn from
    the descriptor's ``icon_path``; an engine without one, or not installed, gets the
    generic database icon."""
    descriptor = engine
    if isinstance(engine, str):
        from dbplay_desktop.engines import registry

        descriptor = next((d for d in registry.descriptors() if d.name == engine), None)
    path = getattr(descriptor, "icon_path", None)
    if path is not None:
        badge = _file_icon(str(path), _foreground().name(QColor.NameFormat.HexArgb))
        if not badge.isNull():
            return badge
    return icon("database")


def pixmap(name: str, size: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    """One rendered size of an icon, e.g. for painting in an item delegate."""
    color = _foreground().name(QColor.NameFormat.HexArgb)
    return _render(_svg_bytes(name, color), size, device_pixel_ratio)


def clear_cache() -> None:
    """Forget rendered icons, e.g. after the system switched between light and dark."""
    _icon.cache_clear()
    _file_icon.cache_clear()
    _svg_bytes.cache_clear()
    _file_bytes.cache_clear()


def _foreground() -> QColor:
    from PySide6.QtGui import QPalette

    app = QGuiApplication.instance()
    if app is None:
        return QColor("#1f2328")
    return QGuiApplication.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)


@lru_cache(maxsize=256)
def _svg_bytes(name: str, color: str) -> bytes:
    return _file_bytes(str(icon_path(name)), color)


@lru_cache(maxsize=64)
def _file_bytes(path: str, color: str) -> bytes:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return b""
    # QColor's HexArgb is #AARRGGBB; SVG wants #RRGGBB plus an opacity.
    rgb = "#" + color[3:] if len(color) == 9 else color
    return text.replace("currentColor", rgb).encode("utf-8")


def _render(data: bytes, size: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    from PySide6.QtCore import QByteArray, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(data))
    side = max(1, round(size * device_pixel_ratio))
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    if renderer.isValid():
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, side, side))
        painter.end()
    result = QPixmap.fromImage(image)
    result.setDevicePixelRatio(device_pixel_ratio)
    return result


@lru_cache(maxsize=128)
def _icon(name: str, color: str) -> QIcon:
    return _icon_of(_svg_bytes(name, color))


@lru_cache(maxsize=32)
def _file_icon(path: str, color: str) -> QIcon:
    return _icon_of(_file_bytes(path, color))


def _icon_of(data: bytes) -> QIcon:
    return QIcon(_SvgIconEngine(data)) if data else QIcon()


class _SvgIconEngine(QIconEngine):
    """Draws one SVG at the size and scale asked for, the first time it is asked for.

    The disabled and selected looks come from the style, as for pixmap icons.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data
        self._rendered: dict[tuple[int, int, int], QPixmap] = {}

    def clone(self) -> QIconEngine:
        return _SvgIconEngine(self._data)

    def key(self) -> str:
        return "dbplay-svg"

    def isNull(self) -> bool:
        return not self._data

    def availableSizes(self, mode: QIcon.Mode = QIcon.Mode.Normal,
                       state: QIcon.State = QIcon.State.Off) -> list[QSize]:
        return [QSize(size, size) for size in _SIZES]

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        side = min(size.width(), size.height())
        return QSize(side, side)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State,
                     scale: float) -> QPixmap:
        side = max(1, min(size.width(), size.height()))
        ratio = scale if scale > 0 else 1.0
        key = (side, round(ratio * 100), _mode_number(mode))
        found = self._rendered.get(key)
        if found is None:
            found = _render(self._data, side, ratio)
            if mode in (QIcon.Mode.Disabled, QIcon.Mode.Selected):
                found = _styled(mode, found)
            self._rendered[key] = found
        return found

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, ratio))


def _mode_number(mode: QIcon.Mode) -> int:
    return int(mode.value) if hasattr(mode, "value") else int(mode)


def _styled(mode: QIcon.Mode, pixmap: QPixmap) -> QPixmap:
    """The style's look of ``pixmap`` in ``mode`` (greyed when disabled): what a pixmap
    icon gets from ``QStyle.generatedIconPixmap``, asked through a pixmap QIcon."""
    ratio = pixmap.devicePixelRatio() or 1.0
    size = QSize(round(pixmap.width() / ratio), round(pixmap.height() / ratio))
    styled = QIcon(pixmap).pixmap(size, ratio, mode)
    return styled if not styled.isNull() else pixmap
