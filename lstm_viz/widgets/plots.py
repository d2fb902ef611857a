"""The pyqtgraph pieces every picture view shares: the colour maps built from
``pictures/colors.py``'s anchors, a quiet plot (no menu, no mouse zoom), an axis with
whole-number ticks, the cursor pen and the heatmap item (image, NaN/Inf overlay, grey
"not computed" box, cursor line, colour bar)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QImage, qRgb, qRgba
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from ..pictures.colors import (
    DIVERGING,
    NOT_COMPUTED_RGB,
    SEQUENTIAL,
    finite_or_zero,
    special_rgba,
)
from .kept_axis import KeptAxis, KeptPictures
from .step_window import StepWindow

PENDING = QColor(*NOT_COMPUTED_RGB)
# The app's look (app.main sets it before any plot is made; the benchmarks too): plots on
# white with black text, so the time cursor is dark over the curve plots as it is over a
# heatmap's light colours.
LOOK = {"antialias": False, "background": "w", "foreground": "k"}
CURSOR_PEN = pg.mkPen((20, 20, 20), width=1.5)


class CursorLine(pg.InfiniteLine):
    """The time cursor: a vertical line that a seek moves along x.

    pyqtgraph works a line's bounding rectangle out again from its view's pixel size on
    every move (``_computeBoundingRect``, a tenth of a millisecond; a seek moves about ten
    cursors). In the line's own coordinates a move across it changes nothing: the
    rectangle spans the view along the line and the pen's width across it. So it is kept
    through such a move; a change of the view, or a move along the line, drops it as
    pyqtgraph does.

    pyqtgraph has each of its items send Qt's geometry changes (``ItemSendsGeometryChanges``)
    for one use: on a change of position or transform, its ``itemChange`` tells the view
    the item's bounds changed (``informViewBoundsChanged``: the view forgets the bounds
    it kept for auto-ranging, and auto-ranges again if it does). Every move of the line
    cost two calls from Qt into Python (before and after), each converting Qt's change
    to a Python enum. The line sends none and tells the view itself after each move.
    (A change of angle is a rotation, which pyqtgraph's ``itemChange`` ignores.)"""

    def __init__(self, pen=CURSOR_PEN, **kwargs):
        super().__init__(angle=90, pen=pen, **kwargs)
        self.setFlag(self.GraphicsItemFlag.ItemSendsGeometryChanges, False)

    def setPos(self, pos):
        kept, along, was = self._boundingRect, self.p[1], self.p
        super().setPos(pos)
        if self.p is not was:                   # moved (pyqtgraph sets a new list)
            self.informViewBoundsChanged()
            if kept is not None and self.angle == 90 and self.p[1] == along:
                self._boundingRect = kept


def colormap(anchors) -> pg.ColorMap:
    return pg.ColorMap([a[0] for a in anchors], [(*a[1], 255) for a in anchors])


_MAPS = {id(DIVERGING): colormap(DIVERGING), id(SEQUENTIAL): colormap(SEQUENTIAL)}


def _fixed_lut(cmap: pg.ColorMap) -> np.ndarray:
    lut = cmap.getLookupTable(nPts=256)
    lut.setflags(write=False)                   # shared by every image of that map
    return lut


# One table per map, the same array every time: ``ImageItem.setLookupTable`` skips a
# table it already holds, and ``ColourImage`` keeps the Qt colour table made from it.
_LUTS = {key: _fixed_lut(cmap) for key, cmap in _MAPS.items()}


def cmap_for(anchors) -> pg.ColorMap:
    return _MAPS[id(anchors)]


def lut_for(anchors) -> np.ndarray:
    """The (256, 3) uint8 lookup table of ``anchors``'s colour map (read-only)."""
    return _LUTS[id(anchors)]


class ColourImage(pg.ImageItem):
    """An ImageItem whose colour-mapped float pictures skip pyqtgraph's per-render
    Python work (the parameter gradients re-render four maps on most seeks).

    pyqtgraph's ``render`` of a float image with a lookup table rescales it to indices
    ``i = clip(trunc((v - lo) * N / (hi - lo)), 0, N - 1)`` (N table entries, in float32
    for float32 data) through a buffered Python loop, and hands Qt an indexed picture with
    a colour table rebuilt from the table by 256 Python calls on every render. Here the
    indices are the same arithmetic in whole-array numpy and the colour table is kept per
    lookup table: the same indexed picture, so the same pixels. Anything else (NaN in the
    image, no table, per-channel levels, downsampling) is rendered by pyqtgraph.
    (Converting the picture to an RGB format once, which would spare Qt a conversion per
    paint, changed pixels: Qt smooths an indexed and an RGB picture differently.)"""

    _table_of = None                    # the lookup table ``_table`` was made from
    _table: list[int] = []
    # pyqtgraph's own render state, which this render sets as its does (0.13.7 - 0.14);
    # a pyqtgraph without them renders its own way, through ``super().render``.
    _STATE = ("_imageHasNans", "_imageNanLocations", "_processingBuffer", "_displayBuffer",
              "_renderRequired", "_unrenderable")

    def render(self):
        if not self._render_mapped():
            super().render()

    def _render_mapped(self) -> bool:
        image, lut, levels = self.image, self.lut, self.levels
        if (image is None or image.ndim != 2 or image.size == 0 or image.dtype.kind != "f"
                or not isinstance(lut, np.ndarray) or lut.dtype != np.uint8 or lut.ndim != 2
                or lut.shape[1] not in (3, 4) or not 0 < lut.shape[0] <= 256
                or levels is None or np.ndim(levels) != 1 or self.autoDownsample
                or not all(hasattr(self, name) for name in self._STATE)):
            return False
        if self._imageHasNans is None:
            self._imageHasNans = bool(np.isnan(image.min()))
            self._imageNanLocations = None
        if self._imageHasNans:
            return False                        # pyqtgraph makes NaN transparent
        lo, hi = levels
        span = hi - lo
        span = 1 if span == 0 else span
        n = lut.shape[0]
        work = np.float32 if np.can_cast(image, np.float32) else np.float64
        scaled = image.astype(work)             # (a copy): then in place
        scaled -= float(lo)
        scaled *= float(n / span)
        np.clip(scaled, 0, n - 1, out=scaled)
        index = scaled.astype(np.uint8)
        if self.axisOrder == "col-major":
            index = index.T
        index = np.ascontiguousarray(index)
        if self._table_of is not lut:
            make = qRgb if lut.shape[1] == 3 else qRgba
            self._table = [make(*c) for c in lut.tolist()]
            self._table_of = lut
        rows, cols = index.shape
        qimage = QImage(index.data, cols, rows, index.strides[0], QImage.Format.Format_Indexed8)
        qimage.setColorTable(self._table)
        self.qimage = qimage
        self._index = index                     # the pixels ``qimage`` points into
        self._processingBuffer = None
        self._displayBuffer = None
        self._renderRequired = False
        self._unrenderable = False
        return True


def cached_axis(axis: pg.AxisItem) -> pg.AxisItem:
    """Draw ``axis`` from a device-resolution pixmap (its ticks are redrawn only when they
    change), and repaint it whenever the axis is resized or moved: pyqtgraph's own resize
    only forgets its picture, and Qt kept painting the old pixmap, so a colour bar
    squeezed by a dock and grown back showed its squeezed labels over the new ones. The
    axis must keep its pictures (``KeptPictures``): that is what throws the pixmap away
    with each picture it forgets (Qt's ``update()`` alone left stale parts of it)."""
    if not isinstance(axis, KeptPictures):
        raise TypeError(f"{type(axis).__name__}: a cached axis must keep its pictures")
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    axis.geometryChanged.connect(axis.update)
    return axis


def quiet_plot(plot: pg.PlotItem) -> None:
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    for side in ("left", "bottom"):
        if not isinstance(plot.getAxis(side), KeptPictures):   # pyqtgraph's own axis
            plot.setAxisItems({side: KeptAxis(side)})        # (cached_axis needs one)
        axis = cached_axis(plot.getAxis(side))
        axis.setStyle(tickTextOffset=2, autoReduceTextSpace=False)   # no re-layout to shrink
    plain_axes(plot)


ROOM_PX = 15                     # pixels a tick label needs along a vertical axis
# The least height a picture's drawing area keeps, whatever docks open beside it (a dock
# takes room from the others only down to their minimum): room for the data and three
# tick labels. The views set these on their graphics widgets; opening a dock never
# squeezes a heatmap to nothing.
MIN_PLOT_HEIGHT = 90             # one heatmap or curve plot with its axes
MIN_CAROUSEL_HEIGHT = 180        # the cell diagram, its text still readable (scale ≈ 0.6)
MIN_PARAM_GRADS_HEIGHT = 210     # a row of weight gradients over the four bias rows


def nice_step(at_least: float, whole: bool = True) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``at_least`` (with
    ``whole``, at least 1: ticks on whole numbers)."""
    floor = 1.0 if whole else 1e-300
    k = 10.0 ** np.floor(np.log10(max(at_least, floor)))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= at_least)


def roomy_spacing(levels, orientation: str, minVal, maxVal, size, whole: bool = False):
    """pyqtgraph's tick levels without those whose labels would be closer than ROOM_PX on
    a vertical axis (a short colour bar piled "1.0 0.5 0 −0.5 −1.0" on each other), and
    with ``whole`` only whole-number steps."""
    if whole:
        levels = [(sp, off) for sp, off in levels if sp >= 1]
    if orientation in ("left", "right") and maxVal > minVal and size > 0:
        per_px = (maxVal - minVal) / size
        roomy = [(sp, off) for sp, off in levels if sp / per_px >= ROOM_PX]
        levels = roomy or [(nice_step(ROOM_PX * per_px, whole), 0.0)]
    return levels or [(1.0, 0.0)]


class StepAxis(KeptPictures, pg.AxisItem):
    """An axis whose ticks fall on whole numbers (time steps, units, rows); on a vertical
    axis no closer than a label's height (in a short plot pyqtgraph's own choice piled
    "100 80 60 40 20 0" into 40 pixels)."""

    def tickSpacing(self, minVal, maxVal, size):
        return roomy_spacing(super().tickSpacing(minVal, maxVal, size), self.orientation,
                             minVal, maxVal, size, whole=True)


class RoomyAxis(KeptPictures, pg.AxisItem):
    """An axis whose labels on a vertical axis are never closer than a label's height."""

    def tickSpacing(self, minVal, maxVal, size):
        return roomy_spacing(super().tickSpacing(minVal, maxVal, size), self.orientation,
                             minVal, maxVal, size)


class LogAxis(KeptPictures, pg.AxisItem):
    """A log-scale axis with minor ticks at 1x, 2x and 5x each decade only: with all nine
    (0.2, 0.3 … 0.9, or 3 4 5 6 7 8 9) the labels piled on top of each other. On a
    vertical axis the decades are labelled no closer than ROOM_PX, and the minor ticks only
    where a decade has room for them (in the Intervene panel's 35 px plot "2 1 0.4 0.2 0.1"
    overlapped)."""

    def tickSpacing(self, minVal, maxVal, size):
        return roomy_spacing(super().tickSpacing(minVal, maxVal, size), self.orientation,
                             minVal, maxVal, size, whole=True)

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        vertical = self.orientation in ("left", "right")
        per_decade = size / (maxVal - minVal) if maxVal > minVal else np.inf
        minor_fits = not vertical or per_decade * np.log10(2.0) >= ROOM_PX   # 1→2, 5→10
        got = super().logTickValues(minVal, maxVal, size, stdTicks)
        decades = any(minVal <= v <= maxVal for sp, vs in got if sp is not None for v in vs)
        levels = []
        for spacing, values in got:
            if spacing is None:               # the level pyqtgraph adds (log10 of 1..9 x 10^k)
                if decades and not minor_fits:    # (within one decade they are all there is)
                    continue
                mantissa = np.round(10.0 ** (np.asarray(values) % 1.0)).astype(int)
                values = [v for v, m in zip(values, mantissa, strict=True) if m in (1, 2, 5)]
            levels.append((spacing, values))
        return levels


def roomy_colour_bar(bar: pg.ColorBarItem) -> pg.ColorBarItem:
    """A colour bar whose axis keeps its labels apart (its axis is made by pyqtgraph, so
    the spacing rule is given to that instance) and draws from a cached pixmap."""
    axis = bar.axis
    base = type(axis).tickSpacing

    def spacing(minVal, maxVal, size):
        return roomy_spacing(base(axis, minVal, maxVal, size), axis.orientation,
                             minVal, maxVal, size)

    axis.tickSpacing = spacing
    axis.enableAutoSIPrefix(False)          # a labelled bar showed "(x0.001)" beside it
    cached_axis(axis)
    return bar


class _MenulessPlot(pg.PlotItem):
    """A PlotItem made without its view box's context menu (``enableMenu=False``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("enableMenu", False)
        # axes that keep their pictures: a colour bar's levels change with the layer
        kwargs.setdefault("axisItems", {side: KeptAxis(side)
                                        for side in ("left", "right", "top", "bottom")})
        super().__init__(*args, **kwargs)


class MenulessColorBar(pg.ColorBarItem, _MenulessPlot):
    """A colour bar whose plot is made without the view-box menu that ColorBarItem
    disables at once anyway (building it was a third of the time a plot took): its
    ``super().__init__()`` reaches ``_MenulessPlot`` before PlotItem."""


def plain_axes(plot: pg.PlotItem) -> None:
    """No "(x0.001)" beside an axis label: the ticks carry the numbers as they are. The
    hidden top axis too: with its prefix on, every new range re-made its label's HTML."""
    for side in ("left", "bottom", "right", "top"):
        plot.getAxis(side).enableAutoSIPrefix(False)


# Coloured pictures a heatmap keeps (``Heatmap.keep_images``), one per layer of a stacked
# model: a random walk over its frames changes layer at every other seek.
MAX_KEPT = 4


class Heatmap:
    """A plot with an image, a NaN/Inf overlay, a grey pending region, a cursor line and
    a colour bar, placed in a GraphicsLayout at (row, col) and (row, col + 1)."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str = "",
                 colspan: int = 1, bar_width: int = 12, order: str = "col-major"):
        axes = {"bottom": StepAxis("bottom"), "left": StepAxis("left")}
        # No pyqtgraph menu is made to be thrown away (quiet_plot disables it): its view
        # box's menu was a third of the time a plot took to build.
        self.plot = layout.addPlot(row=row, col=col, colspan=colspan, title=title,
                                   axisItems=axes, enableMenu=False)
        quiet_plot(self.plot)
        self.plot.getViewBox().setDefaultPadding(0)
        self.image = ColourImage(axisOrder=order)
        self.special = ColourImage(axisOrder=order)
        self.special.setZValue(5)
        self.special.hide()                      # until an image with NaN/Inf is set
        # The grey box over the steps not computed: a rectangle over the whole image,
        # seen through a window (step_window.py) that a seek moves, so that Qt repaints
        # only the strips between the old and the new edges, not the old and new boxes.
        self.pending_window = StepWindow()
        self.pending_window.setZValue(10)
        self.pending = QGraphicsRectItem(self.pending_window)
        self.pending.setBrush(QBrush(PENDING))
        self.pending.setPen(pg.mkPen(None))
        self.cursor = CursorLine()
        self.cursor.setZValue(20)
        self.cursor.hide()
        for item in (self.image, self.special, self.pending_window, self.cursor):
            self.plot.addItem(item)
        self.bar = MenulessColorBar(values=(-1, 1), width=bar_width,
                                    colorMap=cmap_for(DIVERGING), interactive=False,
                                    colorMapMenu=False)
        roomy_colour_bar(self.bar)
        layout.addItem(self.bar, row=row, col=col + colspan)
        self.anchors = DIVERGING
        self.levels = (-1.0, 1.0)
        self.rect = QRectF(0, 0, 1, 1)
        self.data: np.ndarray | None = None
        self.order = order
        self._kept: dict = {}                   # key -> ImageItem (``keep_images``)
        self._keep = 0

    def keep_picture(self) -> None:
        """For an image set once per pass (only the grey box and cursor move over it):
        draw it from a device-resolution pixmap instead of re-scaling it on every paint
        the box or the cursor causes."""
        self.image.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def keep_images(self, count: int) -> None:
        """Keep the last ``count`` images set with a ``key`` (``set_image``), each in an
        item of its own that holds its coloured picture: an image set again (the other
        layer's, a quantity chosen again) is shown without mapping its values through the
        colour map again. ``forget_images`` drops them: call it whenever what a key
        stands for may have changed (a new pass)."""
        if max(0, count) != self._keep:
            self._keep = max(0, count)
            self.forget_images()

    def forget_images(self) -> None:
        for item in self._kept.values():
            if item is not self.image:
                self.plot.removeItem(item)
        self._kept = {}                         # the item shown stays, under no key

    def _image_for(self, key) -> tuple[pg.ImageItem, bool]:
        """The item for ``key``, shown, and whether it already holds that key's image."""
        item = self._kept.pop(key, None)
        found = item is not None
        if item is None:
            if all(kept is not self.image for kept in self._kept.values()):
                item = self.image               # shown under no key: reused
            elif len(self._kept) >= self._keep:
                item = self._kept.pop(next(iter(self._kept)))   # the oldest, reused
            else:
                item = ColourImage(axisOrder=self.order)
                item.setCacheMode(self.image.cacheMode())
                item.setZValue(self.image.zValue())
                self.plot.addItem(item)
        self._kept[key] = item                  # the most recent last
        if item is not self.image:
            # By opacity: Qt throws away the pixmap of an item hidden, so an image shown
            # again (``keep_picture``) was drawn from its picture anew.
            self.image.setOpacity(0.0)
            item.setOpacity(1.0)
            self.image = item
        return item, found

    def set_image(self, image: np.ndarray, rect: QRectF, anchors, levels,
                  key=None) -> None:
        """A new image (col-major: axis 0 is x; row-major: axis 0 is y). With a ``key``
        (see ``keep_images``) for the same key, the same image, rect and colours."""
        self.data = image
        self.rect = rect
        if anchors is not self.anchors:
            self.anchors = anchors
            self.bar.setColorMap(cmap_for(anchors))
        found = False
        if key is not None and self._keep:
            _, found = self._image_for(key)
        else:                                   # the item shown gets an image of no key
            self._kept = {k: v for k, v in self._kept.items() if v is not self.image}
        if found:
            if not np.array_equal(self.image.levels, levels):   # setLevels re-colours
                self.image.setLevels(levels)
        else:
            self.image.setLookupTable(lut_for(anchors), update=False)
            self.image.setImage(image, autoLevels=False, levels=levels)
            self.image.setRect(rect)
        self.levels = tuple(levels)
        self.bar.setLevels(levels)
        self.plot.setRange(rect, padding=0)

    def set_values(self, values: np.ndarray, rect: QRectF, anchors, levels) -> None:
        """An array that may hold NaN/±Inf: the finite values through the colour map,
        the others in their reserved colours over them (``pictures/colors.py``)."""
        self.set_image(finite_or_zero(values), rect, anchors, levels)
        self.set_special(special_rgba(values))

    def clear(self) -> None:
        """Nothing to show."""
        self.data = None
        self.image.clear()
        self._kept = {k: v for k, v in self._kept.items() if v is not self.image}
        self.special.hide()

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
        if x0 is None or x1 is None or x1 <= x0:
            self.pending_window.show_span(None)
            return
        # the box's frame: the image's, wide enough for the span
        r = self.rect
        left, right = min(r.left(), x0), max(r.right(), x1)
        frame = QRectF(left, r.top(), right - left, r.height())
        if frame != self.pending.rect():
            self.pending.setRect(frame)
            self.pending_window.set_frame(left, right, r.top(), r.bottom())
        self.pending_window.show_span((x0, x1))

    def pending_span(self) -> tuple[float, float] | None:
        """The x interval greyed out (None: nothing pending)."""
        return self.pending_window.span

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
