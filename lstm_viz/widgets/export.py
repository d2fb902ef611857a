"""Export a view as PNG (at the screen's resolution or 2× / 4× for slides and papers) or
SVG, and its data as CSV; every file is written atomically.

A view offers ``export_widget()`` (what to draw) and ``csv()`` (its table as text, built
by ``pictures``). Images are rendered to bytes in memory (QBuffer) and written through
``lstm_engine.io.atomic_write``. Each view's Export button and File ▸ Export (every view,
and the window) offer the same formats (``add_export_menu``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsView, QMenu, QToolButton, QWidget

from lstm_engine.errors import UserError
from lstm_engine.io import atomic_write

FORMATS = {"png": "PNG images (*.png)", "svg": "SVG drawings (*.svg)",
           "csv": "CSV tables (*.csv)"}
SCALES = (1, 2, 4)                   # PNG: the screen's pixels, or twice / four times as many
# What an Export menu offers: (menu text, suffix, scale)
CHOICES = (("PNG…", "png", 1), ("PNG at 2×…", "png", 2), ("PNG at 4×…", "png", 4),
           ("SVG…", "svg", 1), ("CSV…", "csv", 1))


def grab(widget: QWidget, scale: int = 1) -> QPixmap:
    """The widget drawn into a pixmap ``scale`` times its size in each direction: text,
    lines and plots are drawn at that resolution (a device pixel ratio of ``scale``), not
    a screen grab enlarged."""
    if scale not in SCALES:
        raise UserError(f"the export scale must be 1, 2 or 4, got {scale!r}")
    if scale == 1:
        return widget.grab()
    size = widget.size()
    pixmap = QPixmap(size * scale)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.white)
    painter = QPainter(pixmap)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing
                           | QPainter.RenderHint.TextAntialiasing
                           | QPainter.RenderHint.SmoothPixmapTransform)
    try:                  # QWidget's render (a QGraphicsView's own draws its scene only)
        QWidget.render(widget, painter, QPoint(0, 0))
    finally:
        painter.end()
    return pixmap


def png_bytes(widget: QWidget, scale: int = 1) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not grab(widget, scale).save(buf, "PNG"):
        raise UserError("cannot render the view as PNG")
    buf.close()
    return bytes(data.data())


def write_png(widget: QWidget, path, data: bytes | None = None, scale: int = 1) -> None:
    """The widget as a PNG file (``scale`` 1, 2 or 4; ``data``: its PNG bytes, already
    rendered), written atomically; a one-line UserError naming the file on failure (the
    file that was there is then unchanged)."""
    try:
        data = png_bytes(widget, scale) if data is None else data
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


def export_view(view, path, title: str = "lstm-viz view", scale: int = 1) -> None:
    """Write ``view`` to ``path`` as PNG (at ``scale``), SVG or CSV, chosen by the suffix."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind == "png":
        data = png_bytes(view.export_widget(), scale)
    elif kind == "svg":
        data = svg_bytes(view.export_widget(), title)
    elif kind == "csv":
        data = view.csv().encode("utf-8")
    else:
        raise UserError(f"{path}: choose a .png, .svg or .csv file name")
    with atomic_write(path) as fp:                # a failure: UserError, old file unchanged
        fp.write(data)


def ask_and_export(parent, view, title: str, kind: str, scale: int, errors) -> None:
    """Ask for a file name (suggested from the title) and export ``view`` there."""
    name = title.lower().replace(" ", "-").replace("→", "to")
    if scale != 1:
        name += f"@{scale}x"
    path, _ = QFileDialog.getSaveFileName(parent, f"Export {title}", f"{name}.{kind}",
                                          FORMATS[kind])
    if path:
        if not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        errors.guard(export_view, view, path, title, scale)


def fill_export_menu(menu: QMenu, parent, view, title: str, errors) -> None:
    for text, kind, scale in CHOICES:
        menu.addAction(text, lambda k=kind, x=scale: ask_and_export(parent, view, title, k, x,
                                                                   errors))


class ExportButton(QToolButton):
    """"Export ▾" with PNG (1×, 2×, 4×), SVG and CSV entries for one view."""

    def __init__(self, view, title: str, errors, parent=None):
        super().__init__(parent)
        self.view = view
        self.title = title
        self.errors = errors
        self.setText("Export")
        self.setToolTip(f"save the {title} view as PNG (1×, 2×, 4×) or SVG, or its data "
                        "as CSV")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        fill_export_menu(menu, self, view, title, errors)
        self.setMenu(menu)

    def ask(self, kind: str, scale: int = 1) -> None:
        ask_and_export(self, self.view, self.title, kind, scale, self.errors)


class _WindowView:
    """The whole window as an exportable "view" (PNG and SVG; it has no one table)."""

    def __init__(self, window):
        self.window = window

    def export_widget(self):
        return self.window

    def csv(self) -> str:
        raise UserError("the window has no table of its own: export a view's CSV")


class _ViewNamed:
    """The view ``views[name]`` as an exportable "view", looked up when exported (a view
    of ``lazy_dock.LazyViews`` is built the first time it is needed)."""

    def __init__(self, views, name: str):
        self.views = views
        self.name = name

    def export_widget(self):
        return self.views[self.name].export_widget()

    def csv(self) -> str:
        return self.views[self.name].csv()


def add_export_menu(window, views: dict, titles: dict) -> QMenu:
    """File ▸ Export: the window as PNG (1×, 2×, 4×) or SVG, and every view in every
    format its Export button offers (one submenu per view)."""
    file_menu = window.menus["File"]
    menu = QMenu("E&xport", file_menu)
    whole = _WindowView(window)
    for text, kind, scale in CHOICES:
        if kind == "csv":
            continue
        menu.addAction(f"Window as {text}",
                       lambda k=kind, x=scale: ask_and_export(window, whole, "lstm-viz window",
                                                              k, x, window.errors))
    menu.addSeparator()
    for name in views:                    # looked up when chosen: a view may be built later
        sub = menu.addMenu(titles[name])
        fill_export_menu(sub, window, _ViewNamed(views, name), titles[name], window.errors)
    anchor = window.actions_by_id["export"]
    actions = file_menu.actions()
    after = actions[actions.index(anchor) + 1] if anchor in actions[:-1] else None
    file_menu.insertMenu(after, menu)
    window.export_menu = menu
    return menu
