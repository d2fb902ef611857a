"""The clipping windows of the gradient-flow and path views (``step_window.py``): a seek
repaints only the strips between the old and the new window edges, and what that leaves
on screen is what a view drawn whole at that frame shows.

What a widget shows is read from its window's backing store (``_on_screen``): on the
offscreen platform ``grabWindow`` copies it, with whatever the partial repaints left
there (``QWidget.grab`` would paint the widget whole again, hiding a stale strip)."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QObject, QRectF
from PySide6.QtGui import QImage
from test_seek_paints import random_seeks

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.pictures.colors import DIVERGING
from lstm_viz.widgets.flow_view import FlowView
from lstm_viz.widgets.paths_view import PathsView
from lstm_viz.widgets.plots import Heatmap
from lstm_viz.widgets.step_window import EDGE, StepWindow, changed_strips
from lstm_viz.widgets.view_docks import show_every_view

VIEWS = {"flow": FlowView, "paths": PathsView}


def test_the_changed_strips_cover_every_point_in_one_window_only():
    # every pair of windows over 0 … 9 (None: empty), at points between the edges too
    spans = [None] + [(a - EDGE, b + EDGE) for a in range(10) for b in range(a, 10)]
    xs = np.arange(-1, 11, 0.25)
    for old in spans:
        for new in spans:
            strips = changed_strips(old, new)
            for x in xs:
                inside = [w is not None and w[0] <= x <= w[1] for w in (old, new)]
                if inside[0] != inside[1]:
                    assert any(a <= x <= b for a, b in strips), (old, new, x)
            if old is not None and new is not None:   # no wider than the edges' moves
                assert sum(b - a for a, b in strips) == pytest.approx(
                    abs(old[0] - new[0]) + abs(old[1] - new[1]))
    assert changed_strips(None, None) == [] and changed_strips((1, 2), (1, 2)) == []


def _on_screen(widget) -> QImage:
    """The pixels ``widget`` shows now, as its window's backing store holds them."""
    top = widget.window()
    at = widget.mapTo(top, widget.rect().topLeft())
    return top.screen().grabWindow(top.winId(), at.x(), at.y(), widget.width(),
                                   widget.height()).toImage()


def _view(cls, session, size, qtbot):
    """A view of ``cls`` on ``session``, shown, its graphics of ``size``."""
    view = cls(session)
    qtbot.addWidget(view)
    view.graphics.setFixedSize(*size)
    view.show()
    return view


def _settle(qapp) -> None:
    """Let a view shown just now lay out (its axes take their labels' room at the first
    paint, then lay out again)."""
    for _ in range(5):
        qapp.processEvents()


def _fresh(view, config, frames, qtbot, qapp) -> QImage:
    """A view like ``view`` built afresh on a new session of ``config``, shown at each of
    ``frames`` (the last the one compared), then given ``view``'s scale: its graphics as
    drawn. (A plot's left axis keeps the room its widest labels took: it is shown first
    at the layers and on the scale ``view`` was.)"""
    s = Session(config)
    size = view.graphics.size().toTuple()
    other = _view(type(view), s, size, qtbot)
    _settle(qapp)
    for frame in frames:
        s.goto(frame)
        _settle(qapp)
    if isinstance(view, FlowView):
        other.log.setChecked(view.log.isChecked())
        _settle(qapp)
    image = _on_screen(other.graphics.viewport())
    other.close()
    return image


# (frame or action, compare with a view built afresh); "log" toggles the flow view's scale,
# "pass" starts another pass of fewer steps (every frame's range new; a view built afresh
# then differs: the axes keep the room the last pass's labels took)
ONE_LAYER = [("fwd:5:h", False), ("loss", False), ("bwd:39:ds", False),
             ("bwd:39:wi_diff", False), ("bwd:30:ds", True), ("bwd:20:ds", False),
             ("bwd:35:ds", False), ("bwd:0:ds", False), ("loss", False), ("bwd:25:ds", False),
             ("log", True), ("bwd:12:ds", False), ("bwd:30:ds", False), ("log", False),
             ("bwd:5:ds", False), ("fwd:3:h", False), ("bwd:38:ds", True),
             ("pass", False), ("bwd:20:ds", False), ("bwd:10:ds", False), ("bwd:27:ds", False)]
TWO_LAYERS = [("bwd:30:L0:ds", False), ("bwd:30:L1:ds", False), ("loss", False),
              ("bwd:39:L1:ds", False), ("bwd:39:L0:ds", False), ("bwd:20:L1:ds", True),
              ("bwd:20:L0:ds", False), ("bwd:33:L0:ds", False), ("bwd:8:L1:ds", False),
              ("log", False), ("bwd:25:L1:ds", True), ("bwd:25:L0:ds", False),
              ("log", False), ("bwd:2:L0:ds", False), ("bwd:36:L1:ds", True),
              ("fwd:4:L0:h", False)]


@pytest.mark.parametrize("layers", [1, 2])
def test_a_seek_leaves_the_flow_and_paths_plots_as_drawn_whole(qtbot, qapp, layers):
    # After each seek or change, the plots as the partial repaints left them are pixel
    # for pixel those of a reference view on its own session at the same frame, drawn
    # whole; at some frames those of a view built afresh too. The window moves forward
    # and back in time, becomes empty (the loss frame, the forward pass; at bwd:39:ds,
    # bottom_diff_s's), changes layer (each its own windows), scale and pass.
    config = default_config("random", steps=40, inputs=6, hidden=8, layers=layers)
    s, ref_session = Session(config), Session(config)
    size = (636, 303)
    shown = {name: _view(cls, s, size, qtbot) for name, cls in VIEWS.items()}
    ref = {name: _view(cls, ref_session, size, qtbot) for name, cls in VIEWS.items()}
    _settle(qapp)
    first = ["bwd:30:L0:ds"] if layers > 1 else []      # layer 0 shown first, as here
    for frame in first:
        for session in (s, ref_session):
            session.goto(frame)
    steps = ONE_LAYER if layers == 1 else TWO_LAYERS
    compared, spans = 0, set()
    for what, afresh in steps:
        if what == "log":
            for flow in (shown["flow"], ref["flow"]):
                flow.log.setChecked(not flow.log.isChecked())
        elif what == "pass":
            config = config.with_(steps=30, seed=config.seed + 1)
            for session in (s, ref_session):
                session.configure(config)
        else:
            s.goto(what)
            ref_session.goto(what)
        qapp.processEvents()
        qapp.processEvents()
        for name, view in shown.items():
            here = _on_screen(view.graphics.viewport())
            ref[name].graphics.viewport().repaint()          # drawn whole
            assert here == _on_screen(ref[name].graphics.viewport()), (what, name)
            if afresh:
                frames = first + [s.frame_text]
                assert here == _fresh(view, config, frames, qtbot, qapp), (what, name)
                compared += 1
            spans.add(tuple(w.span is not None for w in view.windows.values()))
    assert compared == 6
    # the windows were empty, partly empty (bottom_diff_s's, at bwd:39:ds) and all shown
    assert {(False,) * 3, (True, True, False), (True,) * 3, (False,) * 2, (True,) * 2} <= spans


class PaintedArea(QObject):
    """The area (pixels) of each paint of a widget."""

    def __init__(self, widget):
        super().__init__()
        self.areas: list[int] = []
        self.size = widget.width() * widget.height()
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.areas.append(sum(r.width() * r.height() for r in event.region()))
        return False


def test_a_seek_repaints_only_the_strips_its_windows_moved_across(make_window, qapp):
    # A window moved from steps 30 … 39 to 29 … 39 repaints the strip of step 29 (and
    # the cursor's two places); a random seek a part of the plots. Qt repainted the old
    # and the new window whole, and three times the norms' range tall: most of the plots.
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    show_every_view(w)
    s = w.session
    for _ in range(5):
        qapp.processEvents()
    plots = {name: PaintedArea(w.views[name].graphics.viewport()) for name in VIEWS}
    s.goto("bwd:30:ds")
    qapp.processEvents()
    for t in range(29, 20, -1):
        s.goto(f"bwd:{t}:ds")
        qapp.processEvents()
    for name, painted in plots.items():
        share = np.mean(painted.areas[1:]) / painted.size
        assert len(painted.areas) == 10 and share < 0.06, (name, painted.areas)
        painted.areas.clear()
    seeks = sum(1 for _ in random_seeks(s, qapp, 3, 40))
    assert seeks >= 30
    for name, painted in plots.items():
        share = np.sum(painted.areas) / painted.size / seeks
        assert share < {"flow": 0.3, "paths": 0.21}[name], (name, share)



def test_a_seek_leaves_the_grey_boxes_as_drawn_whole(make_window, qapp):
    # The heatmaps' grey boxes (plots.Heatmap.set_pending) are seen through a window too:
    # after each seek the loss-to-cell map and the heatmaps over time, as the partial
    # repaints left them, are what the same plot drawn whole shows. The box's left edge
    # moves back and forth (the backward pass), it goes (the loss frame: nothing pending
    # in the forward maps), comes back on the right (the forward pass) and moves from
    # the right to the left and back (forward to backward).
    w = make_window(Session(default_config("random", steps=12, inputs=4, hidden=6)))
    show_every_view(w)
    _settle(qapp)
    plots = {"loss_to_cell": w.views["loss_to_cell"]}
    plots.update((f"heatmaps{k}", panel) for k, panel in enumerate(w.views["heatmaps"].panels()))
    spans = set()
    for frame in ("bwd:8:ds", "bwd:3:ds", "bwd:5:ds", "bwd:11:ds", "loss", "fwd:4:h",
                  "fwd:9:h", "bwd:2:ds", "fwd:1:h", "bwd:0:ds", "bwd:6:dxc", "bwd:9:ds"):
        w.session.goto(frame)
        _settle(qapp)
        for name, view in plots.items():
            viewport = view.graphics.viewport()
            left = _on_screen(viewport)
            viewport.repaint()                                  # drawn whole
            assert left == _on_screen(viewport), (frame, name)
            spans.add((name, view.map.pending_span()))
    # each plot's box moved, and was there and not
    for name in plots:
        seen = [span for n, span in spans if n == name]
        assert None in seen and len(seen) >= 4, (name, seen)


def _heatmap_shown(qtbot, qapp, steps: list[tuple[int, tuple | None]]) -> QImage:
    """A heatmap shown through ``steps`` (``(units, pending span)``: an image of 12
    steps by that many units, then the span greyed out) as its window holds it."""
    graphics = pg.GraphicsLayoutWidget()
    qtbot.addWidget(graphics)
    graphics.setFixedSize(360, 240)
    h = Heatmap(graphics.ci, 0, 0)
    graphics.show()
    for units, span in steps:
        image = np.linspace(-1, 1, 12 * units, dtype=np.float32).reshape(12, units)
        h.set_image(image, QRectF(-0.5, 0, 12, units), DIVERGING, (-1, 1))
        h.set_pending(*(span or (None,)))
        _settle(qapp)
    return _on_screen(graphics.viewport())


def test_the_grey_box_follows_the_image_when_only_its_height_changes(qtbot, qapp):
    # A new pass of more units (another quantity, a taller page) at a frame with the
    # same steps pending: the span is the same, the image taller, and the box must be
    # as tall as the new image (its frame follows the image's rectangle).
    span = (4.5, 11.5)
    again = _heatmap_shown(qtbot, qapp, [(3, span), (8, span)])
    fresh = _heatmap_shown(qtbot, qapp, [(8, span)])
    assert again == fresh


def _window_plot_shown(qtbot, qapp, frames: list[tuple[float, float]]) -> QImage:
    """A plot of a curve at y 150 over steps 0 … 9 seen through a StepWindow showing
    steps 2 … 7, given the frames ``frames`` (y0, y1) in turn, as its window holds it."""
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.setFixedSize(300, 200)
    widget.setRange(xRange=(-0.5, 9.5), yRange=(100, 200), padding=0)
    window = StepWindow()
    widget.addItem(window)
    curve = pg.PlotDataItem(np.arange(10.0), np.full(10, 150.0),
                           pen=pg.mkPen((255, 0, 0), width=3))
    curve.setParentItem(window)
    widget.show()
    for y0, y1 in frames:
        window.set_frame(-1.0, 10.0, y0, y1)
        window.show_steps(2, 8)
        _settle(qapp)
    return _on_screen(widget.viewport())


def test_a_new_frame_moves_the_window_with_it(qtbot, qapp):
    # The values' range changes (another pass, the log scale) far from the old one: the
    # window's bounding rectangle and shape follow it, the curve shows as in a window
    # given that frame alone (a shape kept from the first frame clipped it all away).
    again = _window_plot_shown(qtbot, qapp, [(0.0, 1.0), (100.0, 200.0)])
    fresh = _window_plot_shown(qtbot, qapp, [(100.0, 200.0)])
    assert again == fresh
    blank = _window_plot_shown(qtbot, qapp, [(0.0, 1.0)])
    assert fresh != blank                               # the curve shows


def test_steps_shown_again_after_a_span_are_shown(qapp):
    # show_steps and show_span set the same window: steps asked for again after another
    # span was shown are shown (an early return on the steps last asked for kept the span)
    window = StepWindow()
    window.set_frame(-1.0, 10.0, 0.0, 1.0)
    window.show_steps(2, 5)
    window.show_span(None)
    window.show_steps(2, 5)
    assert window.span == (2 - EDGE, 4 + EDGE)
