"""The parameter-gradient heatmaps: wi_diff … wg_diff (H × (X+H)) and the four bias
gradients as of the frame, as ``pictures/param_grads.py`` computes them.

A page of maps per size (X, H), in a stack: a stacked model's layer 0 reads the input
and the layers above it read the layer below, so it has two sizes. Each size keeps its
own plots, with their ranges, ticks, split lines and colour bars (and the pixmaps Qt
keeps of them), and a seek into a layer of the other size shows that page as it was
left. One set of plots given each layer's sizes in turn set every range, tick and
image geometry anew: 6.7 ms more in this view for a seek that changed layer (issue 16).
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
    QStackedWidget,
)

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS

from ..model.levels import DRAW_MAX
from ..pictures.colors import DIVERGING, Special, finite_or_zero, special_rgba
from ..pictures.tables import csv_text
from .heatmap_view import caption_warning
from .plain import PlainLabel, set_plain_tooltip
from .plots import MIN_PARAM_GRADS_HEIGHT, ROOM_PX, Heatmap
from .steady import steady_box, steady_height
from .view_base import VisibleView

# The sizes kept: a stacked model's two (layer 0, the rest), or every size of the pass
# shown when its layers have more (widths of their own: a frame's layer changes every
# few statements, and a page built again costs 0.1 s).
MAX_PAGES = 2
# The map the statement writes: an orange border round its plot's view.
MARK_BORDER = pg.mkPen((235, 120, 0), width=2)


class _Page:
    """The maps of one size (X, H): a plot per weight gradient with its x | h_prev split,
    the biases under them, the marks of the rows a statement changed, and the float32
    image buffers (what they held is never shown: a map not filled for the frame shown
    is filled again or greyed)."""

    def __init__(self, X: int, H: int):
        self.shape = (X, H)
        self.graphics = pg.GraphicsLayoutWidget()
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
        self.buffers = {**{n: np.zeros((H, X + H), np.float32) for n in WEIGHT_DIFFS},
                        "bias": np.zeros((4, H), np.float32)}
        self.splits = {}
        for name in WEIGHT_DIFFS:
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen((40, 40, 40), style=Qt.PenStyle.DashLine))
            line.setZValue(15)
            self.maps[name].plot.addItem(line)
            self.splits[name] = line
            self.maps[name].set_image(self.buffers[name], QRectF(0, 0, X + H, H), DIVERGING,
                                      (-1, 1))
            line.setValue(X)
            self.maps[name].plot.getAxis("bottom").setTicks([[(X / 2, "x"),
                                                               (X + H / 2, "h_prev")], []])
        self.maps["bias"].set_image(self.buffers["bias"], QRectF(0, 0, H, 4), DIVERGING,
                                    (-1, 1))
        self.marks = self._add_marks()
        self.marked_map: str | None = None      # the map whose rows are marked, if any
        self.forget()

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

    def forget(self) -> None:
        """Another layer or pass: nothing shown is known to be its (every map is filled
        again), and its marks are set again (the map marked stays known: the next frame
        clears its marks and border unless it marks it too)."""
        self.shown: dict = {}                   # image -> key of the array it shows
        self.marked = None                      # what the marks were set for
        self.mark_points: dict[str, tuple] = {}     # map -> the points its marks hold

    def close(self) -> None:
        self.graphics.close()
        self.graphics.deleteLater()


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
        self.pages = QStackedWidget(self)
        self.pages.setMinimumHeight(MIN_PARAM_GRADS_HEIGHT)
        # One page shown at a time: the others hidden (each keeps its items' pixmaps, which
        # Qt keeps per view). A change of page re-lays out the view (cheap: nothing changes
        # size); stacked all shown, the page on top raised, each of its paints cost 1 ms
        # more, measured.
        self._pages: dict[tuple, _Page] = {}    # (X, H) -> its page, the latest shown last
        self.page = self._page_for(self._sizes())
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
        self.stack(top, steady_box(self.info), steady_box(self.change), self.pages)

    # The page shown: its plots and marks (its split lines and buffers: ``page``).
    @property
    def graphics(self) -> pg.GraphicsLayoutWidget:
        return self.page.graphics

    @property
    def maps(self) -> dict[str, Heatmap]:
        return self.page.maps

    @property
    def marks(self) -> dict:
        return self.page.marks

    def _sizes(self) -> tuple[int, int]:
        tr = self.session.trace
        return tr.inputs, tr.hidden

    def _pass_sizes(self) -> set[tuple[int, int]]:
        """The (X, H) of each layer of the pass shown."""
        layers = self.session.layers
        return {(d.trace.inputs, d.trace.hidden)
                for d in (layers.data(n) for n in range(self.session.num_layers))}

    def _page_for(self, shape: tuple[int, int]) -> _Page:
        """The page of ``shape``, built the first time, shown; the least recently shown
        one goes when more sizes have been than MAX_PAGES or the pass's own."""
        page = self._pages.pop(shape, None)
        if page is None:
            page = _Page(*shape)
            page.graphics.scene().sigMouseMoved.connect(self._hover)
            self.pages.addWidget(page.graphics)
        self._pages[shape] = page                   # the most recent last
        keep = max(MAX_PAGES, len(self._pass_sizes()))
        while len(self._pages) > keep:
            old = self._pages.pop(next(iter(self._pages)))
            self.pages.removeWidget(old.graphics)
            old.close()
        self.pages.setCurrentWidget(page.graphics)
        return page

    def trace_changed(self):
        self.layer_changed()

    def layer_changed(self):
        for page in self._pages.values():
            page.forget()

    def _setup(self) -> None:
        shape = self._sizes()
        if shape != self.page.shape:
            self.page = self._page_for(shape)

    def refresh(self):
        self._setup()
        page = self.page
        vd = self.view_data
        mode = self.mode.currentData()
        st = vd.params.state(self.session.view_index, mode, self.autoscale.isChecked())
        self.state = st
        total = Special()
        for n in WEIGHT_DIFFS:
            h = page.maps[n]
            buf = page.buffers[n]
            a = st.arrays.get(n)
            if a is None:
                page.shown.pop(n, None)
                h.set_pending(0, buf.shape[1])
                h.set_special(None)
                continue
            h.set_pending(None)
            key = self._key(st, n)
            if key != page.shown.get(n):        # the accumulator changed: map it again
                page.shown[n] = key
                shown = self._fill(buf, a, st.special[n], st.peaks.get(n))
                h.image.setImage(shown, autoLevels=False)
            h.set_levels(st.levels[n])
            h.set_special(special_rgba(a) if st.special[n].total else None)
            total = total + st.special[n]
        total = total + self._show_bias(st, page)
        self.special_text = total.text()
        self._mark(st)
        # New levels or a new page change the colour bars' labels and so the layout:
        # settle it and the ranges now (pyqtgraph's prepareForPaint), not in the paint,
        # where the change would queue a second paint of the maps.
        page.graphics.ci.layout.activate()
        for h in page.maps.values():
            h.plot.vb.prepareForPaint()
        text = st.caption or "not computed yet: gradients accumulate in the backward pass"
        self.info.setText(text + caption_warning(total))
        set_plain_tooltip(self.info, self.info.text())
        if self.change.text() != st.change:
            self.change.setText(st.change)
            set_plain_tooltip(self.change, st.change)

    def _show_bias(self, st, page: _Page) -> Special:
        """The four bias gradients in one map (rows i f o g); their NaN/±Inf count."""
        bias = st.bias_image()
        hb = page.maps["bias"]
        if bias is None:
            page.shown.pop("bias", None)
            hb.set_pending(0, page.buffers["bias"].shape[1])
            hb.set_special(None)
            return Special()
        sp = sum((st.special[n] for n in BIAS_DIFFS), Special())
        key = tuple(self._key(st, n) for n in BIAS_DIFFS)
        if key != page.shown.get("bias"):
            page.shown["bias"] = key
            self._fill(page.buffers["bias"], bias, sp)
            hb.image.setImage(page.buffers["bias"], autoLevels=False)
        hb.set_pending(None)
        hb.set_levels(st.levels["bias"])
        hb.set_special(special_rgba(bias) if sp.total else None)
        return sp

    def _mark(self, st) -> None:
        """Mark the rows the statement changed (nothing at any other frame)."""
        page = self.page
        key = (id(self.session.trace), st.changed, st.step if st.changed else None)
        if key == page.marked:
            return
        page.marked = key
        name = None if st.changed is None else \
            "bias" if st.changed in BIAS_DIFFS else st.changed
        if page.marked_map is not None and page.marked_map != name:
            # only the map marked before is cleared: a border costs a repaint, and its
            # marks are hidden, not emptied (a scatter's setData costs one too, and the
            # next step's update of this gradient marks the same rows again: kept)
            page.marks[page.marked_map].hide()
            _set_border(page.maps[page.marked_map], None)
            page.marked_map = None
        if st.changed is None:
            return
        rows = st.changed_rows
        if st.changed in WEIGHT_DIFFS:
            h = page.maps[st.changed]
            height, width = page.buffers[st.changed].shape
            # inside the picture by half a mark, so a mark on row 0 is not cut in half
            half = 5.0 * height / max(1.0, h.plot.getViewBox().height())
            ys = np.clip(rows + 0.5, min(half, height / 2), max(height - half, height / 2))
            xs = np.full(len(rows), 0.02 * width)
        else:                                     # a bias: its row of the (4, H) map
            h = page.maps["bias"]
            row = BIAS_DIFFS.index(st.changed)
            xs, ys = rows + 0.5, np.full(len(rows), row + 0.85)   # small, at the row's top
        marks = page.marks[name]
        points = (xs.tobytes(), ys.tobytes())
        if points != page.mark_points.get(name):    # (all rows, mostly: the same points)
            page.mark_points[name] = points
            marks.setData(xs, ys)
        marks.show()
        if page.marked_map != name:
            page.marked_map = name
            _set_border(h, MARK_BORDER)

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
                if 0 <= j < 4 and 0 <= c < self.page.buffers["bias"].shape[1]:
                    b = BIAS_DIFFS[j]
                    a = st.arrays.get(b)
                    v = "not computed yet" if a is None else f"{float(a[c]):.6g}"
                    self.info.setText(f"{b}[{c}] = {v}")
                return
            a = st.arrays.get(name)
            X = self.session.trace.inputs
            buf = self.page.buffers[name]
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


def _set_border(heatmap, pen) -> None:
    """Give ``heatmap``'s view ``pen`` as its border (None: none). The pen is centred on
    the view's edge, so its outer pixel lies outside the view's bounding rectangle, all
    that Qt repaints for the change: a border taken off left that pixel on screen (an
    orange outline on the map marked before). The scene repaints the rectangle widened
    by the pen too."""
    view = heatmap.plot.getViewBox()
    view.setBorder(pen)
    scene = view.scene()
    if scene is not None:
        scene.update(view.sceneBoundingRect().adjusted(-2, -2, 2, 2))
