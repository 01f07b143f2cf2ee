"""Render the app and template icons into the hicolor theme tree and a Windows .ico.

The PNGs are committed so installing needs no Qt; run this again after editing an SVG:
``QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/render_icons.py``.
macOS ``.icns`` is made from these PNGs by the bundle build on macOS.
"""

from __future__ import annotations

import io
import shutil
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "resources" / "icons" / "app"
HICOLOR = ROOT / "packaging" / "linux" / "icons" / "hicolor"
ICO = ROOT / "packaging" / "icons" / "dbplay.ico"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: (SVG name without suffix, hicolor context)
ICONS = (("dbplay", "apps"), ("application-x-dbplay-template", "mimetypes"))


def render_png(svg: Path, size: int) -> bytes:
    """One square PNG of ``svg`` at ``size`` pixels, with a transparent background."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO container of PNG images (Windows Vista and later read PNG entries)."""
    out = io.BytesIO()
    out.write(struct.pack("<HHH", 0, 1, len(pngs)))
    offset = 6 + 16 * len(pngs)
    for size, png in pngs.items():
        side = 0 if size >= 256 else size  # 0 means 256 in the directory entry
        out.write(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset))
        offset += len(png)
    for png in pngs.values():
        out.write(png)
    return out.getvalue()


def main() -> int:
    """Write every size of every icon, the scalable copies and the .ico."""
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for name, context in ICONS:
        svg = SOURCES / f"{name}.svg"
        for size in SIZES:
            target = HICOLOR / f"{size}x{size}" / context / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(render_png(svg, size))
        scalable = HICOLOR / "scalable" / context / f"{name}.svg"
        scalable.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(svg, scalable)
    ICO.parent.mkdir(parents=True, exist_ok=True)
    ICO.write_bytes(ico_bytes({s: render_png(SOURCES / "dbplay.svg", s) for s in ICO_SIZES}))
    print(f"rendered {len(ICONS)} icons at {len(SIZES)} sizes into {HICOLOR} and {ICO}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
