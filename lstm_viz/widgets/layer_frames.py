"""Each layer's curves kept in one plot, drawn from their pixmaps when their layer comes
back into view (a stacked model's layer in view follows the cursor: a random seek changes
it every other time).

A curve drawn from a device pixmap (``DeviceCoordinateCache``) is drawn again from its
path whenever the transform from its coordinates to the screen changes, and Qt throws the
pixmap away when the item is hidden. Each layer has its own y range, so giving the plot
the layer's range re-drew every curve; showing one layer's items and hiding the other's
threw their pixmaps away. Here the plot's view always shows the unit frame 0 … 1 in y and
each layer's items sit in a ``LayerFrame``, whose transform maps the layer's range
lo … hi onto it, ``v = (y - lo) / (hi - lo)``; the plot's axis (a ``FramedAxis``) labels
the frame with the layer's values, ``y = lo + v (hi - lo)``. Each item keeps one
transform to the screen for the pass, and a layer out of view is made transparent
(opacity 0: Qt paints nothing of it and keeps its pixmaps), not hidden.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from .kept_axis import KeptAxis
from .plots import LogAxis, StepAxis

UNIT = (0.0, 1.0)                       # the view's y range, whatever the layer


class Framed:
    """For a pyqtgraph AxisItem on the left or right of a plot whose view shows the unit
    frame in y (mixed in before it): it labels the view's range as the layer's values."""

    frame = UNIT

    def set_frame(self, lo: float, hi: float) -> None:
        """The values the view's 0 and 1 stand for."""
        if (lo, hi) != self.frame:
            self.frame = (lo, hi)
            view = self.linkedView()             # type: ignore[attr-defined]
            if view is not None:
                self.linkedViewChanged(view)

    def linkedViewChanged(self, view=None, newRange=None):
        if self.orientation in ("left", "right"):       # type: ignore[attr-defined]
            if newRange is None:
                newRange = view.viewRange()[1]
            lo, hi = self.frame
            newRange = [lo + v * (hi - lo) for v in newRange]
        super().linkedViewChanged(view, newRange)         # type: ignore[misc]


class FramedAxis(Framed, KeptAxis):
    """A plain axis labelling the layer's values (``Framed``)."""


class FramedLogAxis(Framed, LogAxis):
    """A log-scale axis labelling the layer's values (``Framed``)."""


def framed_plot(layout: pg.GraphicsLayout, row: int, log: bool = False) -> pg.PlotItem:
    """A plot at ``row`` of ``layout`` over time steps, whose view shows the unit frame in
    y (its left axis a ``FramedAxis``; with ``log``, labelled on a log scale)."""
    left = FramedLogAxis("left") if log else FramedAxis("left")
    plot = layout.addPlot(row=row, col=0, axisItems={"bottom": StepAxis("bottom"),
                                                     "left": left})
    set_log(plot, log)
    return plot


def set_log(plot: pg.PlotItem, on: bool) -> None:
    """Label ``plot``'s y axis on a log scale or not; its view keeps its x range and the
    unit frame (pyqtgraph's log switch turns auto-ranging on)."""
    x = plot.vb.viewRange()[0]
    plot.setLogMode(y=on)
    plot.setRange(xRange=x, yRange=UNIT, padding=0)


class LayerFrame(QGraphicsRectItem):
    """The parent of one layer's items in a plot with a unit frame (``framed_plot``): it
    maps the layer's y range onto the frame, and shows or hides them by opacity (hiding
    an item throws its pixmap away). It draws nothing itself."""

    def __init__(self, plot: pg.PlotItem):
        super().__init__()
        self.setPen(pg.mkPen(None))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.range: tuple[float, float] | None = None
        self.plot = plot
        self.shown = True
        plot.addItem(self, ignoreBounds=True)           # the ranges are set per pass

    def set_range(self, lo: float, hi: float) -> None:
        """The layer's values lo … hi fill the frame."""
        if (lo, hi) == self.range:
            return
        self.range = (lo, hi)
        scale = 1.0 / (hi - lo) if hi > lo else 1.0
        self.setTransform(QTransform(1.0, 0.0, 0.0, scale, 0.0, -lo * scale))
        if self.shown:
            self.plot.getAxis("left").set_frame(lo, hi)

    def show_layer(self, on: bool) -> None:
        if on != self.shown:
            self.shown = on
            self.setOpacity(1.0 if on else 0.0)
            if on and self.range is not None:      # a plot's unit frame: its labels
                self.plot.getAxis("left").set_frame(*self.range)

    def remove(self) -> None:
        self.plot.removeItem(self)
