"""A clipping window over a plot's curves that shows only the steps computed at the frame
(the gradient-flow and path views: each curve holds the whole pass, drawn once into a
device pixmap, and a seek moves the window), or over a heatmap's grey box only the steps
not computed yet (``plots.Heatmap.set_pending``: ``show_span``).

Qt clips an item's children to its ``shape()`` (``ItemClipsChildrenToShape``), asked again
at every paint; it repaints an item over its ``boundingRect()``. A rectangle item whose
rectangle was the window had Qt repaint the old and the new window whole at every move
(``setRect`` is a geometry change): half the plot for a random seek. Here the bounding
rectangle is the plot's frame (the pass's steps, three times its values' range tall: the
window clips in x only) and stays put while the window moves; the shape is the window.
A move asks Qt to repaint only the strips between the old and the new edges: a point
outside both keeps its pixel, a point inside both too (its curve's pixmap has not
changed: only an ``update()`` of the curve itself, or a new transform, redraws it), so
only the pixels between an old and a new edge can differ. The strips span the values'
range in y, which is all the plot's view shows of its curves (the frame's range,
``layer_frames.py``; Qt widens each repainted rectangle by two pixels).

The window is a rectangle item that draws nothing (no pen, no brush) rather than one
with no contents: Qt drops the repaint requests of an item with no contents.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

# The window reaches this far (in steps) either side of its first and last steps: the
# segment into its first step from the step before (not computed) stays clipped away.
EDGE = 1e-3


class StepWindow(QGraphicsRectItem):
    """Shows its children over the steps lo … hi-1 only (``show_steps``), inside the
    frame of x0 … x1 by y0 … y1 (``set_frame``): ``rect()`` is the fixed bounding
    rectangle, ``span`` the window's x interval (None: empty, nothing shows)."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setPen(pg.mkPen(None))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.values = (0.0, 1.0)            # the y range the plot shows
        self.span: tuple[float, float] | None = None
        self._shape = QPainterPath()        # empty: clips every child away

    def set_frame(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """The plot's frame: its steps x0 … x1 and the values y0 … y1 its view shows. A
        new frame is a geometry change (Qt repaints the old and the new rectangle)."""
        height = (y1 - y0) if y1 > y0 else 1.0
        self.values = (y0, y0 + height)
        bounds = QRectF(x0, y0 - height, x1 - x0, 3 * height)
        if bounds != self.rect():
            self.setRect(bounds)            # prepareGeometryChange
        self._reshape()

    def show_steps(self, lo: int, hi: int) -> None:
        """Steps lo … hi-1 (none when hi <= lo): repaint the strips whose pixels change."""
        self.show_span((lo - EDGE, hi - 1 + EDGE) if hi > lo else None)

    def show_span(self, span: tuple[float, float] | None) -> None:
        """The window over x = span[0] … span[1] (None: empty): repaint the strips whose
        pixels change."""
        if span == self.span:
            return
        old, self.span = self.span, span
        self._reshape()
        y0, y1 = self.values
        for a, b in changed_strips(old, self.span):
            self.update(QRectF(a, y0, b - a, y1 - y0))

    def points(self, t, v) -> tuple[np.ndarray, np.ndarray]:
        """The points (``t``, ``v``) of a curve that the window shows (none if ``t`` is
        None or the window empty)."""
        if t is None or self.span is None:
            return np.zeros(0), np.zeros(0)
        keep = (t >= self.span[0]) & (t <= self.span[1])
        return t[keep], v[keep]

    def _reshape(self) -> None:
        path = QPainterPath()
        if self.span is not None:
            bounds = self.rect()
            left, right = self.span
            path.addRect(QRectF(left, bounds.top(), right - left, bounds.height()))
        self._shape = path

    def shape(self) -> QPainterPath:
        return self._shape


def changed_strips(old: tuple[float, float] | None,
                   new: tuple[float, float] | None) -> list[tuple[float, float]]:
    """The x intervals covering every point inside one of the windows ``old`` and
    ``new`` (None: empty) but not the other: a point left of both left edges or right of
    both right edges is outside both, one between the larger left and the smaller right
    edge inside both."""
    if old == new:
        return []
    if old is None or new is None:
        return [new] if old is None else [old]
    strips = []
    for a, b in ((old[0], new[0]), (old[1], new[1])):
        if a != b:
            strips.append((min(a, b), max(a, b)))
    return strips
