"""The path decomposition view: how much of ‖ds(t)‖ arrived along the carousel and how much
came back through h, over time, as of the frame, for the layer in view.

ds(t) = carousel(t) + through_h(t) (docs/equations.md §11); the numbers are
``pictures/paths.py``'s: the top plot the two shares (summing to 1), the bottom one the
norms ‖carousel(t)‖, ‖through_h(t)‖ and ‖ds(t)‖ on a log scale. Steps whose ds is not
computed yet at the frame are not drawn. On an intervened pass the split is that pass's
own (a cut h-path leaves the carousel alone: share 1).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy

from ..pictures.paths import PATH_CURVES, PathShares
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
        for plot in (self.shares, self.norms):
            quiet_plot(plot)
            plot.showGrid(x=True, y=True, alpha=0.25)
            line = pg.InfiniteLine(angle=90, pen=CURSOR_PEN)
            plot.addItem(line)
            self.cursor_lines.append(line)
        for name in PATH_CURVES:
            self.share_curves[name] = self.shares.plot([], [], pen=PENS[name])
            self.legend.addItem(self.share_curves[name], LABELS[name])
        for name in (*PATH_CURVES, "ds"):
            self.norm_curves[name] = self.norms.plot([], [], pen=PENS[name])
        self.legend.addItem(self.norm_curves["ds"], LABELS["ds"])
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)        # a new frame's text moves nothing
        self.stack(top, self.graphics)
        self._pictures: dict = {}
        self._shown: tuple | None = None        # (picture, frame index) on screen
        self.state = None

    def trace_changed(self):
        """Another pass or another layer in view: keep the shares of every layer of the
        pass shown (the layer in view follows the cursor, so a seek changes it often),
        drop those of any other pass."""
        layers = self.session.layers
        self._shown = None
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
        st = picture.state(index)
        self.state = st
        T = s.trace.steps
        self.shares.setXRange(-0.5, T - 0.5, padding=0.01)
        for name, c in self.share_curves.items():
            c.setData(st.t, st.shares[name], connect="finite")
        for name, c in self.norm_curves.items():         # zeros: gaps on the log scale
            v = st.norms[name]
            c.setData(st.t, np.where(v > 0, v, np.nan).astype(np.float32), connect="finite")
        for line in self.cursor_lines:
            line.setValue(st.cursor)
        # New data moves the norms' auto range: settle it now, not in the paint (pyqtgraph's
        # prepareForPaint), where the range change would queue a second paint of the plots.
        for plot in (self.shares, self.norms):
            plot.vb.prepareForPaint()
        lo, hi = st.known
        if hi <= lo:
            self.info.setText("ds: not computed yet (backward pass)")
            return
        t = st.cursor if lo <= st.cursor < hi else lo
        k = t - lo
        layer = f"layer {s.view_layer} · " if s.num_layers > 1 else ""
        self.info.setText(f"{layer}t = {t}: carousel {st.shares['carousel'][k]:.3f}, "
                          f"through h {st.shares['through_h'][k]:.3f} of "
                          f"‖ds‖ = {st.norms['ds'][k]:.4g}")

    def csv(self) -> str:
        return csv_text(*self.picture().table(self.session.view_index))
