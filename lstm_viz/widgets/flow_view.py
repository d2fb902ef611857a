"""Gradient flow through time: per-step gradient norms with the forget-gate product along
the carousel.

Curves show only the steps computed at the frame (they grow from T-1 down in the backward
pass); the cursor line follows the frame. Each curve holds the whole pass, set once per
trace, inside a clipping window that a frame only moves to the steps computed
(``step_window.py``: Qt repaints the strips between its old and new edges): no frame
rebuilds a 1000-point path. Each layer of a stacked model has its own curves and band,
kept in frames of that layer's ranges (``layer_frames.py``): the layer in view follows
the cursor, so a random seek changes it every other time, and shows the other layer's
pictures from their pixmaps. Numbers come from ``pictures/flow.py``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QSizePolicy

from ..pictures.flow import FLOW_CURVES
from ..pictures.tables import csv_text
from ..pictures.whatif import other_pass_ds
from .layer_frames import LayerFrame, framed_plot, set_log
from .plain import PlainLabel
from .plots import MIN_PLOT_HEIGHT, CursorLine, quiet_plot
from .steady import steady_box, steady_height
from .step_window import StepWindow
from .view_base import VisibleView

# Thin (width 1) pens: Qt draws them without stroking; a 2 px pen made the flow view the
# costliest panel to repaint (5 ms against 2 ms at T=1000, bench/bench_gui.py).
CURVE_PENS = {"ds": pg.mkPen((200, 40, 40), width=1),
              "top_diff_h": pg.mkPen((40, 90, 200), width=1),
              "bottom_diff_s": pg.mkPen((40, 150, 60), width=1, style=Qt.PenStyle.DashLine)}
OTHER_PEN = pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DotLine)
CURVE_LABELS = {"ds": "‖ds(t)‖", "top_diff_h": "‖top_diff_h(t)‖",
                "bottom_diff_s": "‖bottom_diff_s(t)‖"}


class Band(pg.FillBetweenItem):
    """The fill between two curves, rebuilt when its view has set both (``updatePath``).
    pyqtgraph's own rebuilt it on each curve's change: twice per pass, the first time
    against the other curve's old data."""

    def curveChanged(self):
        pass


# the forget-gate product's items, shown from the end of the forward pass on
KNOWN, UNKNOWN = 1.0, 0.0


def _cached(item: QGraphicsItem) -> None:
    """Drawn once per pass into a device pixmap: a frame moves a window over it (and the
    cursor across it), which then costs a copy, not a redraw of the path."""
    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class _FlowLayer:
    """One layer's pictures: in the norms plot a curve per gradient norm, each inside a
    window that shows only the steps computed, and the other pass's ‖ds‖ (what if); in
    the forget plot the band of log10 ∏ f and its median. Each plot's items sit in a frame
    of the layer's range (``layer_frames.py``)."""

    def __init__(self, norms: pg.PlotItem, forget: pg.PlotItem, log: bool):
        self.norms_of = None                # (view data, log) the norm curves hold
        self.forget_of = None               # the view data the band holds
        self.norm_frame, self.forget_frame = LayerFrame(norms), LayerFrame(forget)
        self.show(False)                    # until its layer is in view
        self.curves, self.windows = {}, {}
        for name in FLOW_CURVES:
            window = StepWindow(self.norm_frame)    # shows the computed steps only
            c = pg.PlotDataItem(pen=CURVE_PENS[name])
            c.setParentItem(window)
            _cached(c.curve)
            c.setClipToView(True)
            c.setDownsampling(auto=True, method="peak")
            self.curves[name] = c
            self.windows[name] = window
        # What if (issue 17): the other pass's ‖ds‖ beside this one's, over the whole pass.
        self.other = pg.PlotDataItem(pen=OTHER_PEN)
        self.other.setParentItem(self.norm_frame)
        _cached(self.other.curve)
        self.other_label = ""
        self.f_hi = pg.PlotDataItem(pen=pg.mkPen(None))
        self.f_lo = pg.PlotDataItem(pen=pg.mkPen(None))
        self.f_band = Band(self.f_lo, self.f_hi, brush=pg.mkBrush(120, 150, 90, 70))
        self.f_median = pg.PlotDataItem(pen=pg.mkPen((70, 110, 40), width=1))
        self.known = KNOWN
        for item in (self.f_hi, self.f_lo, self.f_band, self.f_median):
            item.setParentItem(self.forget_frame)
        for item in (self.f_band, self.f_median.curve, self.f_hi.curve, self.f_lo.curve):
            _cached(item)
        for item in (*self.curves.values(), self.other, self.f_hi, self.f_lo, self.f_median):
            # No dynamic range limit (it pulls in points beyond 1e6 view heights, which
            # the whole-pass ranges never leave): it made each curve compute its points
            # again at each new range.
            item.setDynamicRangeLimit(None)
        self.set_log(log)

    def set_log(self, on: bool) -> None:
        for c in (*self.curves.values(), self.other):     # not the plot's own items
            c.setLogMode(False, on)
        self.norms_of = None

    def set_norms(self, vd, log: bool, other) -> None:
        """The norm curves of the whole pass, and the other pass's (``other``, from
        ``pictures/whatif.py``, or None), in a frame of their range."""
        flow = vd.flow
        self.norms_of = (vd, log)
        lo, hi = flow.norm_range(log)
        self.norm_frame.set_range(lo, hi)
        for window in self.windows.values():
            window.set_frame(-1.0, float(len(flow.t)), lo, hi)
        for name, values in flow.curve_values(log).items():
            self.curves[name].setData(flow.t, values, connect="finite")
        self.other_label = "" if other is None else other[0]
        if other is None:
            if self.other.xData is not None and len(self.other.xData):
                self.other.setData([], [])
        else:
            self.other.setData(other[1], other[2], connect="finite")

    def set_forget(self, vd) -> None:
        """log10 ∏ f over the units: the band between its 10th and 90th percentiles and
        the median, in a frame of their range."""
        flow = vd.flow
        self.forget_of = vd
        self.forget_frame.set_range(*flow.forget_range())
        med, q10, q90 = flow.forget()
        self.f_hi.setData(flow.t, q90)
        self.f_lo.setData(flow.t, q10)
        self.f_band.updatePath()
        self.f_median.setData(flow.t, med)

    def show_steps(self, known: dict) -> None:
        """Each curve's steps lo … hi-1 (``step_window.py``)."""
        for name, (lo, hi) in known.items():
            self.windows[name].show_steps(lo, hi)

    def show_forget(self, known: bool) -> None:
        """The band once the forward pass is done (by opacity: hiding an item throws its
        pixmap away)."""
        opacity = KNOWN if known else UNKNOWN
        if opacity != self.known:
            self.known = opacity
            for item in (self.f_hi, self.f_lo, self.f_band, self.f_median):
                item.setOpacity(opacity)

    def show(self, on: bool) -> None:
        self.norm_frame.show_layer(on)
        self.forget_frame.show_layer(on)

    def remove(self) -> None:
        self.norm_frame.remove()
        self.forget_frame.remove()


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
        # the curves. The time axes tick whole steps only; the plots' views show each
        # layer's range in a frame of its own (``layer_frames.py``).
        self.legend = pg.LegendItem(colCount=len(FLOW_CURVES), labelTextSize="8pt",
                                    frame=False, horSpacing=12)
        self.graphics.addItem(self.legend, row=0, col=0)
        self.legend.layout.setContentsMargins(0, 0, 0, 0)
        self.graphics.ci.layout.setRowFixedHeight(0, 20)
        self.norms = framed_plot(self.graphics, 1, log=True)
        self.forget = framed_plot(self.graphics, 2)
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        self.graphics.ci.layout.setRowStretchFactor(2, 2)
        for p in (self.norms, self.forget):
            quiet_plot(p)
            p.showGrid(x=True, y=True, alpha=0.25)
        self.norms.setLabel("left", "gradient norm")
        self.forget.setLabel("left", "log10 ∏ f")
        self.forget.setLabel("bottom", "time step t")
        self.forget.setXLink(self.norms)
        self._layers: dict[int, _FlowLayer] = {}
        self._hidden: set[str] = set()      # curves switched off in the legend
        self._current = self._layer(0)
        self._current.show(True)
        self._add_legend()
        session.events.whatif_changed.connect(self._on_trace)
        self.cursor_lines = []
        for p in (self.norms, self.forget):
            line = CursorLine()
            p.addItem(line)
            line.setZValue(1)                   # over every layer's frame, as over its curves
            self.cursor_lines.append(line)
        self.note = pg.TextItem("", color=(120, 120, 120), anchor=(0.5, 0.5))
        self.forget.addItem(self.note)
        self.note.setZValue(1)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        top.addWidget(self.log)
        self.stack(top, self.graphics)
        self._steps: int | None = None          # the steps on the axes
        self.trace_changed()
        self.state = None

    def _add_legend(self) -> None:
        """The legend's entries stand for a curve in every layer: each is drawn from an
        item of its own, and a click on it shows or hides that curve in every layer, as
        pyqtgraph's own entry did for its one curve."""
        self._samples: dict = {}            # legend item -> curve name
        for name in FLOW_CURVES:
            sample = pg.PlotDataItem(pen=CURVE_PENS[name])
            self._samples[sample] = name
            self.legend.addItem(sample, CURVE_LABELS[name])
        self.legend.sigSampleClicked.connect(self._legend_clicked)
        self.other_sample = pg.PlotDataItem(pen=OTHER_PEN)
        self.other_label = ""               # its entry's text, while it has one

    def _legend_clicked(self, sample) -> None:
        name = self._samples.get(sample)
        if name is None:
            return
        on = sample.isVisible()             # pyqtgraph's entry has just switched it
        (self._hidden.discard if on else self._hidden.add)(name)
        for layer in self._layers.values():
            layer.curves[name].setVisible(on)

    def _layer(self, layer: int) -> _FlowLayer:
        found = self._layers.get(layer)
        if found is None:
            found = self._layers[layer] = _FlowLayer(self.norms, self.forget,
                                                     self.log.isChecked())
            for name in self._hidden:
                found.curves[name].setVisible(False)
        return found

    # the pictures of the layer in view
    @property
    def curves(self) -> dict:
        return self._current.curves

    @property
    def windows(self) -> dict:
        return self._current.windows

    @property
    def other(self) -> pg.PlotDataItem:
        return self._current.other

    @property
    def f_hi(self) -> pg.PlotDataItem:
        return self._current.f_hi

    @property
    def f_lo(self) -> pg.PlotDataItem:
        return self._current.f_lo

    @property
    def f_band(self) -> Band:
        return self._current.f_band

    @property
    def f_median(self) -> pg.PlotDataItem:
        return self._current.f_median

    def trace_changed(self):
        """A new pass (or what if): every layer's pictures are set again when shown, and
        those of layers the pass does not have go."""
        for layer in [k for k in self._layers if k >= max(1, self.session.num_layers)]:
            self._layers.pop(layer).remove()
        for layer in self._layers.values():
            layer.norms_of = layer.forget_of = None
        if self._current not in self._layers.values():
            self._current = self._layer(0)      # shown by the refresh to come
            self._current.show(True)

    def layer_changed(self):
        """Another layer in view: its pictures are kept (``_FlowLayer``)."""

    def _on_log(self, on: bool):
        set_log(self.norms, on)
        for layer in self._layers.values():
            layer.set_log(on)
        self.request()

    def _show_steps_range(self, T: int) -> None:
        """The steps' range, once per pass length: a frame re-ranges nothing."""
        if T == self._steps:
            return
        self._steps = T
        self.norms.setXRange(-0.5, T - 0.5, padding=0.01)
        self.note.setText("∏ f along the carousel: known after the forward pass")
        self.note.setPos(T / 2, 0.5)            # the middle of the forget plot's frame
        # A new range: settle it now, not in the paint (pyqtgraph's prepareForPaint), where
        # the range change would queue a second paint of the plots.
        for plot in (self.norms, self.forget):
            plot.vb.prepareForPaint()

    def _show_other_label(self, label: str) -> None:
        """The legend's entry for the other pass (what if), changed only when its text
        does (an entry added or removed re-lays out the legend)."""
        if label == self.other_label:
            return
        if self.other_label:
            self.legend.removeItem(self.other_sample)
        self.other_label = label
        if label:
            self.legend.addItem(self.other_sample, label)

    def refresh(self):
        vd = self.view_data
        flow = vd.flow
        log = self.log.isChecked()
        st = flow.state(self.session.view_index, log=log)
        self.state = st
        T = vd.data.trace.steps
        layer = self._layer(self.session.view_layer)
        if layer.norms_of is None or layer.norms_of[0] is not vd or layer.norms_of[1] != log:
            layer.set_norms(vd, log, other_pass_ds(self.session, log))
        if layer.forget_of is not vd:
            layer.set_forget(vd)
        self._show_steps_range(T)
        if layer is not self._current:
            self._current.show(False)
            layer.show(True)
            self._current = layer
        self._show_other_label(layer.other_label)
        layer.show_steps(st.known)
        known = st.forget is not None           # the band is set once; a frame shows or hides it
        layer.show_forget(known)
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
        c = self.curves[name]
        return self.windows[name].points(c.xData, c.yData)

    def csv(self) -> str:
        return csv_text(*self.view_data.flow.table(self.session.view_index))
