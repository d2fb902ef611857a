"""Heatmaps: time x memory cell for one forward and one backward quantity, and the live
parameter gradients. They render what ``view_data`` computes and forward clicks as seeks.

Per trace and quantity the image is set once; a frame only moves the grey "not computed"
rectangle and the cursor line (and the levels when autoscale is on). NaN/±Inf are drawn
by an RGBA overlay in reserved colours and counted in the panel's caption.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.live import BIAS_DIFFS, WEIGHT_DIFFS

from ..model.frames import Frame
from ..pictures.colors import (
    DIVERGING,
    NOT_COMPUTED_RGB,
    SEQUENTIAL,
    Special,
    anchors_for,
    special_rgba,
)
from ..pictures.tables import csv_text, stack_tables
from ..pictures.time_maps import TIME_BACKWARD, TIME_FORWARD
from ..pictures.view_data import ViewData
from .steady import steady_height

PENDING = QColor(*NOT_COMPUTED_RGB)
CURSOR_PEN = pg.mkPen((20, 20, 20), width=1.5)


def colormap(anchors) -> pg.ColorMap:
    return pg.ColorMap([a[0] for a in anchors], [(*a[1], 255) for a in anchors])


_MAPS = {id(DIVERGING): colormap(DIVERGING), id(SEQUENTIAL): colormap(SEQUENTIAL)}


def cmap_for(anchors) -> pg.ColorMap:
    return _MAPS[id(anchors)]


def _quiet_plot(plot: pg.PlotItem) -> None:
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        axis.setStyle(tickTextOffset=2, autoReduceTextSpace=False)   # no re-layout to shrink


ROOM_PX = 15                     # pixels a tick label needs along a vertical axis


def nice_step(at_least: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``at_least`` (>= 1)."""
    k = 10.0 ** np.floor(np.log10(max(at_least, 1.0)))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= at_least)


class StepAxis(pg.AxisItem):
    """An axis whose ticks fall on whole numbers (time steps, units, rows); on a vertical
    axis no closer than a label's height (in a short plot pyqtgraph's own choice piled
    "100 80 60 40 20 0" into 40 pixels)."""

    def tickSpacing(self, minVal, maxVal, size):
        levels = [(sp, off) for sp, off in super().tickSpacing(minVal, maxVal, size) if sp >= 1]
        if self.orientation in ("left", "right") and maxVal > minVal and size > 0:
            per_px = (maxVal - minVal) / size
            roomy = [(sp, off) for sp, off in levels if sp / per_px >= ROOM_PX]
            levels = roomy or [(nice_step(ROOM_PX * per_px), 0.0)]
        return levels or [(1.0, 0.0)]


class Heatmap:
    """A plot with an image, a NaN/Inf overlay, a grey pending region, a cursor line and
    a colour bar, placed in a GraphicsLayout at (row, col) and (row, col + 1)."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str = "",
                 colspan: int = 1, bar_width: int = 12, order: str = "col-major"):
        axes = {"bottom": StepAxis("bottom"), "left": StepAxis("left")}
        self.plot = layout.addPlot(row=row, col=col, colspan=colspan, title=title,
                                   axisItems=axes)
        _quiet_plot(self.plot)
        self.plot.getViewBox().setDefaultPadding(0)
        self.image = pg.ImageItem(axisOrder=order)
        self.special = pg.ImageItem(axisOrder=order)
        self.special.setZValue(5)
        self.pending = QGraphicsRectItem()
        self.pending.setBrush(QBrush(PENDING))
        self.pending.setPen(pg.mkPen(None))
        self.pending.setZValue(10)
        self.pending.hide()
        self.cursor = pg.InfiniteLine(angle=90, pen=CURSOR_PEN)
        self.cursor.setZValue(20)
        self.cursor.hide()
        for item in (self.image, self.special, self.pending, self.cursor):
            self.plot.addItem(item)
        self.bar = pg.ColorBarItem(values=(-1, 1), width=bar_width, colorMap=cmap_for(DIVERGING),
                                   interactive=False, colorMapMenu=False)
        self.bar.getAxis("right").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        layout.addItem(self.bar, row=row, col=col + colspan)
        self.anchors = DIVERGING
        self.levels = (-1.0, 1.0)
        self.rect = QRectF(0, 0, 1, 1)
        self.data: np.ndarray | None = None

    def keep_picture(self) -> None:
        """For an image set once per pass (only the grey box and cursor move over it):
        draw it from a device-resolution pixmap instead of re-scaling it on every paint
        the box or the cursor causes."""
        self.image.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_image(self, image: np.ndarray, rect: QRectF, anchors, levels) -> None:
        """A new image (col-major: axis 0 is x; row-major: axis 0 is y)."""
        self.data = image
        self.rect = rect
        if anchors is not self.anchors:
            self.anchors = anchors
            self.bar.setColorMap(cmap_for(anchors))
        self.image.setLookupTable(cmap_for(anchors).getLookupTable(nPts=256), update=False)
        self.image.setImage(image, autoLevels=False, levels=levels)
        self.image.setRect(rect)
        self.levels = tuple(levels)
        self.bar.setLevels(levels)
        self.plot.setRange(rect, padding=0)

    def set_levels(self, levels) -> None:
        levels = tuple(levels)
        if levels != self.levels:
            self.levels = levels
            self.image.setLevels(levels)
            self.bar.setLevels(levels)

    def set_special(self, rgba: np.ndarray | None) -> None:
        if rgba is None:
            self.special.hide()
            return
        self.special.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.special.setRect(self.rect)
        self.special.show()

    def set_pending(self, x0: float | None, x1: float | None = None) -> None:
        """Grey out [x0, x1) over the full height (None: nothing pending)."""
        if x0 is None or x1 <= x0:
            self.pending.hide()
            return
        r = QRectF(x0, self.rect.top(), x1 - x0, self.rect.height())
        if r != self.pending.rect():
            self.pending.setRect(r)
        self.pending.show()

    def set_cursor(self, x: float | None) -> None:
        if x is None:
            self.cursor.hide()
        else:
            self.cursor.setValue(x)
            self.cursor.show()

    def at(self, scene_pos) -> tuple[float, float] | None:
        """View coordinates of a scene position inside the plot, else None."""
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        return p.x(), p.y()


def frame_for_step(session, t: int, backward: bool) -> Frame:
    """The frame a click on step t goes to: the same phase and statement at step t (from
    the loss frame: the step's end in the pass the quantity belongs to)."""
    frame = session.frame
    t = min(max(int(t), 0), session.trace.steps - 1)
    if frame.phase == "loss":
        return Frame("bwd" if backward else "fwd", t)
    return Frame(frame.phase, t, frame.stmt)


class VisibleView(QWidget):
    """A view that refreshes on session events only while visible; when hidden it
    remembers that it is stale and refreshes when shown again."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._stale = True
        self.refreshes = 0
        session.events.frame_changed.connect(self._on_frame)
        session.events.trace_changed.connect(self._on_trace)

    def _on_frame(self, *_):
        self.request()

    def _on_trace(self, *_):
        self.trace_changed()
        self.request()

    def trace_changed(self):
        """Drop whatever was built for the old trace."""

    def request(self):
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._stale = False
            self.refreshes += 1
            self.refresh()
        else:
            self._stale = True

    def showEvent(self, event):
        super().showEvent(event)
        self.catch_up()

    def resizeEvent(self, event):
        super().resizeEvent(event)          # e.g. a dock dragged open from zero height
        if self._stale and not self.visibleRegion().isEmpty():
            self.catch_up()

    def catch_up(self):
        """Refresh now if a frame or trace changed while the view was not drawn (hidden,
        closed, or a tab behind another: its dock's ``visibilityChanged`` calls this)."""
        if self._stale:
            self._stale = False
            self.refreshes += 1
            self.refresh()

    def refresh(self):
        raise NotImplementedError

    def stack(self, tools: QHBoxLayout, *rows: QWidget) -> None:
        """The view's layout: its tool row over ``rows``, the last of which takes the room."""
        self.tools = tools
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addLayout(tools)
        for row in rows[:-1]:
            lay.addWidget(row)
        lay.addWidget(rows[-1], 1)

    @property
    def view_data(self) -> ViewData:
        return ViewData.of(self.session.data)

    # export hooks (see export.py): the widget to draw, and the CSV table
    def export_widget(self) -> QWidget:
        return self

    def csv(self) -> str:
        raise NotImplementedError


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
        self.info = steady_height(QLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setMinimumHeight(30)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(2)
        self.map = Heatmap(self.graphics.ci, 0, 0)
        self.map.keep_picture()
        self.map.plot.setLabel("left", "unit")
        if backward:
            self.map.plot.setLabel("bottom", "time step t")
        self.built: tuple | None = None
        self.special_text = ""
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("backward:" if backward else "forward:"))
        top.addWidget(self.choose)
        top.addWidget(self.info, 1)
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
                               tm.levels((0, T), False))
            self.map.set_special(tm.special)
            self.map.plot.setLabel("left", "xc index" if name == "dxc" else "unit")
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
        lo, hi = vd.known(self.name, self.owner.session.cursor)
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

    def rebuild(self, panel):
        panel.built = None
        self.request()

    def refresh(self):
        vd = self.view_data
        for p in self.panels():
            p.refresh(vd, self.session.cursor, self.autoscale.isChecked())

    def go_to_step(self, t: int, backward: bool) -> None:
        self.session.goto(frame_for_step(self.session, t, backward))

    def csv(self) -> str:
        vd = self.view_data
        at = self.session.cursor
        return csv_text(*stack_tables([vd.time_map(p.name).table(vd.known(p.name, at))
                                       for p in self.panels()]))


class ParamGradView(VisibleView):
    """wi_diff … wg_diff (H × (X+H)) and the bias gradients, as of the frame."""

    def __init__(self, session, parent=None):
        super().__init__(session, parent)
        self.mode = QComboBox(self)
        self.mode.addItem("accumulated as of this frame", "accumulated")
        self.mode.addItem("this step's contribution alone", "contribution")
        self.mode.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mode.currentIndexChanged.connect(lambda _: self.request())
        self.autoscale = QCheckBox("autoscale per frame", self)
        self.autoscale.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.autoscale.toggled.connect(lambda _: self.request())
        self.info = steady_height(QLabel(self))
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(3)
        self.maps: dict[str, Heatmap] = {}
        # Row-major, like the accumulators (H, X+H): a frame's copy into the image buffer
        # and pyqtgraph's own are contiguous (col-major cost two strided copies per map).
        for n, name in enumerate(WEIGHT_DIFFS):
            r, c = divmod(n, 2)
            self.maps[name] = Heatmap(self.graphics.ci, r, 2 * c, title=name, order="row-major")
        self.maps["bias"] = Heatmap(self.graphics.ci, 2, 0, title="b_diff (rows i f o g)",
                                    colspan=3, order="row-major")
        self.graphics.ci.layout.setRowStretchFactor(0, 5)
        self.graphics.ci.layout.setRowStretchFactor(1, 5)
        self.graphics.ci.layout.setRowStretchFactor(2, 2)
        bias_axis = self.maps["bias"].plot.getAxis("left")
        bias_axis.setTicks([[(k + 0.5, n[:2]) for k, n in enumerate(BIAS_DIFFS)]])
        self.splits = {}
        for name in WEIGHT_DIFFS:
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen((40, 40, 40), style=Qt.PenStyle.DashLine))
            line.setZValue(15)
            self.maps[name].plot.addItem(line)
            self.splits[name] = line
        self._buffers: dict[str, np.ndarray] = {}
        self._shown: dict = {}                  # image -> key of the array it shows
        self._shape = None
        self.state = None
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.mode)
        top.addWidget(self.autoscale)
        top.addStretch(1)
        self.stack(top, self.info, self.graphics)   # the caption on its own row: not cut off
        self.graphics.scene().sigMouseMoved.connect(self._hover)

    def trace_changed(self):
        self._shape = None
        self._shown = {}

    def _setup(self):
        tr = self.session.trace
        X, H = tr.inputs, tr.hidden
        shape = (X, H)
        if shape == self._shape:
            return
        self._shape = shape
        self._shown = {}
        self._buffers = {n: np.zeros((H, X + H), np.float32) for n in WEIGHT_DIFFS}
        self._buffers["bias"] = np.zeros((4, H), np.float32)
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
        st = vd.params.state(self.session.cursor, mode, self.autoscale.isChecked())
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
                self._fill(buf, a, st.special[n])
                h.image.setImage(buf, autoLevels=False)
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
        text = st.caption or "not computed yet: gradients accumulate in the backward pass"
        self.info.setText(text + _caption(total))
        self.info.setToolTip(self.info.text())

    def _key(self, st, name: str):
        """What ``name``'s image shows: equal keys, equal arrays (the trace, the mode and
        the step range summed, or the step whose contribution it is)."""
        return (id(self.session.trace), st.mode, st.sources.get(name))

    @staticmethod
    def _fill(buf: np.ndarray, a: np.ndarray, special: Special) -> None:
        np.copyto(buf, a, casting="unsafe")
        if special.total:
            np.nan_to_num(buf, copy=False, nan=0.0, posinf=0.0, neginf=0.0)

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
        st = vd.params.state(self.session.cursor, self.mode.currentData(),
                             self.autoscale.isChecked())
        return csv_text(*vd.params.table(st))
