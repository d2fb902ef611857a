"""The window's layout, described and applied through ``model/layout.py``'s checked form,
never through Qt's ``saveState``/``restoreState`` bytes (not safe on damaged input).

``describe(window)`` says where each dock and toolbar is and how big the window is;
``apply(window, layout)`` puts them back with ``addDockWidget``, ``tabifyDockWidget``,
``setFloating``, ``setVisible`` and ``resize``. Names the window does not have are
skipped (a layout saved by another version).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar

from ..model.layout import LAYOUT_VERSION, MAX_SIDE, MIN_SIDE, check_layout

_AREA = {"left": Qt.DockWidgetArea.LeftDockWidgetArea,
         "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "top": Qt.DockWidgetArea.TopDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
_NAME_OF = {v: k for k, v in _AREA.items()}


def _docks(window: QMainWindow) -> dict[str, QDockWidget]:
    return {d.objectName(): d for d in window.findChildren(QDockWidget)
            if d.objectName() and d.parent() is window}


def _toolbars(window: QMainWindow) -> dict[str, QToolBar]:
    return {t.objectName(): t for t in window.findChildren(QToolBar)
            if t.objectName() and t.parent() is window}


def _side(v: int) -> int:
    return min(max(int(v), MIN_SIDE), MAX_SIDE)


def describe(window: QMainWindow) -> dict:
    """The layout of ``window`` now, in the checked form."""
    normal = window.normalGeometry() if window.isMaximized() else window.geometry()
    out = {"version": LAYOUT_VERSION,
           "window": {"x": normal.x(), "y": normal.y(), "width": _side(normal.width()),
                      "height": _side(normal.height()), "maximized": window.isMaximized()},
           "docks": {}, "toolbars": {}}
    seen = set()
    for name, dock in _docks(window).items():
        area = _NAME_OF.get(window.dockWidgetArea(dock), "left")
        d = {"visible": not dock.isHidden(), "floating": dock.isFloating(), "area": area,
             "size": [_side(dock.width()), _side(dock.height())]}
        if dock.isFloating():
            g = dock.geometry()
            d["geometry"] = [g.x(), g.y(), _side(g.width()), _side(g.height())]
        group = [o.objectName() for o in window.tabifiedDockWidgets(dock) if o.objectName()]
        first = next((o for o in group if o in seen), None)
        if first is not None:
            d["tab"] = first
        seen.add(name)
        out["docks"][name] = d
    for name, bar in _toolbars(window).items():
        out["toolbars"][name] = not bar.isHidden()
    return check_layout(out)


def _on_a_screen(rect: QRect) -> bool:
    return QGuiApplication.screenAt(rect.center()) is not None or \
        QGuiApplication.screenAt(QPoint(rect.x() + 40, rect.y() + 10)) is not None


def apply(window: QMainWindow, layout: dict) -> None:  # noqa: C901, PLR0912 - each field of the checked description applied in turn, a damaged one skipped with its warning
    """Put the window's docks and toolbars where ``layout`` (checked again here) says."""
    layout = check_layout(layout)
    docks = _docks(window)
    order = list(docks)
    chosen = {n: d for n, d in layout["docks"].items() if n in docks}
    for name, d in chosen.items():
        dock = docks[name]
        if dock.isFloating() and not d["floating"]:
            dock.setFloating(False)
        # Only a dock that is somewhere else moves: re-adding one would undo the
        # arrangement inside its area (side by side, stacked) that the default gives.
        if window.dockWidgetArea(dock) != _AREA[d["area"]]:
            window.addDockWidget(_AREA[d["area"]], dock)
    for name, d in chosen.items():
        dock = docks[name]
        want = d.get("tab") if d.get("tab") in chosen else None
        if want is not None and (d["floating"] or chosen[want]["floating"]):
            want = None
        group = [o.objectName() for o in window.tabifiedDockWidgets(dock)]
        have = next((n for n in order if n in group and order.index(n) < order.index(name)),
                    None)
        if want == have or (want is not None and want in group):
            continue
        if want is not None:
            window.tabifyDockWidget(docks[want], dock)
        elif group:
            window.addDockWidget(_AREA[d["area"]], dock)       # out of its tab group
    for name, d in chosen.items():
        dock = docks[name]
        dock.setVisible(d["visible"])
        if d["floating"]:
            dock.setFloating(True)
            g = d.get("geometry")
            if g is not None:
                dock.resize(g[2], g[3])
                if _on_a_screen(QRect(*g)):
                    dock.move(g[0], g[1])
        elif "size" in d and d["visible"]:
            horizontal = d["area"] in ("left", "right")
            window.resizeDocks([dock], [d["size"][0] if horizontal else d["size"][1]],
                               Qt.Orientation.Horizontal if horizontal
                               else Qt.Orientation.Vertical)
    bars = _toolbars(window)
    for name, shown in layout["toolbars"].items():
        if name in bars:
            bars[name].setVisible(shown)
    w = layout.get("window")                   # last: the docks may have grown the window
    if w is not None:
        window.resize(w["width"], w["height"])
        if _on_a_screen(QRect(w["x"], w["y"], w["width"], w["height"])):
            window.move(w["x"], w["y"])
        if w["maximized"]:
            window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)
