"""Export a view as PNG or SVG, and its data as CSV; every file is written atomically.

A view offers ``export_widget()`` (what to draw) and ``csv()`` (its table as text, built
by ``pictures``). Images are rendered to bytes in memory (QBuffer) and written through
``lstm_engine.io.atomic_write``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QRectF, QSize
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsView, QMenu, QToolButton, QWidget

from lstm_engine.errors import UserError
from lstm_engine.io import atomic_write

FORMATS = {"png": "PNG images (*.png)", "svg": "SVG drawings (*.svg)",
           "csv": "CSV tables (*.csv)"}


def png_bytes(widget: QWidget) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buf, "PNG"):
        raise UserError("cannot render the view as PNG")
    buf.close()
    return bytes(data.data())


def write_png(widget: QWidget, path, data: bytes | None = None) -> None:
    """The widget as a PNG file (``data``: its PNG bytes, already rendered), written
    atomically; a one-line UserError naming the file on failure (the file that was there
    is then unchanged)."""
    try:
        data = png_bytes(widget) if data is None else data
    except UserError as err:
        raise UserError(f"{path}: {err}") from None
    with atomic_write(path) as fp:
        fp.write(data)


def svg_bytes(widget: QWidget, title: str = "lstm-viz view") -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    scene = widget.scene() if isinstance(widget, QGraphicsView) else None
    size = scene.sceneRect().size().toSize() if scene is not None else widget.size()
    gen.setSize(QSize(size))
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    painter = QPainter()
    if not painter.begin(gen):
        raise UserError("cannot render the view as SVG")
    try:
        if scene is not None:                # a drawn scene: its items, as vectors
            scene.render(painter, QRectF(0, 0, size.width(), size.height()), scene.sceneRect())
        else:
            widget.render(painter, QPoint(0, 0))
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def export_view(view, path, title: str = "lstm-viz view") -> None:
    """Write ``view`` to ``path`` as PNG, SVG or CSV, chosen by the suffix."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind == "png":
        data = png_bytes(view.export_widget())
    elif kind == "svg":
        data = svg_bytes(view.export_widget(), title)
    elif kind == "csv":
        data = view.csv().encode("utf-8")
    else:
        raise UserError(f"{path}: choose a .png, .svg or .csv file name")
    with atomic_write(path) as fp:                # a failure: UserError, old file unchanged
        fp.write(data)


class ExportButton(QToolButton):
    """"Export ▾" with PNG…, SVG… and CSV… entries for one view."""

    def __init__(self, view, title: str, errors, parent=None):
        super().__init__(parent)
        self.view = view
        self.title = title
        self.errors = errors
        self.setText("Export")
        self.setToolTip(f"save the {title} view as PNG or SVG, or its data as CSV")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        for kind in FORMATS:
            menu.addAction(f"{kind.upper()}…", lambda k=kind: self.ask(k))
        self.setMenu(menu)

    def ask(self, kind: str) -> None:
        name = self.title.lower().replace(" ", "-").replace("→", "to")
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.title}", f"{name}.{kind}",
                                              FORMATS[kind])
        if path:
            if not path.lower().endswith(f".{kind}"):
                path += f".{kind}"
            self.errors.guard(export_view, self.view, path, self.title)
