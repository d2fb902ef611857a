"""The picture views as dock panels: created, arranged and registered in one place.

``add_view_docks(window)`` builds the carousel, the heatmaps over time, the parameter
gradients, the gradient flow and the loss-to-cell matrix, each in a QDockWidget with an
Export button, adds a toggle per dock to the View menu, lays them out for a 1366x768
screen and returns the docks and the views (the window keeps them as ``view_docks`` and
``views``): source over variables on the left, the carousel over the heatmaps on
the right with the other views tabbed beside the heatmaps. The window's layout
(``window_layout.py``, a checked description, never Qt's state bytes) keeps the
arrangement.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from .carousel_view import CarouselView
from .export import ExportButton
from .flow_view import ContributionView, FlowView
from .heatmap_view import ParamGradView, TimeHeatmapsView
from .view_base import VisibleView

VIEWS = (  # object name, title, class
    ("carousel", "Carousel", CarouselView),
    ("heatmaps", "Heatmaps over time", TimeHeatmapsView),
    ("param_grads", "Parameter gradients", ParamGradView),
    ("flow", "Gradient flow", FlowView),
    ("loss_to_cell", "Loss → cell gradients", ContributionView),
)


def add_view_docks(window) -> tuple[dict[str, QDockWidget], dict[str, VisibleView]]:
    """Create the view docks of ``window`` (a MainWindow); returns ({name: dock},
    {name: view})."""
    right = Qt.DockWidgetArea.RightDockWidgetArea
    docks: dict[str, QDockWidget] = {}
    views: dict[str, VisibleView] = {}
    for name, title, cls in VIEWS:
        view = cls(window.session)
        view.tools.addWidget(ExportButton(view, title, window.errors, view))
        docks[name] = window.add_dock(title, name, view, right)
        # A tab brought to the front is not "shown" (it only moves into view): catch up.
        docks[name].visibilityChanged.connect(lambda on, v=view: on and v.catch_up())
        views[name] = view
    # Left: source over variables. Right: carousel over the heatmaps, the other views
    # tabbed with them. Every view is a dock: hide, float, move; the layout persists.
    window.removeDockWidget(window.variables_dock)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.variables_dock)
    window.variables_dock.show()
    window.splitDockWidget(window.source_dock, window.variables_dock, Qt.Orientation.Vertical)
    window.splitDockWidget(docks["carousel"], docks["heatmaps"], Qt.Orientation.Vertical)
    for name in ("param_grads", "flow", "loss_to_cell"):
        window.tabifyDockWidget(docks["heatmaps"], docks[name])
    docks["heatmaps"].raise_()
    window.resizeDocks([window.source_dock, docks["carousel"]], [650, 716],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([window.source_dock, window.variables_dock], [330, 300],
                       Qt.Orientation.Vertical)
    window.resizeDocks([docks["carousel"], docks["heatmaps"]], [275, 355],
                       Qt.Orientation.Vertical)
    menu = window.menus["View"]
    menu.addSeparator()
    for name, _, _ in VIEWS:
        menu.addAction(docks[name].toggleViewAction())
    return docks, views


def show_every_view(window, size=(640, 330)) -> None:
    """Make every view dock visible at once (the tabbed ones float beside the window):
    for the soak test and the benchmark, which must repaint all of them."""
    for name, _, _ in VIEWS:
        dock = window.view_docks[name]
        dock.show()
        if window.tabifiedDockWidgets(dock) or dock.isFloating():
            dock.setFloating(True)
            dock.resize(*size)
            dock.show()
