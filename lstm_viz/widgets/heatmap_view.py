"""Heatmaps: time x memory cell for one forward and one backward quantity, and the live
parameter gradients. They render what ``pictures/time_maps.py`` and
``pictures/param_grads.py`` compute and forward clicks as seeks.

Per trace and quantity the image is set once; a frame only moves the grey "not computed"
rectangle and the cursor line (and the levels when autoscale is on). NaN/±Inf are drawn
by an RGBA overlay in reserved colours and counted in the panel's caption.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS

from ..model.levels import DRAW_MAX
from ..pictures.colors import (
    DIVERGING,
    Special,
    anchors_for,
    finite_or_zero,
    special_rgba,
)
from ..pictures.model_views import ModelViews
from ..pictures.tables import csv_text, stack_tables
from ..pictures.time_maps import TIME_BACKWARD, TIME_FORWARD
from ..pictures.view_data import ViewData
from .plain import PlainLabel, set_plain_tooltip
from .plots import MAX_KEPT, MIN_PARAM_GRADS_HEIGHT, MIN_PLOT_HEIGHT, ROOM_PX, Heatmap
from .steady import steady_box, steady_height
from .token_axis import use_token_axis
from .view_base import VisibleView, frame_for_step


def _caption(special: Special) -> str:
    text = special.text()
    return f"  ⚠ {text}" if text else ""


class TimeHeatmapPanel(QWidget):
    """One time x unit heatmap with its quantity chooser."""

    def __init__(self, owner: TimeHeatmapsView, names, default: str, backward: bool):
        super().__init__(owner)
        self.owner = owner
        self.backward = backward
        self.choose = QComboBox(self)
        self.choose.addItems(names)
        self.choose.setCurrentText(default)
        self.choose.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.choose.currentTextChanged.connect(lambda _: self.owner.rebuild(self))
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(2)
        self.map = Heatmap(self.graphics.ci, 0, 0)
        self.map.keep_picture()
        self.time_axis = use_token_axis(self.map.plot)       # steps read as their tokens
        self.map.plot.setLabel("left", "unit")
        if backward:
            self.map.plot.setLabel("bottom", "time step t")
        self.built: tuple | None = None
        self.special_text = ""
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(PlainLabel("backward:" if backward else "forward:"))
        top.addWidget(self.choose)
        top.addWidget(steady_box(self.info), 1)   # a new frame's text moves nothing
        self.top = top
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(top)
        lay.addWidget(self.graphics, 1)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._click)

    @property
    def name(self) -> str:
        return self.choose.currentText()

    def refresh(self, vd: ViewData, index: int, autoscale: bool) -> None:
        name = self.name
        tm = vd.time_map(name)
        key = (id(vd), name)
        if key != self.built:
            self.built = key
            T, n = tm.image.shape
            self.map.set_image(tm.image, QRectF(-0.5, 0, T, n), anchors_for(name),
                               tm.levels((0, T), False), key=key)
            self.map.set_special(tm.special)
            label = "xc index" if name == "dxc" else "unit"
            if self.map.plot.getAxis("left").labelText != label:   # the same: no new HTML
                self.map.plot.setLabel("left", label)            # and repaint (a new layer)
            self._split(vd.data.trace.inputs if name == "dxc" else None)
        known = vd.known(name, index)
        T = tm.image.shape[0]
        lo, hi = known
        if hi <= lo:
            self.map.set_pending(-0.5, T - 0.5)
        elif lo > 0:
            self.map.set_pending(-0.5, lo - 0.5)
        else:
            self.map.set_pending(hi - 0.5, T - 0.5)
        self.map.set_levels(tm.levels(known, autoscale))
        frame = vd.data.model.frame(index)
        self.map.set_cursor(vd.data.focus_step(frame))
        special = tm.special_count(known)
        self.special_text = special.text()
        done = max(0, hi - lo)
        self.info.setText(f"{done}/{T} steps computed (grey: not yet){_caption(special)}")

    def _split(self, X: int | None) -> None:
        line = getattr(self, "_split_line", None)
        if X is None:
            if line is not None:
                line.hide()
            return
        if line is None:
            line = self._split_line = pg.InfiniteLine(
                angle=0, pen=pg.mkPen((60, 60, 60), style=Qt.PenStyle.DashLine))
            line.setZValue(15)
            self.map.plot.addItem(line)
        line.setValue(X)
        line.show()

    def _hover(self, pos) -> None:
        got = self.map.at(pos)
        tm_data = self.map.data
        if got is None or tm_data is None:
            return
        t, j = int(np.floor(got[0] + 0.5)), int(np.floor(got[1]))
        T, n = tm_data.shape
        if not (0 <= t < T and 0 <= j < n):
            return
        vd = self.owner.view_data
        lo, hi = vd.known(self.name, self.owner.session.view_index)
        if lo <= t < hi:
            value = vd.time_map(self.name).values[t, j]
            text = f"{self.name}: unit {j}, step {t} = {float(value):.6g}"
        else:
            text = f"{self.name}: unit {j}, step {t}: not computed yet"
        self.info.setText(text)

    def _click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        got = self.map.at(event.scenePos())
        if got is None:
            return
        self.owner.go_to_step(int(np.floor(got[0] + 0.5)), self.backward)


class TimeHeatmapsView(VisibleView):
    """A forward quantity over time (top) and a backward one (bottom)."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.autoscale = QCheckBox("autoscale per frame", self)
        self.autoscale.setToolTip("levels from the computed steps at this frame "
                                  "(default: fixed over the whole pass)")
        self.autoscale.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.autoscale.toggled.connect(lambda _: self.request())
        self.forward = TimeHeatmapPanel(self, TIME_FORWARD, "s", backward=False)
        self.backward = TimeHeatmapPanel(self, TIME_BACKWARD, "ds", backward=True)
        self.setToolTip("grey: not computed yet at this frame · click a column to go to "
                        "that step · hover for (unit, step, value)")
        self.forward.top.addWidget(self.autoscale)
        self.tools = self.forward.top
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.forward, 1)
        lay.addWidget(self.backward, 1)

    def panels(self):
        return (self.forward, self.backward)

    def trace_changed(self):
        for p in self.panels():
            p.built = None
            p.map.forget_images()               # keyed by the old pass's layers

    def layer_changed(self):
        for p in self.panels():                 # each layer's pictures are kept
            p.built = None

    def rebuild(self, panel):
        panel.built = None
        self.request()

    def refresh(self):
        vd = self.view_data
        tokens = ModelViews.of(self.session).tokens
        for p in self.panels():
            p.map.keep_images(min(self.session.num_layers, MAX_KEPT))   # one per layer
            p.time_axis.set_tokens(tokens)
            p.refresh(vd, self.session.view_index, self.autoscale.isChecked())

    def go_to_step(self, t: int, backward: bool) -> None:
        self.session.goto(frame_for_step(self.session, t, backward))

    def csv(self) -> str:
        vd = self.view_data
        at = self.session.view_index
        return csv_text(*stack_tables([vd.time_map(p.name).table(vd.known(p.name, at))
                                       for p in self.panels()]))


class ParamGradView(VisibleView):
    """wi_diff … wg_diff (H × (X+H)) and the bias gradients, as of the frame."""

    # Its least size, stated (measured: its tool row with the Export button, over its
    # captions and MIN_PARAM_GRADS_HEIGHT of pictures) so that its dock, tabbed behind
    # the heatmaps and larger than they are at its least, can wait to be built with a
    # stand-in of this size (``lazy_dock.LazyDock.hold``, ``view_docks.BEHIND_HEATMAPS``).
    LEAST = QSize(415, 270)

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.setMinimumSize(self.LEAST)
        self.mode = QComboBox(self)
        self.mode.addItem("accumulated as of this frame", "accumulated")
        self.mode.addItem("this step's contribution alone", "contribution")
        self.mode.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mode.currentIndexChanged.connect(lambda _: self.request())
        self.autoscale = QCheckBox("autoscale per frame", self)
        self.autoscale.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.autoscale.toggled.connect(lambda _: self.request())
        self.info = steady_height(PlainLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(MIN_PARAM_GRADS_HEIGHT)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(3)
        self.maps: dict[str, Heatmap] = {}
        # Row-major, like the accumulators (H, X+H): a frame's copy into the image buffer
        # and pyqtgraph's own are contiguous (col-major cost two strided copies per map).
        # The four weight gradients in one row, the biases under them: in a dock 330 px
        # high two rows of weights left each of them 25 px of picture.
        for n, name in enumerate(WEIGHT_DIFFS):
            self.maps[name] = Heatmap(self.graphics.ci, 0, 2 * n, title=name, order="row-major")
        self.maps["bias"] = Heatmap(self.graphics.ci, 1, 0, title="b_diff (rows i f o g)",
                                    colspan=2 * len(WEIGHT_DIFFS) - 1, order="row-major")
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        # Four bias rows each a label high (their labels bi bf bo bg piled up in a short
        # plot), plus its title and axis.
        self.maps["bias"].plot.setMinimumHeight(4 * ROOM_PX + 52)
        bias_axis = self.maps["bias"].plot.getAxis("left")
        bias_axis.setTicks([[(k + 0.5, n[:2]) for k, n in enumerate(BIAS_DIFFS)]])
        self.splits = {}
        for name in WEIGHT_DIFFS:
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen((40, 40, 40), style=Qt.PenStyle.DashLine))
            line.setZValue(15)
            self.maps[name].plot.addItem(line)
            self.splits[name] = line
        self.marks = self._add_marks()
        self._marked = None
        self._marked_map: str | None = None     # the map whose rows are marked, if any
        self._mark_points: dict[str, tuple] = {}    # map -> the points its marks hold
        self._buffers: dict[str, np.ndarray] = {}
        self._kept_buffers: dict[tuple, dict[str, np.ndarray]] = {}   # (X, H) -> buffers
        self._shown: dict = {}                  # image -> key of the array it shows
        self._shape = None
        self.state = None
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.mode)
        top.addWidget(self.autoscale)
        top.addStretch(1)
        # What the statement that just ran changed (wo_diff += … : which rows), on a row of
        # its own under the caption: empty at other frames, the row stays (nothing jumps).
        self.change = steady_height(PlainLabel(self))
        self.change.setStyleSheet("color: #a35200")
        self.change.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # captions on rows of their own, in boxes: a new frame's text moves nothing
        self.stack(top, steady_box(self.info), steady_box(self.change), self.graphics)
        self.graphics.scene().sigMouseMoved.connect(self._hover)

    def _add_marks(self) -> dict:
        # The rows the current statement changed (wo_diff += … may change one row of a
        # hundred: a pixel) get a mark at the left edge that stays visible at any size,
        # and the changed map an orange frame.
        marks = {}
        for name, h in self.maps.items():
            mark = pg.ScatterPlotItem(symbol="t2" if name != "bias" else "o",
                                      size=9 if name != "bias" else 4, pxMode=True,
                                      brush=pg.mkBrush(235, 120, 0),
                                      pen=pg.mkPen((90, 40, 0), width=1))
            mark.setZValue(25)
            mark.hide()                         # shown with marks only: an empty scatter
            h.plot.addItem(mark, ignoreBounds=True)    # still cost a paint per repaint
            marks[name] = mark
        return marks

    def trace_changed(self):
        self._kept_buffers = {}                 # another pass, perhaps of other sizes
        self.layer_changed()

    def layer_changed(self):
        self._shape = None
        self._shown = {}
        self._marked = None

    def _setup(self):
        tr = self.session.trace
        X, H = tr.inputs, tr.hidden
        shape = (X, H)
        if shape == self._shape:
            return
        self._shape = shape
        self._shown = {}
        # The image buffers of each layer's sizes, kept for the pass: a seek into the other
        # layer of a stacked model allocated and zeroed 2.5 MB anew. What they held is
        # never shown: with nothing shown (_shown emptied) a map is filled again or greyed.
        found = self._kept_buffers.get(shape)
        if found is None:
            found = self._kept_buffers[shape] = {
                **{n: np.zeros((H, X + H), np.float32) for n in WEIGHT_DIFFS},
                "bias": np.zeros((4, H), np.float32)}
        self._buffers = found
        for n in WEIGHT_DIFFS:
            self.maps[n].set_image(self._buffers[n], QRectF(0, 0, X + H, H), DIVERGING, (-1, 1))
            self.splits[n].setValue(X)
            ax = self.maps[n].plot.getAxis("bottom")
            ax.setTicks([[(X / 2, "x"), (X + H / 2, "h_prev")], []])
        self.maps["bias"].set_image(self._buffers["bias"], QRectF(0, 0, H, 4), DIVERGING, (-1, 1))

    def refresh(self):
        self._setup()
        vd = self.view_data
        mode = self.mode.currentData()
        st = vd.params.state(self.session.view_index, mode, self.autoscale.isChecked())
        self.state = st
        total = Special()
        for n in WEIGHT_DIFFS:
            h = self.maps[n]
            buf = self._buffers[n]
            a = st.arrays.get(n)
            if a is None:
                self._shown.pop(n, None)
                h.set_pending(0, buf.shape[1])
                h.set_special(None)
                continue
            h.set_pending(None)
            key = self._key(st, n)
            if key != self._shown.get(n):       # the accumulator changed: map it again
                self._shown[n] = key
                shown = self._fill(buf, a, st.special[n], st.peaks.get(n))
                h.image.setImage(shown, autoLevels=False)
            h.set_levels(st.levels[n])
            h.set_special(special_rgba(a) if st.special[n].total else None)
            total = total + st.special[n]
        bias = st.bias_image()
        hb = self.maps["bias"]
        if bias is None:
            self._shown.pop("bias", None)
            hb.set_pending(0, self._buffers["bias"].shape[1])
            hb.set_special(None)
        else:
            sp = sum((st.special[n] for n in BIAS_DIFFS), Special())
            key = tuple(self._key(st, n) for n in BIAS_DIFFS)
            if key != self._shown.get("bias"):
                self._shown["bias"] = key
                self._fill(self._buffers["bias"], bias, sp)
                hb.image.setImage(self._buffers["bias"], autoLevels=False)
            hb.set_pending(None)
            hb.set_levels(st.levels["bias"])
            hb.set_special(special_rgba(bias) if sp.total else None)
            total = total + sp
        self.special_text = total.text()
        self._mark(st)
        # New levels or another layer's sizes change the colour bars' labels and so the
        # layout: settle it and the ranges now (pyqtgraph's prepareForPaint), not in the
        # paint, where the change would queue a second paint of the maps.
        self.graphics.ci.layout.activate()
        for h in self.maps.values():
            h.plot.vb.prepareForPaint()
        text = st.caption or "not computed yet: gradients accumulate in the backward pass"
        self.info.setText(text + _caption(total))
        set_plain_tooltip(self.info, self.info.text())
        if self.change.text() != st.change:
            self.change.setText(st.change)
            set_plain_tooltip(self.change, st.change)

    def _mark(self, st) -> None:
        """Mark the rows the statement changed (nothing at any other frame)."""
        key = (id(self.session.trace), st.changed, st.step if st.changed else None)
        if key == self._marked:
            return
        self._marked = key
        name = None if st.changed is None else \
            "bias" if st.changed in BIAS_DIFFS else st.changed
        if self._marked_map is not None and self._marked_map != name:
            # only the map marked before is cleared: a border costs a repaint, and its
            # marks are hidden, not emptied (a scatter's setData costs one too, and the
            # next step's update of this gradient marks the same rows again: kept)
            self.marks[self._marked_map].hide()
            self.maps[self._marked_map].plot.getViewBox().setBorder(None)
            self._marked_map = None
        if st.changed is None:
            return
        rows = st.changed_rows
        if st.changed in WEIGHT_DIFFS:
            h = self.maps[st.changed]
            height, width = self._buffers[st.changed].shape
            # inside the picture by half a mark, so a mark on row 0 is not cut in half
            half = 5.0 * height / max(1.0, h.plot.getViewBox().height())
            ys = np.clip(rows + 0.5, min(half, height / 2), max(height - half, height / 2))
            xs = np.full(len(rows), 0.02 * width)
        else:                                     # a bias: its row of the (4, H) map
            h = self.maps["bias"]
            row = BIAS_DIFFS.index(st.changed)
            xs, ys = rows + 0.5, np.full(len(rows), row + 0.85)   # small, at the row's top
        marks = self.marks[name]
        points = (xs.tobytes(), ys.tobytes())
        if points != self._mark_points.get(name):   # (all rows, mostly: the same points)
            self._mark_points[name] = points
            marks.setData(xs, ys)
        marks.show()
        if self._marked_map != name:
            self._marked_map = name
            h.plot.getViewBox().setBorder(pg.mkPen((235, 120, 0), width=2))

    def _key(self, st, name: str):
        """What ``name``'s image shows: equal keys, equal arrays (the trace, the mode and
        the step range summed, or the step whose contribution it is)."""
        return (id(self.session.trace), st.mode, st.sources.get(name))

    @staticmethod
    def _fill(buf: np.ndarray, a: np.ndarray, special: Special,
              peak: float | None = None) -> np.ndarray:
        """The float32 picture of ``a``: ``a`` itself when it is one and drawable as it
        is (a float32 trace's accumulator: no copy), else ``buf`` filled. ``peak``: its
        largest |value| when known (``ParamState.peaks``): rounding to float32 keeps the
        order, so float32(peak) is the largest |value| of the float32 picture, and no
        pass over it is needed to know whether all of it is drawable."""
        with np.errstate(all="ignore"):         # beyond float32: Inf, replaced just below
            if special.total == 0 and peak is not None:
                drawable = float(np.float32(peak)) <= DRAW_MAX
                if drawable and a.dtype == np.float32 and a.flags.c_contiguous:
                    return a
                np.copyto(buf, a, casting="unsafe")
            else:
                np.copyto(buf, a, casting="unsafe")
                drawable = special.total == 0 and float(np.max(np.abs(buf))) <= DRAW_MAX
        if not drawable:                    # NaN/Inf as 0 (overlaid), huge values held
            np.copyto(buf, finite_or_zero(a))
        return buf

    def _hover(self, pos):
        st = self.state
        if st is None:
            return
        for name, h in self.maps.items():
            got = h.at(pos)
            if got is None:
                continue
            c, j = int(np.floor(got[0])), int(np.floor(got[1]))
            if name == "bias":
                if 0 <= j < 4 and 0 <= c < self._buffers["bias"].shape[1]:
                    b = BIAS_DIFFS[j]
                    a = st.arrays.get(b)
                    v = "not computed yet" if a is None else f"{float(a[c]):.6g}"
                    self.info.setText(f"{b}[{c}] = {v}")
                return
            a = st.arrays.get(name)
            X = self.session.trace.inputs
            buf = self._buffers[name]
            if 0 <= j < buf.shape[0] and 0 <= c < buf.shape[1]:
                col = f"x[{c}]" if c < X else f"h_prev[{c - X}]"
                v = "not computed yet" if a is None else f"{float(a[j, c]):.6g}"
                self.info.setText(f"{name}[unit {j}, {col}] = {v}")
            return

    def csv(self) -> str:
        vd = self.view_data
        st = vd.params.state(self.session.view_index, self.mode.currentData(),
                             self.autoscale.isChecked())
        return csv_text(*vd.params.table(st))
