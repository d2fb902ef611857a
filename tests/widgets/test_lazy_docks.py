"""Panels built when first needed (``lazy_dock.py``, issue 16: start-up): the views of what
the pass lacks, the Training panel and the Intervene panel are not built at the start;
every way of showing them builds them first (a pass that has the view, the View menu,
Alt+N, a saved layout, the commands), and code that asks for one gets it built. A view
tabbed behind another is not drawn for nobody when the window first shows: it catches
up when brought to the front."""

import pytest
from PySide6.QtWidgets import QScrollArea

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.lazy_dock import LazyDock
from lstm_viz.widgets.view_docks import BEHIND_HEATMAPS, PASS_VIEWS

PASS_NAMES = [name for name, _, _ in PASS_VIEWS]


def unbuilt(w) -> set[str]:
    return {d.objectName() for d in w.findChildren(LazyDock) if not d.built}


def test_what_is_hidden_at_the_start_is_not_built(make_window):
    w = make_window()                                   # the published example: no read-out
    assert unbuilt(w) == {*PASS_NAMES, *BEHIND_HEATMAPS, "training"}
    assert w.intervener._panel is None
    for name in PASS_NAMES:
        assert w.view_docks[name].widget() is None and w.view_docks[name].isHidden()
    assert isinstance(w.workbench.training_dock.widget(), QScrollArea)
    assert w.workbench.training_dock.widget().widget() is None


def test_a_pass_that_has_the_views_builds_and_shows_them(make_window, qapp):
    w = make_window()
    w.session.configure(default_config("text"))          # a read-out and an embedding
    qapp.processEvents()
    for name in ("predictions", "readout_grads"):
        dock = w.view_docks[name]
        assert dock.built and not dock.isHidden()
        assert dock.widget() is w.views[name]
        assert w.views[name].tools.count() > 0             # its Export button is there
    w.view_docks["predictions"].raise_()
    qapp.processEvents()
    assert w.views["predictions"].refreshes > 0          # drawn once in front


def test_a_window_opened_on_a_pass_with_a_read_out_builds_its_views_at_once(make_window):
    w = make_window(Session(default_config("text")))
    assert {"predictions", "readout_grads"}.isdisjoint(unbuilt(w))


@pytest.mark.parametrize("how", ["view menu", "panel key", "command", "looked up"])
def test_every_way_to_the_training_panel_builds_it_first(make_window, qapp, how):
    w = make_window()
    dock = w.workbench.training_dock
    if how == "view menu":
        dock.toggleViewAction().trigger()
    elif how == "panel key":
        w.panel_actions["training"].trigger()
    elif how == "command":
        w.workbench.show_training()
    else:
        assert w.workbench.training_panel.session is w.session
    qapp.processEvents()
    assert dock.built
    assert dock.widget().widget() is w.workbench.training_panel
    if how != "looked up":
        assert not dock.isHidden() and w.workbench.training_panel.isVisible()


def test_a_saved_layout_that_shows_the_training_panel_builds_it(make_window, qapp):
    w = make_window()
    w.workbench.show_training()
    qapp.processEvents()
    w.save_settings()
    again = make_window()                                 # the same settings file
    assert again.workbench.training_dock.built
    assert not again.workbench.training_dock.isHidden()


def test_the_export_menu_builds_the_view_it_exports(make_window, tmp_path):
    from lstm_viz.widgets.export import export_view

    w = make_window()
    assert not w.view_docks["depth_flow"].built
    sub = next(a.menu() for a in w.export_menu.actions()
               if a.menu() is not None and a.text() == "Layers × time")
    assert sub.actions()                                  # its entries exist unbuilt
    view = w.views["depth_flow"]                          # what the entries look up
    assert w.view_docks["depth_flow"].built and w.view_docks["depth_flow"].widget() is view
    export_view(view, tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 0


def test_the_intervene_panel_is_built_when_brought_to_the_front(make_window, qapp):
    w = make_window()
    assert w.intervener._panel is None and not w.intervener.dock.isHidden()
    w.intervener.dock.raise_()
    qapp.processEvents()
    panel = w.intervener._panel
    assert panel is not None and panel.isVisible()
    assert w.intervener.dock.widget().widget() is panel
    assert w.intervener.choose("cut h")                  # and it works as before
    assert w.session.whatif.has_pass


def test_a_tab_behind_another_is_drawn_when_brought_to_the_front(make_window, qapp):
    w = make_window()
    qapp.processEvents()
    flow, heatmaps = w.views["flow"], w.views["heatmaps"]
    assert heatmaps.refreshes > 0                         # in front: drawn at once
    assert flow.refreshes == 0 and flow._stale            # behind the heatmaps: not yet
    w.session.goto("bwd:3:ds")
    qapp.processEvents()
    assert flow.refreshes == 0
    w.view_docks["flow"].raise_()
    qapp.processEvents()
    assert flow.refreshes == 1 and not flow._stale


def test_the_views_that_wait_behind_the_heatmaps_are_no_larger_at_their_least(make_window):
    """What lets them wait (``lazy_dock.wait_behind``): built or not, the tab group's
    least size is the same: each is no larger at its least than the heatmaps, or its least
    size is stated (the parameter gradients') and a stand-in of that size holds its place."""
    w = make_window()
    least = w.views["heatmaps"].minimumSizeHint()
    for name in BEHIND_HEATMAPS:
        stated = getattr(type(w.views[name]), "LEAST", None)
        got = w.views[name].minimumSizeHint() if stated is None else stated
        assert got.width() <= least.width() and got.height() <= least.height() or (
            stated is not None and w.views[name].minimumSize() == stated), name


def test_the_stated_least_size_of_the_parameter_gradients_is_what_they_need(make_window):
    """Stated, not guessed: the view built needs no more room than its stated least size
    (its own minimum size hint fits in it), and no less."""
    from lstm_viz.widgets.param_grads_view import ParamGradView

    w = make_window()
    view = w.views["param_grads"]
    assert view.minimumSizeHint() == ParamGradView.LEAST
    assert view.minimumSize() == ParamGradView.LEAST


def test_waiting_changes_no_least_size_and_no_layout(make_window, qapp):
    """The window and every dock in view have the same least sizes and places while the
    views behind the heatmaps wait as once they are all built (the tab group's least size
    is the heatmaps' dock's: it would grow with a larger view)."""
    from PySide6.QtWidgets import QDockWidget

    def shape(win):
        docks = sorted(win.findChildren(QDockWidget), key=lambda d: d.objectName())
        return (win.minimumSizeHint().toTuple(), win.size().toTuple(),
                [(d.objectName(), d.minimumSizeHint().toTuple(), d.geometry().getRect())
                 for d in docks if not d.visibleRegion().isEmpty()])   # those in view

    w = make_window()
    w.resize(1366, 768)
    qapp.processEvents()
    assert set(BEHIND_HEATMAPS) <= unbuilt(w)
    before = shape(w)
    for name in BEHIND_HEATMAPS:
        w.view_docks[name].content()                      # built, still behind the heatmaps
    qapp.processEvents()
    assert unbuilt(w).isdisjoint(BEHIND_HEATMAPS)
    assert w.view_docks["heatmaps"].visibleRegion().isEmpty() is False
    assert shape(w) == before


@pytest.mark.parametrize("how", ["another tab raised", "heatmaps closed", "heatmaps floated"])
def test_every_waiting_view_is_built_once_the_heatmaps_are_not_in_front(make_window, qapp,
                                                                         how):
    w = make_window()
    qapp.processEvents()
    assert unbuilt(w) >= set(BEHIND_HEATMAPS)
    heatmaps = w.view_docks["heatmaps"]
    if how == "another tab raised":
        w.view_docks["param_grads"].raise_()
    elif how == "heatmaps closed":
        heatmaps.close()
    else:
        heatmaps.setFloating(True)
    qapp.processEvents()
    assert unbuilt(w).isdisjoint(BEHIND_HEATMAPS)
    for name in BEHIND_HEATMAPS:
        assert w.view_docks[name].widget() is w.views[name]


def test_a_view_the_saved_layout_puts_elsewhere_is_built_at_the_start(make_window, qapp):
    from PySide6.QtCore import Qt

    w = make_window()
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.view_docks["flow"])  # untabbed
    qapp.processEvents()
    assert w.view_docks["flow"].built                    # in view: built as it showed
    w.save_settings()
    again = make_window()                                 # the same settings file
    assert again.view_docks["flow"].built and not again.view_docks["flow"].waiting
    assert again.view_docks["loss_to_cell"].waiting       # still behind the heatmaps


def test_a_waiting_view_closed_and_shown_again_is_built_as_it_shows(make_window, qapp):
    w = make_window()
    dock = w.view_docks["paths"]
    dock.toggleViewAction().trigger()                    # View ▸ Path decomposition: off
    qapp.processEvents()
    assert dock.isHidden() and not dock.built and not dock.waiting
    dock.toggleViewAction().trigger()                    # and on again
    qapp.processEvents()
    assert dock.built and dock.widget() is w.views["paths"]


def test_closing_the_window_builds_no_waiting_view(make_window, qapp):
    w = make_window()
    qapp.processEvents()
    w.close()                        # every dock goes out of view, the heatmaps too
    qapp.processEvents()
    assert set(BEHIND_HEATMAPS) <= unbuilt(w)


def test_the_start_builds_no_view_box_menu(make_window, monkeypatch):
    """No plot built for the first window makes pyqtgraph's view-box context menu (its
    build was a third of a plot's): every one was disabled at once, the app has its own
    right-click menus (``intervene_menu.py``)."""
    import importlib

    viewbox = importlib.import_module("pyqtgraph.graphicsItems.ViewBox.ViewBox")  # module
    made = []

    class Counted(viewbox.ViewBoxMenu):
        def __init__(self, view):
            made.append(view)
            super().__init__(view)

    monkeypatch.setattr(viewbox, "ViewBoxMenu", Counted)
    w = make_window()
    assert w.views["heatmaps"].forward.map.bar.vb.menu is None   # built, with its bars
    assert made == []


def test_a_window_left_open_at_exit_says_nothing(tmp_path):
    # Torn down at interpreter exit, the window is deleted before its docks report leaving
    # the screen: the waiting docks' hook must not touch it (it raised RuntimeError).
    import os
    import subprocess
    import sys

    script = ("from PySide6.QtWidgets import QApplication\n"
              "from lstm_viz.model.session import Session\n"
              "from lstm_viz.widgets.main_window import MainWindow\n"
              "app = QApplication([])\n"
              "w = MainWindow(Session())\n"
              "w.show()\n"
              "app.processEvents()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "RuntimeError" not in done.stderr, done.stderr
