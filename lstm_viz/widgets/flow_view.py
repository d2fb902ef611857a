"""Gradient flow through time: per-step gradient norms with the forget-gate product along
the carousel, and the loss-to-cell matrix ‖∂l(k)/∂s(t)‖ (computed on demand, in slices
between the window's other work, and cached).

Curves show only the steps computed at the frame (they grow from T-1 down in the backward
pass); the cursor line follows the frame. Each curve holds the whole pass, set once per
trace, inside a clipping window that a frame only moves to the steps computed: no frame
rebuilds a 1000-point path. Numbers come from ``pictures/flow.py`` and
``pictures/contributions.py``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
)

from ..pictures.colors import SEQUENTIAL
from ..pictures.flow import FLOW_CURVES
from ..pictures.tables import csv_text
from ..pictures.whatif import other_pass_ds
from .plain import PlainLabel
from .plots import (
    CURVE_CURSOR_PEN,
    MAX_KEPT,
    MIN_PLOT_HEIGHT,
    Heatmap,
    KeptAxis,
    LogAxis,
    StepAxis,
    cmap_for,
    quiet_plot,
)
from .progress import BackgroundJob
from .steady import steady_box, steady_height
from .view_base import VisibleView, frame_for_step

# Thin (width 1) pens: Qt draws them without stroking; a 2 px pen made the flow view the
# costliest panel to repaint (5 ms against 2 ms at T=1000, bench/bench_gui.py).
CURVE_PENS = {"ds": pg.mkPen((200, 40, 40), width=1),
              "top_diff_h": pg.mkPen((40, 90, 200), width=1),
              "bottom_diff_s": pg.mkPen((40, 150, 60), width=1, style=Qt.PenStyle.DashLine)}
OTHER_PEN = pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DotLine)
CURVE_LABELS = {"ds": "‖ds(t)‖", "top_diff_h": "‖top_diff_h(t)‖",
                "bottom_diff_s": "‖bottom_diff_s(t)‖"}


class Band(pg.FillBetweenItem):
    """The fill between two curves, rebuilt when its view has set both (``updatePath``)
    or given again from the view's cache (``setPath``). pyqtgraph's own rebuilt it on each
    curve's change: twice per pass, the first time against the other curve's old data,
    and each rebuild was the costliest part of showing another layer's pass."""

    def curveChanged(self):
        pass


class FlowView(VisibleView):
    """‖ds‖, ‖top_diff_h‖, ‖bottom_diff_s‖ against t, and log10 ∏ f from the last step."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.log = QCheckBox("log scale", self)
        self.log.setChecked(True)
        self.log.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.log.toggled.connect(self._on_log)
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(2 * MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        # The legend is a row of its own above the plots: inside the data area it covered
        # the curves. The time axes tick whole steps only.
        self.legend = pg.LegendItem(colCount=len(FLOW_CURVES), labelTextSize="8pt",
                                    frame=False, horSpacing=12)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.legend.layout.setContentsMargins(0, 0, 0, 0)
        self.graphics.ci.layout.setRowFixedHeight(0, 20)
        self.norms = self.graphics.addPlot(row=1, col=0,
                                           axisItems={"bottom": StepAxis("bottom"),
                                                      "left": LogAxis("left")})
        self.forget = self.graphics.addPlot(row=2, col=0,
                                            axisItems={"bottom": StepAxis("bottom"),
                                                       "left": KeptAxis("left")})
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        self.graphics.ci.layout.setRowStretchFactor(2, 2)
        for p in (self.norms, self.forget):
            quiet_plot(p)
            p.showGrid(x=True, y=True, alpha=0.25)
        self.norms.setLabel("left", "gradient norm")
        self.forget.setLabel("left", "log10 ∏ f")
        self.forget.setLabel("bottom", "time step t")
        self.forget.setXLink(self.norms)
        self._add_norm_curves()
        # What if (issue 17): the other pass's ‖ds‖ beside this one's, over the whole pass.
        self.other = pg.PlotDataItem(pen=OTHER_PEN)
        self.other.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.norms.addItem(self.other)
        self.other_label = ""
        session.events.whatif_changed.connect(self._on_trace)
        self._add_forget_band()
        self.cursor_lines = []
        for p in (self.norms, self.forget):
            line = pg.InfiniteLine(angle=90, pen=CURVE_CURSOR_PEN)
            p.addItem(line)
            self.cursor_lines.append(line)
        self.note = pg.TextItem("", color=(120, 120, 120), anchor=(0.5, 0.5))
        self.forget.addItem(self.note)
        self._on_log(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        top.addWidget(self.log)
        self.stack(top, self.graphics)
        self.trace_changed()
        self.state = None

    def _add_norm_curves(self) -> None:
        """One curve per gradient norm, each inside a window that shows only the steps
        computed so far, and its legend entry."""
        self.curves, self.windows = {}, {}
        for name in FLOW_CURVES:
            window = QGraphicsRectItem()                  # shows the computed steps only
            window.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
            window.setPen(pg.mkPen(None))
            self.norms.addItem(window, ignoreBounds=True)  # ranges are set per pass
            c = pg.PlotDataItem(pen=CURVE_PENS[name], name=CURVE_LABELS[name])
            c.setParentItem(window)
            # drawn once per pass into a pixmap: a frame moves the window over it (and the
            # cursor across it), which then costs a copy, not a redraw of the path
            c.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            c.setClipToView(True)
            c.setDownsampling(auto=True, method="peak")
            # No dynamic range limit (it pulls in points beyond 1e6 view heights, which the
            # whole-pass ranges never leave): each new y range (another layer) made every
            # curve compute its points again, just after its new data had.
            c.setDynamicRangeLimit(None)
            self.curves[name] = c
            self.windows[name] = window
            self.legend.addItem(c, CURVE_LABELS[name])

    def _add_forget_band(self) -> None:
        """log10 ∏ f over the units: the band between its extremes and the median."""
        band = pg.mkBrush(120, 150, 90, 70)
        self.f_hi = self.forget.plot([], [], pen=pg.mkPen(None))
        self.f_lo = self.forget.plot([], [], pen=pg.mkPen(None))
        self.f_band = Band(self.f_lo, self.f_hi, brush=band)
        self.f_band.updatePath()
        self.forget.addItem(self.f_band)
        self.f_median = self.forget.plot([], [], pen=pg.mkPen((70, 110, 40), width=1))
        for item in (self.f_hi, self.f_lo, self.f_median):
            item.setDynamicRangeLimit(None)         # as the norm curves
        for item in (self.f_band, self.f_median.curve, self.f_hi.curve, self.f_lo.curve):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)   # as the norms

    def trace_changed(self):
        self._band_paths: dict[int, QPainterPath] = {}    # per layer's pass: its band
        self.layer_changed()

    def layer_changed(self):
        self._keys = {}
        self._built = None

    def _on_log(self, on: bool):
        self.norms.setLogMode(y=on)
        for c in self.curves.values():       # children of their windows, not the plot's
            c.setLogMode(False, on)
        self._keys = {}
        self._built = None
        self.request()

    def _build(self, vd, log: bool) -> None:
        """Once per trace (and scale): the axes' ranges and the forget-gate band. The
        ranges cover the whole pass, so no frame re-ranges (or re-ticks) an axis."""
        flow = vd.flow
        T = vd.data.trace.steps
        self.norms.setXRange(-0.5, T - 0.5, padding=0.01)
        self.norms.setYRange(*flow.norm_range(log), padding=0)
        self.forget.setYRange(*flow.forget_range(), padding=0)
        med, q10, q90 = flow.forget()
        self.f_hi.setData(flow.t, q90)
        self.f_lo.setData(flow.t, q10)
        path = self._band_paths.get(id(vd))     # the pass's band: built once per layer
        if path is None:
            self.f_band.updatePath()
            self._band_paths[id(vd)] = self.f_band.path()
        else:
            self.f_band.setPath(path)
        self.f_median.setData(flow.t, med)
        for name, values in flow.curve_values(log).items():
            self.curves[name].setData(flow.t, values, connect="finite")
        self._other_pass(log)
        self._y_span = self.norms.getViewBox().viewRange()[1]
        self.note.setText("∏ f along the carousel: known after the forward pass")
        self.note.setPos(T / 2, sum(flow.forget_range()) / 2)
        # New ranges (another pass or layer): settle them now, not in the paint (pyqtgraph's
        # prepareForPaint), where the range change would queue a second paint of the plots.
        for plot in (self.norms, self.forget):
            plot.vb.prepareForPaint()

    def _other_pass(self, log: bool) -> None:
        """The pass the debugger does not step (``pictures/whatif.py``), or nothing."""
        other = other_pass_ds(self.session, log)
        if self.other_label:
            self.legend.removeItem(self.other)
        self.other_label = "" if other is None else other[0]
        if other is None:
            self.other.setData([], [])
            return
        self.other.setData(other[1], other[2], connect="finite")
        self.legend.addItem(self.other, self.other_label)

    def refresh(self):
        vd = self.view_data
        flow = vd.flow
        log = self.log.isChecked()
        st = flow.state(self.session.view_index, log=log)
        self.state = st
        T = vd.data.trace.steps
        if self._built != (id(vd), log):
            self._built = (id(vd), log)
            self._build(vd, log)
        y0, y1 = self._y_span
        y0, y1 = y0 - (y1 - y0), y1 + (y1 - y0)             # clip in x only
        for name, (lo, hi) in st.known.items():
            window = self.windows[name]
            # Steps lo … hi-1, from just before lo: the segment into lo from lo-1 (not
            # computed) stays clipped away, the curve from lo on shows. Nothing known: an
            # empty window (hidden, the legend would show its curve switched off).
            rect = QRectF() if hi <= lo else QRectF(lo - 1e-3, y0, hi - 1 - lo + 2e-3, y1 - y0)
            if rect != window.rect():
                window.setRect(rect)
        known = st.forget is not None           # the band is set once; a frame shows or hides it
        if self._keys.get("forget") != known:
            self._keys["forget"] = known
            for item in (self.f_hi, self.f_lo, self.f_band, self.f_median):
                item.setVisible(known)
            self.note.setVisible(not known)
        for line in self.cursor_lines:
            line.setValue(st.cursor)
        done = len(st.curves["ds"][0])
        if done:
            t_last = int(st.curves["ds"][0][0])             # the latest step ds is known at
            last = flow.norms()["ds"][t_last]
            self.info.setText(f"ds known for {done}/{T} steps · ‖ds({t_last})‖"
                              f" = {last:.4g} · ∏f: median and 10–90% of units")
        else:
            self.info.setText("gradients: not computed yet (backward pass) · "
                              "∏f: median and 10–90% of units")

    def shown(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The (t, value) points of a curve inside its window: what the frame shows."""
        window, c = self.windows[name], self.curves[name]
        t, v = c.xData, c.yData
        if window.rect().isEmpty() or t is None:
            return np.zeros(0), np.zeros(0)
        keep = t >= window.rect().left()
        return t[keep], v[keep]

    def csv(self) -> str:
        return csv_text(*self.view_data.flow.table(self.session.view_index))


WAITING = "the matrix is computed on demand: press Compute"
COMPUTING = "computing the matrix … (the window stays usable)"


class ContributionView(VisibleView):
    """‖∂l(k)/∂s(t)‖ for k ≥ t: which future losses feed each step's cell gradient."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.button = QPushButton("Compute", self)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.clicked.connect(self._press)
        self.job: BackgroundJob | None = None      # the matrix being computed, if any
        self.info = steady_height(PlainLabel(self))
        self.info.setWordWrap(False)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.map = Heatmap(self.graphics.ci, 0, 0)
        self.map.keep_picture()
        self.map.plot.setLabel("bottom", "cell-state step t")
        self.map.plot.setLabel("left", "loss step k")
        self.map.bar.setColorMap(self._cmap())
        self.map.anchors = SEQUENTIAL
        self.waiting = pg.TextItem(WAITING, color=(120, 120, 120), anchor=(0.5, 0.5))
        self.waiting.setPos(0.5, 0.5)
        self.waiting.hide()
        self.map.plot.addItem(self.waiting, ignoreBounds=True)
        self._no_future = pg.ImageItem(axisOrder="col-major")   # before any matrix
        self.future = self._no_future                            # the mask shown
        self._futures: dict[int, pg.ImageItem] = {}   # per layer's pass (``_show_future``)
        self._ticks = None
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.button)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        self.stack(top, self.graphics)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._click)
        self._built = None
        self.image = None

    @staticmethod
    def _cmap():
        return cmap_for(SEQUENTIAL)

    def trace_changed(self):
        self.layer_changed()
        self.map.forget_images()            # keyed by the old pass's layers
        self._forget_futures()

    def layer_changed(self):
        self.cancel()                       # the matrix of a pass no longer shown
        self._built = None
        self.image = None

    def _press(self):
        self.cancel() if self.job is not None else self.compute()

    def compute(self):
        """Compute the loss-to-cell matrix in the background (the window stays live; the
        button cancels it, the label shows how far it is), then show it."""
        c = self.view_data.contributions
        if not c.ready and self.job is None:
            self.job = BackgroundJob(c.job(), self._progress, self._finished, self)
            self.button.setText("Cancel")
            self.info.setText("computing the loss-to-cell matrix …")
            self.request()                      # the picture says so too
            self.job.start()
        if self.job is None:
            self.request()

    def cancel(self):
        """Stop a matrix being computed (nothing of it is kept)."""
        if self.job is not None:
            self.job.cancel()
            self.job = None
            self.button.setText("Compute")
            self.request()

    def _progress(self, done: int, total: int, what: str):
        self.info.setText(f"computing {what}: {100 * done // max(total, 1)}% of the steps "
                          "(the window stays usable; Cancel stops it)")

    def _finished(self, _image):
        self.job = None
        self.button.setText("Compute")
        self.request()

    def refresh(self):
        vd = self.view_data
        c = vd.contributions
        T = vd.data.trace.steps
        if not c.ready and c.cheap and self.job is None:
            c.compute()
        if not c.ready:
            self._show_waiting(c, T)
            return
        self.button.setEnabled(False)
        self._show_axes(True)
        img = c.compute()
        self.image = img
        K = len(img.sources)
        if self._built != id(vd):
            self._built = id(vd)
            self.map.keep_images(min(self.session.num_layers, MAX_KEPT))   # one per layer
            self.map.set_image(np.ascontiguousarray(img.log.T), QRectF(-0.5, 0, T, K),
                               SEQUENTIAL, img.levels, key=id(vd))
            self.map.set_special(None if img.overlay is None else
                                 np.ascontiguousarray(img.overlay.transpose(1, 0, 2)))
            self._show_future(id(vd), img, T, K)
            step = max(1, K // 6)
            ticks = [[(n + 0.5, str(int(k))) for n, k in enumerate(img.sources)
                      if n % step == 0]]
            if ticks != self._ticks:            # setTicks redraws the axis, even the same
                self._ticks = ticks
                self.map.plot.getAxis("left").setTicks(ticks)
            self.map.bar.setLevels(img.levels)
        lo, hi = vd.known("ds", self.session.view_index)
        if hi <= lo:
            self.map.set_pending(-0.5, T - 0.5)
        else:
            self.map.set_pending(-0.5, lo - 0.5) if lo > 0 else self.map.set_pending(None)
        frame = vd.data.model.frame(self.session.view_index)
        self.map.set_cursor(vd.data.focus_step(frame))
        warn = f"  ⚠ {img.special.text()}" if img.special.total else ""
        s = self.session
        if s.num_layers > 1 and s.view_layer < s.num_layers - 1:
            # below the top layer the gradient arriving at step k is layer l+1's dxc[:X]
            # (the losses of steps ≥ k through it), which the rows stand for (docs/frames.md)
            warn = (f" · layer {s.view_layer}: row k is what layer {s.view_layer + 1} "
                    f"sends down at k, not l(k){warn}")
        self.info.setText(f"log10 ‖∂l(k)/∂s(t)‖, {K} loss steps (rows) · white: t > k · "
                          f"grey: not computed yet{warn}")

    def _show_future(self, key: int, img, T: int, K: int) -> None:
        """White where t > k: one mask item per layer's pass, coloured once."""
        item = self._futures.get(key)
        if item is None:
            if len(self._futures) >= MAX_KEPT:
                self.map.plot.removeItem(self._futures.pop(next(iter(self._futures))))
            item = self._futures[key] = pg.ImageItem(axisOrder="col-major")
            # Drawn from a device pixmap, as the map under it: a frame moves only the
            # cursor and the grey box over it, and Qt converted the RGBA picture to its
            # painting format on every repaint (about 1 ms a seek at T=1000).
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            item.setZValue(4)
            self.map.plot.addItem(item)
            mask = np.zeros((T, K, 4), np.uint8)
            mask[img.future.T] = (250, 250, 250, 255)
            item.setImage(mask, autoLevels=False, levels=(0, 255))
            item.setRect(QRectF(-0.5, 0, T, K))
        for other in self._futures.values():
            other.setVisible(other is item)
        self.future = item

    def _forget_futures(self) -> None:
        for item in self._futures.values():
            self.map.plot.removeItem(item)
        self._futures = {}
        self.future = self._no_future
        self._ticks = None

    def _show_waiting(self, c, T: int) -> None:
        """No matrix yet: what pressing Compute costs, or how far computing it is."""
        self.button.setEnabled(True)
        if self.job is None:
            self.info.setText(f"{len(c.sources)} loss steps × {T} steps, about "
                              f"{c.cost / 1e9:.1f} G multiply-adds: press Compute")
        wait = WAITING if self.job is None else COMPUTING
        if self.waiting.toPlainText() != wait:
            self.waiting.setText(wait)
        self.map.clear()
        for item in self._futures.values():
            item.hide()                     # each layer's mask is kept for its matrix
        self.map.set_pending(None)
        self.map.set_special(None)
        self.map.set_cursor(None)       # no matrix yet: nothing for a cursor to mark
        self._show_axes(False)          # no numbers for what is not computed
        K = max(1, len(c.sources))      # the new pass's frame, for when it is computed
        self.map.plot.setRange(QRectF(-0.5, 0, T, K), padding=0)
        self.waiting.setPos(T / 2 - 0.5, K / 2)
        self._built = None
        self.image = None

    def _show_axes(self, on: bool) -> None:
        plot = self.map.plot
        if on == plot.getAxis("left").isVisible():
            return
        for side in ("left", "bottom"):
            plot.showAxis(side, on)
        self.map.bar.setVisible(on)
        self.waiting.setVisible(not on)
        # Lay the plot out around its axes now, not in the paint (the layout's request and
        # pyqtgraph's prepareForPaint), where the change would queue more paints of it.
        self.graphics.ci.layout.activate()
        plot.vb.prepareForPaint()

    def _hover(self, pos):
        img = self.image
        got = self.map.at(pos)
        if img is None or got is None:
            return
        t, n = int(np.floor(got[0] + 0.5)), int(np.floor(got[1]))
        K, T = img.norms.shape
        if 0 <= t < T and 0 <= n < K:
            k = int(img.sources[n])
            if img.future[n, t]:
                self.info.setText(f"loss step k={k}, t={t}: t > k, no contribution")
            else:
                self.info.setText(f"‖∂l({k})/∂s({t})‖ = {img.norms[n, t]:.6g}")

    def _click(self, event):
        if event.button() != Qt.MouseButton.LeftButton or self.image is None:
            return
        got = self.map.at(event.scenePos())
        if got is not None:
            self.session.goto(frame_for_step(self.session, int(np.floor(got[0] + 0.5)), True))

    def csv(self) -> str:
        return csv_text(*self.view_data.contributions.table())
