"""The picture views as dock panels: created, arranged and registered in one place.

``add_view_docks(window)`` builds the carousel, the heatmaps over time, the parameter
gradients, the gradient flow and the loss-to-cell matrix, and the views of what a pass
may have (``PASS_VIEWS``: predictions and the read-out's gradient, the embedding's
gradient, the flow through layers; shown only for a pass that has what they draw,
``fit_pass_views``), each in a QDockWidget with an
Export button, adds a toggle per dock to the View menu, lays them out for a 1366x768
screen and returns the docks and the views (the window keeps them as ``view_docks`` and
``views``): source over variables on the left, the carousel over the heatmaps on
the right with the other views tabbed beside the heatmaps. The window's layout
(``window_layout.py``, a checked description, never Qt's state bytes) keeps the
arrangement.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmapCache
from PySide6.QtWidgets import QDockWidget

from ..pictures.model_views import ModelViews
from .carousel_view import CarouselView
from .contribution_view import ContributionView
from .depth_flow_view import DepthFlowView
from .dock_tabs import keep_tab_titles_whole
from .embedding_grad_view import EmbeddingGradView
from .export import ExportButton, add_export_menu
from .flow_view import FlowView
from .heatmap_view import TimeHeatmapsView
from .intervene_menu import add_intervene
from .lazy_dock import LazyViews, build_shown, wait_behind
from .param_grads_view import ParamGradView
from .paths_view import PathsView
from .predictions_view import PredictionsView
from .readout_grad_view import ReadoutGradView
from .view_base import VisibleView

VIEWS = (  # object name, title, class
    ("carousel", "Carousel", CarouselView),
    ("heatmaps", "Heatmaps over time", TimeHeatmapsView),
    ("param_grads", "Parameter gradients", ParamGradView),
    ("flow", "Gradient flow", FlowView),
    ("loss_to_cell", "Loss → cell gradients", ContributionView),
    ("paths", "Path decomposition", PathsView),
)
# Views of what only some passes have (a read-out, an embedding, stacked layers): each
# class says whether a pass has it (``applies``); their docks are hidden otherwise.
PASS_VIEWS = (
    ("predictions", "Predictions", PredictionsView),
    ("readout_grads", "Read-out gradients", ReadoutGradView),
    ("embedding_grads", "Embedding gradient", EmbeddingGradView),
    ("depth_flow", "Layers × time", DepthFlowView),
)


# Views tabbed behind the heatmaps at the start, no larger at their least than the
# heatmaps or of a stated least size (``LEAST``, held by a stand-in until built:
# tests/widgets/test_lazy_docks.py): built when first brought to the front
# (``lazy_dock.wait_behind``), not for the first paint.
BEHIND_HEATMAPS = ("param_grads", "flow", "loss_to_cell", "paths")


# Room in Qt's pixmap cache, which holds every item's device-resolution pixmap (curves,
# axes, colour bars, kept images: plots.py): with every view shown at 1366 x 768 and the
# two sizes of a stacked model's parameter gradients, its default 10 MB was full, and it
# threw other views' curve pixmaps away on each seek into the other layer (drawn anew).
PIXMAP_CACHE_KB = 32 * 1024


def add_view_docks(window) -> tuple[dict[str, QDockWidget], LazyViews]:
    """Create the view docks of ``window`` (a MainWindow); returns ({name: dock},
    {name: view}). The views of ``PASS_VIEWS`` the shown pass lacks are built when their
    docks are first shown or looked up (``lazy_dock.py``)."""
    if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
        QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    docks: dict[str, QDockWidget] = {}
    views = LazyViews(docks)
    mv = ModelViews.of(window.session)
    for name, title, cls in VIEWS + PASS_VIEWS:
        def build(cls=cls, title=title) -> VisibleView:
            view = cls(window.session)
            view.tools.addWidget(ExportButton(view, title, window.errors, view))
            return view
        # A view of what this pass lacks is hidden (``fit_pass_views``): built when shown.
        lazy = name in BEHIND_HEATMAPS or ((name, title, cls) in PASS_VIEWS
                                           and not cls.applies(mv))
        docks[name] = window.add_dock(title, name, None if lazy else build(), right,
                                      build=build if lazy else None,
                                      waiting=name in BEHIND_HEATMAPS)
        if lazy and hasattr(cls, "LEAST"):
            docks[name].hold(cls.LEAST)
        # A tab brought to the front is not "shown" (it only moves into view): catch up.
        docks[name].visibilityChanged.connect(
            lambda on, n=name: on and views.built(n) and views[n].catch_up())
    # Left: source over variables. Right: carousel over the heatmaps, the other views
    # tabbed with them. Every view is a dock: hide, float, move; the layout persists.
    window.removeDockWidget(window.variables_dock)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.variables_dock)
    window.variables_dock.show()
    window.splitDockWidget(window.source_dock, window.variables_dock, Qt.Orientation.Vertical)
    window.splitDockWidget(docks["carousel"], docks["heatmaps"], Qt.Orientation.Vertical)
    # The flow through layers beside the flow curves. (Tabbed with the carousel instead,
    # the read-out's views grew the window past 768 px: a tab bar there costs height.)
    for name in ("param_grads", "flow", "depth_flow", "loss_to_cell", "paths", "predictions",
                 "readout_grads", "embedding_grads"):
        window.tabifyDockWidget(docks["heatmaps"], docks[name])
    docks["heatmaps"].raise_()
    keep_tab_titles_whole(window)
    window.resizeDocks([window.source_dock, docks["carousel"]], [650, 716],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([window.source_dock, window.variables_dock], [330, 300],
                       Qt.Orientation.Vertical)
    window.resizeDocks([docks["carousel"], docks["heatmaps"]], [275, 355],
                       Qt.Orientation.Vertical)
    menu = window.menus["View"]
    menu.addSeparator()
    for name, _, _ in VIEWS + PASS_VIEWS:
        menu.addAction(docks[name].toggleViewAction())
    add_export_menu(window, views, {name: title for name, title, _ in VIEWS + PASS_VIEWS})
    window.view_docks = docks
    fit_pass_views(window, reset=True)
    window.session.events.trace_changed.connect(lambda *_: fit_pass_views(window))
    window.intervener = add_intervene(window, docks, views)     # what if (issue 17)
    return docks, views


def build_for_first_layout(window) -> None:
    """At the end of the window's construction (after a saved layout is applied): the
    views behind the heatmaps wait to be brought to the front (``lazy_dock.wait_behind``),
    every other lazy panel not hidden is built (``lazy_dock.build_shown``)."""
    docks = window.view_docks
    wait_behind(window, docks["heatmaps"], [docks[name] for name in BEHIND_HEATMAPS])
    build_shown(window)


def fit_pass_views(window, reset: bool = False) -> None:
    """Hide the ``PASS_VIEWS`` docks the shown pass has nothing for (their View menu
    entries greyed out) and show again those hidden for that reason once a pass has it;
    a dock the user closed stays closed. ``reset``: every such dock is wanted (at the
    start and after a saved layout is applied: their visibility is the pass's, not the
    layout's)."""
    hidden = window.__dict__.setdefault("_hidden_for_pass", set())
    mv = ModelViews.of(window.session)
    exports = {a.text(): a for a in window.export_menu.actions() if a.menu()}
    for name, title, cls in PASS_VIEWS:
        dock = window.view_docks[name]
        applies = cls.applies(mv)
        dock.toggleViewAction().setEnabled(applies)
        exports[title].setVisible(applies)            # File ▸ Export offers what is shown
        if reset:
            hidden.add(name)
        if not applies:
            if not dock.isHidden():
                dock.hide()
                hidden.add(name)
        elif name in hidden:
            hidden.discard(name)
            dock.show()


def add_panel_keys(window) -> dict:
    """The keys of ``shortcuts.PANEL_KEYS``: each shows its dock and brings it to the
    front, or closes it when it is in front already. Its menu entry (the dock's toggle)
    names the key. Returns {name: action}."""
    from PySide6.QtGui import QAction, QKeySequence

    from ..model.shortcuts import PANEL_KEYS

    docks = {d.objectName(): d for d in window.findChildren(QDockWidget)}
    actions = {}
    for name, keys in PANEL_KEYS:
        dock = docks[name]
        action = QAction(f"Show {dock.windowTitle()}", window)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _=False, d=dock: bring_to_front(window, d))
        window.addAction(action)
        # The menu's toggle shows the key in its key column; its own shortcut acts only
        # while the menu has the focus (the window's action above does the work).
        toggle = dock.toggleViewAction()
        toggle.setShortcut(QKeySequence(keys))
        toggle.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        actions[name] = action
    window.panel_actions = actions
    return actions


def in_front(dock) -> bool:
    """Shown and not a tab behind another (Qt moves those out of sight, still "visible")."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def bring_to_front(window, dock) -> None:
    if not dock.toggleViewAction().isEnabled():   # a view this pass has nothing for
        window.statusBar().showMessage(f"{dock.windowTitle()}: not in this pass", 4000)
        return
    if in_front(dock):
        dock.close()
        return
    training = getattr(window, "workbench", None)
    if training is not None and dock in (training.training_dock, training.breakpoints_dock):
        training.open_panel(dock)                 # placed as those two open (workbench.py)
        return
    dock.show()
    dock.raise_()


def redock_floating(window) -> None:
    """Put every floating dock back into the window (a restored layout must not scatter
    panels over the desktop, perhaps off screen: a floated panel is for this run)."""
    for dock in window.findChildren(QDockWidget):
        if dock.isFloating():
            dock.setFloating(False)


def settle_docks(window, restored: bool = True) -> None:
    """At the end of the window's construction. After a saved layout was applied
    (``restored``): a panel floated last time comes back docked (``redock_floating``) and
    the ``PASS_VIEWS`` show as the shown pass has them, not as the layout had them
    (``fit_pass_views``). Then the lazy panels are fitted to the layout
    (``build_for_first_layout``)."""
    if restored:
        redock_floating(window)
        fit_pass_views(window, reset=True)
    build_for_first_layout(window)


def show_every_view(window, size=(640, 330)) -> None:
    """Make every view dock visible at once (the tabbed ones float beside the window):
    for the soak test and the benchmark, which must repaint all of them."""
    mv = ModelViews.of(window.session)
    shown = [name for name, _, cls in PASS_VIEWS if cls.applies(mv)]
    for name in [n for n, _, _ in VIEWS] + shown:
        dock = window.view_docks[name]
        dock.show()
        if window.tabifiedDockWidgets(dock) or dock.isFloating():
            dock.setFloating(True)
            dock.resize(*size)
            dock.show()
