"""The path decomposition view: how much of ‖ds(t)‖ arrived along the carousel and how much
came back through h, over time, as of the frame, for the layer in view.

ds(t) = carousel(t) + through_h(t) (docs/equations.md §11); the numbers are
``pictures/paths.py``'s: the top plot the two shares (summing to 1), the bottom one the
norms ‖carousel(t)‖, ‖through_h(t)‖ and ‖ds(t)‖ on a log scale. Steps whose ds is not
computed yet at the frame are not drawn. On an intervened pass the split is that pass's
own (a cut h-path leaves the carousel alone: share 1).

As in the gradient-flow view, each curve holds the whole pass, set once per pass and
layer with the axes' ranges, inside a clipping window that a frame only moves to the
steps computed (``step_window.py``): a seek re-ranges no axis and rebuilds no path.
Each layer of a stacked model has its own curves, kept (transparent) while another layer
is in view, each layer's norms in a frame of their own range (``layer_frames.py``): the
layer in view follows the cursor, so a random seek changes it every other time, and shows
the other layer's curves from their pixmaps.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QSizePolicy

from ..pictures.paths import NORM_CURVES, PATH_CURVES, PathShares
from ..pictures.tables import csv_text
from .kept_axis import KeptAxis
from .layer_frames import LayerFrame, framed_plot
from .plain import PlainLabel
from .plots import MIN_PLOT_HEIGHT, CursorLine, StepAxis, quiet_plot
from .steady import steady_box, steady_height
from .step_window import StepWindow
from .view_base import VisibleView

PENS = {"carousel": pg.mkPen((40, 150, 60), width=1),
        "through_h": pg.mkPen((40, 90, 200), width=1),
        "ds": pg.mkPen((200, 40, 40), width=1, style=Qt.PenStyle.DashLine)}
LABELS = {"carousel": "carousel", "through_h": "through h", "ds": "‖ds‖"}


# The shares' y range (the windows clip in x only, ``step_window.py``).
SHARE_RANGE = (0.0, 1.0)


class _LayerCurves:
    """One layer's curves: per plot a clipping window (the steps known at the frame)
    with the curves in it, each drawn once into a device pixmap (a frame moves the window
    over it and the cursor across it, which then costs a copy, not a redraw of the
    path)."""

    def __init__(self, shares: pg.PlotItem, norms: pg.PlotItem):
        self.picture: PathShares | None = None
        self.frames: dict = {}                  # plot -> the layer's frame in it
        self.windows: dict = {}                 # plot -> its window
        self.curves: dict = {}                  # plot -> {name: curve}
        for plot, names in ((shares, PATH_CURVES), (norms, NORM_CURVES)):
            frame = self.frames[plot] = LayerFrame(plot)
            frame.show_layer(False)             # until its layer is in view
            window = self.windows[plot] = StepWindow(frame)
            self.curves[plot] = {}
            for name in names:
                c = pg.PlotDataItem(pen=PENS[name])
                c.setParentItem(window)
                c.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                # No dynamic range limit (it pulls in points beyond 1e6 view heights,
                # which the whole-pass ranges never leave): with it each new y range made
                # every curve compute its points and path again.
                c.setDynamicRangeLimit(None)
                if plot is norms:
                    c.setLogMode(False, True)   # the window's child, not the plot's
                self.curves[plot][name] = c
        self._norms = norms

    def set_picture(self, picture: PathShares) -> None:
        """The whole pass's curves of ``picture``, the norms' frame their range; each
        window's frame the pass's steps by its plot's range (``step_window.py``)."""
        self.picture = picture
        v, log_norms = picture.values(), picture.log_norms()
        self.frames[self._norms].set_range(*picture.norm_range())
        for plot, curves in self.curves.items():
            values = log_norms if plot is self._norms else v
            for name, c in curves.items():
                c.setData(picture.t, values[name], connect="finite")
            y0, y1 = picture.norm_range() if plot is self._norms else SHARE_RANGE
            self.windows[plot].set_frame(-1.0, float(len(picture.t)), y0, y1)

    def show_steps(self, lo: int, hi: int) -> None:
        """Steps lo … hi-1 (``step_window.py``)."""
        for window in self.windows.values():
            window.show_steps(lo, hi)

    def set_visible(self, on: bool) -> None:
        for frame in self.frames.values():
            frame.show_layer(on)

    @property
    def shown(self) -> bool:
        return self.frames[self._norms].shown

    def remove(self) -> None:
        for frame in self.frames.values():
            frame.remove()


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
        # a kept axis on the left too: its bounding rectangle is kept (kept_axis.py)
        self.shares = self.graphics.addPlot(row=1, col=0,
                                            axisItems={"bottom": StepAxis("bottom"),
                                                       "left": KeptAxis("left")})
        self.norms = framed_plot(self.graphics, 2, log=True)   # each layer's own range
        self.shares.setLabel("left", "share of ‖ds‖")
        self.norms.setLabel("left", "norm")
        self.norms.setLabel("bottom", "time step t")
        self.norms.setXLink(self.shares)
        self.shares.setYRange(*SHARE_RANGE, padding=0.02)
        self.cursor_lines = []
        for plot in (self.shares, self.norms):
            quiet_plot(plot)
            plot.showGrid(x=True, y=True, alpha=0.25)
            line = CursorLine()
            plot.addItem(line)
            self.cursor_lines.append(line)
        self._layers: dict[int, _LayerCurves] = {}
        self._hidden: set = set()           # (plot, name) switched off in the legend
        self._current = self._layer_curves(0)
        self._current.set_visible(True)
        # The legend's entries stand for a curve in every layer: each is drawn from an
        # item of its own (one in a hidden layer's window would be drawn as switched
        # off), and a click on it shows or hides that curve in every layer, as
        # pyqtgraph's own entry did for its one curve.
        self._samples: dict = {}            # legend item -> (plot, name)
        for plot, name in ((self.shares, "carousel"), (self.shares, "through_h"),
                           (self.norms, "ds")):
            sample = pg.PlotDataItem(pen=PENS[name])
            self._samples[sample] = (plot, name)
            self.legend.addItem(sample, LABELS[name])
        self.legend.sigSampleClicked.connect(self._legend_clicked)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)        # a new frame's text moves nothing
        self.stack(top, self.graphics)
        self._pictures: dict = {}
        self._shown: tuple | None = None        # (picture, frame index) on screen
        self._ranges: int | None = None         # the steps on the axes
        self.state = None

    # the curves of the layer in view
    @property
    def windows(self) -> dict:
        return self._current.windows

    @property
    def share_curves(self) -> dict:
        return self._current.curves[self.shares]

    @property
    def norm_curves(self) -> dict:
        return self._current.curves[self.norms]

    def _layer_curves(self, layer: int) -> _LayerCurves:
        found = self._layers.get(layer)
        if found is None:
            found = self._layers[layer] = _LayerCurves(self.shares, self.norms)
            for plot, name in self._hidden:
                found.curves[plot][name].setVisible(False)
        return found

    def _legend_clicked(self, sample) -> None:
        plot, name = self._samples[sample]
        on = sample.isVisible()             # pyqtgraph's entry has just switched it
        (self._hidden.discard if on else self._hidden.add)((plot, name))
        for curves in self._layers.values():
            curves.curves[plot][name].setVisible(on)

    def trace_changed(self):
        """Another pass or another layer in view: keep the shares of every layer of the
        pass shown (the layer in view follows the cursor, so a seek changes it often),
        drop those of any other pass, and the curves of layers the pass does not have."""
        layers = self.session.layers
        self._shown = None
        self._pictures = {layer: p for layer, p in self._pictures.items()
                          if layer < layers.count and p.data is layers.data(layer)}
        for layer in [k for k in self._layers if k >= max(1, layers.count)]:
            self._layers.pop(layer).remove()
        if self._current not in self._layers.values():
            self._current = self._layer_curves(0)       # shown by the refresh to come
            self._current.set_visible(True)

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
        curves = self._layer_curves(picture.layer)
        if curves.picture is not picture:
            curves.set_picture(picture)
        if curves is not self._current:
            self._current.set_visible(False)
            curves.set_visible(True)
            self._current = curves
        self._set_ranges(picture)
        st = picture.state(index)
        self.state = st
        lo, hi = st.known
        curves.show_steps(lo, hi)
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

    def _set_ranges(self, picture: PathShares) -> None:
        """The steps' range, once per pass (the norms' range of the whole pass,
        ``pictures/paths.py``, is their layer's frame)."""
        T = picture.data.trace.steps
        if T == self._ranges:
            return
        self._ranges = T
        self.shares.setXRange(-0.5, T - 0.5, padding=0.01)
        # A new range (another pass): settle it now, not in the paint (pyqtgraph's
        # prepareForPaint), where the range change would queue a second paint of the plots.
        for plot in (self.shares, self.norms):
            plot.vb.prepareForPaint()

    def shown(self, plot: pg.PlotItem, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (t, value) points of a curve of ``plot`` inside its window: what the frame
        shows."""
        c = (self.share_curves if plot is self.shares else self.norm_curves)[name]
        if not self._current.shown:
            return np.zeros(0), np.zeros(0)
        return self.windows[plot].points(c.xData, c.yData)

    def csv(self) -> str:
        return csv_text(*self.picture().table(self.session.view_index))
