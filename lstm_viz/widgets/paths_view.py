"""The path decomposition view: how much of ‖ds(t)‖ arrived along the carousel and how much
came back through h, over time, as of the frame, for the layer in view.

ds(t) = carousel(t) + through_h(t) (docs/equations.md §11); the numbers are
``pictures/paths.py``'s: the top plot the two shares (summing to 1), the bottom one the
norms ‖carousel(t)‖, ‖through_h(t)‖ and ‖ds(t)‖ on a log scale. Steps whose ds is not
computed yet at the frame are not drawn. On an intervened pass the split is that pass's
own (a cut h-path leaves the carousel alone: share 1).

As in the gradient-flow view, each curve holds the whole pass, set once per pass and
layer with the axes' ranges, inside a clipping window that a frame only moves to the
steps computed: a seek re-ranges no axis and rebuilds no path.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QHBoxLayout, QSizePolicy

from ..pictures.paths import NORM_CURVES, PATH_CURVES, PathShares
from ..pictures.tables import csv_text
from .plain import PlainLabel
from .plots import CURSOR_PEN, MIN_PLOT_HEIGHT, LogAxis, StepAxis, quiet_plot
from .steady import steady_box, steady_height
from .view_base import VisibleView

PENS = {"carousel": pg.mkPen((40, 150, 60), width=1),
        "through_h": pg.mkPen((40, 90, 200), width=1),
        "ds": pg.mkPen((200, 40, 40), width=1, style=Qt.PenStyle.DashLine)}
LABELS = {"carousel": "carousel", "through_h": "through h", "ds": "‖ds‖"}


class PathsView(VisibleView):
    """Carousel share and h-path share of ‖ds(t)‖, and the three norms."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip("ds(t) = carousel(t) + through_h(t): what entered from outside and "
                        "came along the carousel alone, and what came back through h at "
                        "least once (docs/equations.md §11)")
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(2 * MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.legend = pg.LegendItem(colCount=3, labelTextSize="8pt", frame=False)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.graphics.ci.layout.setRowFixedHeight(0, 20)
        self.shares = self.graphics.addPlot(row=1, col=0,
                                            axisItems={"bottom": StepAxis("bottom")})
        self.norms = self.graphics.addPlot(row=2, col=0, axisItems={
            "bottom": StepAxis("bottom"), "left": LogAxis("left")})
        self.shares.setLabel("left", "share of ‖ds‖")
        self.norms.setLabel("left", "norm")
        self.norms.setLabel("bottom", "time step t")
        self.norms.setXLink(self.shares)
        self.norms.setLogMode(y=True)
        self.shares.setYRange(0, 1, padding=0.02)
        self.share_curves, self.norm_curves, self.cursor_lines = {}, {}, []
        self.windows = {}                       # per plot: the steps known, clipping
        for plot in (self.shares, self.norms):
            quiet_plot(plot)
            plot.showGrid(x=True, y=True, alpha=0.25)
            window = QGraphicsRectItem()
            window.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
            window.setPen(pg.mkPen(None))
            plot.addItem(window, ignoreBounds=True)        # ranges are set per pass
            self.windows[plot] = window
            line = pg.InfiniteLine(angle=90, pen=CURSOR_PEN)
            plot.addItem(line)
            self.cursor_lines.append(line)
        for name in PATH_CURVES:
            self.share_curves[name] = self._curve(self.shares, name)
            self.legend.addItem(self.share_curves[name], LABELS[name])
        for name in NORM_CURVES:
            self.norm_curves[name] = self._curve(self.norms, name)
            self.norm_curves[name].setLogMode(False, True)  # the window's child, not the plot's
        self.legend.addItem(self.norm_curves["ds"], LABELS["ds"])
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)        # a new frame's text moves nothing
        self.stack(top, self.graphics)
        self._pictures: dict = {}
        self._shown: tuple | None = None        # (picture, frame index) on screen
        self._built: PathShares | None = None   # the picture whose curves are set
        self.state = None

    def _curve(self, plot: pg.PlotItem, name: str) -> pg.PlotDataItem:
        """A curve inside ``plot``'s window, drawn once per pass into a pixmap: a frame
        moves the window over it (and the cursor across it), which then costs a copy,
        not a redraw of the path."""
        c = pg.PlotDataItem(pen=PENS[name])
        c.setParentItem(self.windows[plot])
        c.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return c

    def trace_changed(self):
        """Another pass or another layer in view: keep the shares of every layer of the
        pass shown (the layer in view follows the cursor, so a seek changes it often),
        drop those of any other pass."""
        layers = self.session.layers
        self._shown = self._built = None
        self._pictures = {layer: p for layer, p in self._pictures.items()
                          if layer < layers.count and p.data is layers.data(layer)}

    def picture(self) -> PathShares:
        """The layer in view's shares (computed once per pass and layer)."""
        data, layer = self.session.data, self.session.view_layer
        found = self._pictures.get(layer)
        if found is None or found.data is not data:
            found = self._pictures[layer] = PathShares(data, layer)
        return found

    def refresh(self):
        s = self.session
        picture, index = self.picture(), s.view_index
        if (picture, index) == self._shown:
            return                  # a layer switch refreshes twice (layer, then frame)
        self._shown = (picture, index)
        if picture is not self._built:
            self._build(picture)
        st = picture.state(index)
        self.state = st
        lo, hi = st.known
        for window in self.windows.values():
            # Steps lo … hi-1, from just before lo: the segment into lo from lo-1 (not
            # computed) stays clipped away, the curve from lo on shows. None known: an
            # empty window (hidden, it would hide the curves, and the legend would show
            # them as switched off).
            rect = window.rect()
            rect.setLeft(lo - 1e-3)
            rect.setRight(hi - 1 + 1e-3 if hi > lo else lo - 1e-3)
            if rect != window.rect():
                window.setRect(rect)
        for line in self.cursor_lines:
            line.setValue(st.cursor)
        if hi <= lo:
            self.info.setText("ds: not computed yet (backward pass)")
            return
        t = st.cursor if lo <= st.cursor < hi else lo
        k = t - lo
        layer = f"layer {s.view_layer} · " if s.num_layers > 1 else ""
        self.info.setText(f"{layer}t = {t}: carousel {st.shares['carousel'][k]:.3f}, "
                          f"through h {st.shares['through_h'][k]:.3f} of "
                          f"‖ds‖ = {st.norms['ds'][k]:.4g}")

    def _build(self, picture: PathShares) -> None:
        """Once per pass and layer: the axes' ranges (the steps, the norms of the whole
        pass: ``pictures/paths.py``) and the whole curves; the windows span the ranges'
        height (and more) so that they clip in x only."""
        self._built = picture
        T = picture.data.trace.steps
        self.shares.setXRange(-0.5, T - 0.5, padding=0.01)
        self.norms.setYRange(*picture.norm_range(), padding=0)
        v, log_norms = picture.values(), picture.log_norms()
        for name, c in self.share_curves.items():
            c.setData(picture.t, v[name], connect="finite")
        for name, c in self.norm_curves.items():
            c.setData(picture.t, log_norms[name], connect="finite")
        for plot, window in self.windows.items():
            y0, y1 = plot.vb.viewRange()[1]
            rect = window.rect()
            window.setRect(QRectF(rect.left(), y0 - (y1 - y0), rect.width(), 3 * (y1 - y0)))
        # New ranges (another pass or layer): settle them now, not in the paint (pyqtgraph's
        # prepareForPaint), where the range change would queue a second paint of the plots.
        for plot in (self.shares, self.norms):
            plot.vb.prepareForPaint()

    def shown(self, plot: pg.PlotItem, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (t, value) points of a curve of ``plot`` inside its window: what the frame
        shows."""
        c = (self.share_curves if plot is self.shares else self.norm_curves)[name]
        window, t, v = self.windows[plot], c.xData, c.yData
        if t is None:
            return np.zeros(0), np.zeros(0)
        keep = (t >= window.rect().left()) & (t <= window.rect().right())
        return t[keep], v[keep]

    def csv(self) -> str:
        return csv_text(*self.picture().table(self.session.view_index))
