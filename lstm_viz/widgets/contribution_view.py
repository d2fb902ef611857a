"""The loss-to-cell view: the matrix ‖∂l(k)/∂s(t)‖ of which future losses feed each step's
cell gradient, computed on demand (in the background, the window staying usable) and kept
per layer's pass. Numbers come from ``pictures/contributions.py``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QPushButton, QSizePolicy

from ..pictures.colors import SEQUENTIAL
from ..pictures.tables import csv_text
from .plain import PlainLabel
from .plots import MAX_KEPT, MIN_PLOT_HEIGHT, Heatmap, cmap_for
from .progress import BackgroundJob
from .steady import steady_box, steady_height
from .view_base import VisibleView, frame_for_step

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
            # by opacity: Qt throws away the pixmap of an item hidden
            other.setOpacity(1.0 if other is item else 0.0)
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
            item.setOpacity(0.0)            # each layer's mask is kept for its matrix
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
