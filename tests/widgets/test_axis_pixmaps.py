"""Two windows on the same pass draw the same axes and colour bars: what an axis shows
from its device pixmap (``plots.cached_axis``) does not depend on how its window was laid
out on the way. The heatmaps' backward colour bar of the second window was first painted
while its dock was still short, and after the seek to bwd:8:ds it showed the labels of
that shorter bar over its own (two "-0.4", the others tighter): Qt had repainted only the
strip the grown dock uncovered (``kept_axis.KeptPictures``)."""

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.kept_axis import KeptPictures
from lstm_viz.widgets.view_docks import show_every_view


def _settle(qapp):
    for _ in range(5):
        qapp.processEvents()


def _cached_axes(window) -> list:
    """(name, viewport, axis) of each shown axis drawn from a device pixmap, view by view,
    plot by plot, in the order of their place in the view."""
    found = []
    for name, view in window.views.items():
        for k, graphics in enumerate(view.findChildren(pg.GraphicsView)):
            if not graphics.isVisible() or graphics.scene() is None:
                continue
            axes = [item for item in graphics.scene().items()
                    if isinstance(item, KeptPictures) and item.isVisible()
                    and item.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache]
            axes.sort(key=lambda a: a.sceneBoundingRect().getRect())
            found += [(f"{name}[{k}] {type(a).__name__} {a.orientation}", graphics, a)
                      for a in axes]
    return found


def _shown(graphics, axis):
    """The pixels ``axis`` shows in its view, with its overflowing labels."""
    rect = graphics.mapFromScene(axis.sceneBoundingRect()).boundingRect()
    return graphics.viewport().grab(rect & graphics.viewport().rect()).toImage()


def test_two_windows_on_the_same_pass_draw_the_same_axes_and_colour_bars(make_window, qapp):
    config = default_config("random", steps=12, inputs=4, hidden=6)
    windows = [make_window(Session(config), settings_name=f"{k}.ini") for k in "ab"]
    for window in windows:
        show_every_view(window)
    _settle(qapp)
    first, second = (_cached_axes(window) for window in windows)
    assert [n for n, _, _ in first] == [n for n, _, _ in second]
    assert len(first) >= 20
    heatmap_bar = windows[1].views["heatmaps"].panels()[1].map.bar.axis
    assert heatmap_bar in [a for _, _, a in second]
    for frame in ("bwd:8:ds", "fwd:4:h", "loss", "bwd:2:ds"):
        for window in windows:
            window.session.goto(frame)
        _settle(qapp)
        for (name, g1, a1), (_, g2, a2) in zip(first, second, strict=True):
            assert a1.geometry() == a2.geometry() and a1.range == a2.range, (frame, name)
            assert _shown(g1, a1) == _shown(g2, a2), (frame, name)
