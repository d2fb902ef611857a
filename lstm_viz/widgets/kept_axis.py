"""Axes that keep their tick pictures (``KeptPictures``): a plot shown again with a range
it had before (a seek back into the other layer of a stacked model, a colour bar back at
its levels) plays the picture its axes drew then instead of generating the ticks again;
and that keep their bounding rectangle (``KeptPictures.boundingRect``)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QDataStream, QIODevice, QRectF
from PySide6.QtGui import QFont, QPen
from PySide6.QtWidgets import QGraphicsItem

_DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache


def _rect_key(r: QRectF) -> tuple:
    return (r.x(), r.y(), r.width(), r.height())


def _pen_key(pen: QPen) -> bytes:
    """All of a pen (colour, width, style, caps, dashes, brush), as Qt serialises it."""
    data = QByteArray()
    stream = QDataStream(data, QIODevice.OpenModeFlag.WriteOnly)
    stream << pen
    return bytes(data.data())


class KeptPictures:
    """For a pyqtgraph AxisItem (mixed in before it): keep the last ``KEEP`` tick pictures
    by what they were drawn from, and draw a picture again from it instead of generating
    it again. A seek into the other layer of a stacked model gives a plot that layer's
    range (a colour bar its levels) and the next seek back gives the old one: pyqtgraph
    forgot the picture at each change and generated its ticks and labels anew, 0.5-1 ms
    an axis, 6 ms a seek over the views.

    The key holds everything ``generateDrawSpecs`` and ``drawPicture`` read: the axis's
    place and size in pixels, its range, scale, log mode, grid (and the grid's extent),
    the ticks and spacing set on it, its style, pens and fonts, and
    ``picture_key_extra`` for what a subclass adds (tokens, row texts). The one side
    effect of generating, the text space the labels need (``_updateMaxTextSize``), is
    recorded with the picture and applied again when it is reused.

    An axis drawn from a device pixmap (``plots.cached_axis``) throws the pixmap away
    with each picture it forgets (``picture = None``: a new range, size, style...; never
    in its own paint, while Qt draws into it). pyqtgraph's ``update()`` was not enough:
    when the axis's bounding rectangle (its labels overflow it by 15 px at each end) stuck
    out of a view too short to hold it, Qt cached only the part inside, and from then on,
    each time that part moved or grew, repainted only the strip it uncovered, whatever
    ``update()`` asked. A colour bar first painted in a squeezed dock, then grown with a
    new picture, kept its old labels above the new ones (two "-0.4", the rest closer)."""

    KEEP = 8
    _kept: dict | None = None
    _text_size: object = None
    _bounds: QRectF | None = None           # ``boundingRect``'s, and what it was of
    _bounds_of: tuple = ()
    _bounds_watched: object = None          # the link whose view's geometry drops it

    def boundingRect(self):
        """pyqtgraph's rectangle, kept until what it is worked out from changes.

        Qt asks every item of a view for its rectangle each time it paints the view
        (and when it repaints a part of it), ~120 times a seek over the app's axes, and
        pyqtgraph works it out anew each time (its geometry mapped into it, style
        look-ups: 5 us, 10 with a grid). It is the axis's geometry in its own
        coordinates, widened by the ticks' length and the labels' overflow (style
        ``tickLength`` and ``hideOverlappingLabels``), or with a grid the union of that
        geometry with the linked view's rectangle mapped into the axis. So it is kept
        with the style entries, the grid and the link to the view, compared on each
        call, and dropped when the axis's geometry changes (``_resetCachedProperties``,
        on its ``geometryChanged``), when it is transformed (``setTransform``,
        ``setRotation`` and the like below; Qt never transforms an item by itself), and
        with a grid when the view's geometry changes (its ``geometryChanged``). With a
        grid it is kept only while the view is the axis's sibling (as in every PlotItem;
        pyqtgraph transforms a view's child group, never the view): else worked out
        each time, as pyqtgraph does.

        The kept rectangle itself is returned, as pyqtgraph's lines and curves return
        theirs (a copy was a third of the cost): Qt copies it, and no caller changes
        it in place."""
        axis: pg.AxisItem = self                 # type: ignore[assignment]
        style = axis.style
        of = (axis.grid, style["tickLength"], style["hideOverlappingLabels"],
              axis._linkedView)
        bounds = self._bounds
        if bounds is None or of != self._bounds_of:
            bounds = super().boundingRect()     # type: ignore[misc]
            if not self._keeps_bounds():
                return bounds
            self._bounds, self._bounds_of = bounds, of
        return bounds

    def _keeps_bounds(self) -> bool:
        """Whether the rectangle just worked out can be kept (``boundingRect``); with a
        grid, has the view's geometry changes drop it."""
        axis: pg.AxisItem = self                 # type: ignore[assignment]
        view = axis.linkedView()
        if axis.grid is False or view is None:
            return True
        if view.parentItem() is not axis.parentItem():
            return False            # then it moves with what neither's geometry tells
        if self._bounds_watched is not axis._linkedView:        # a new link
            view.geometryChanged.connect(self._drop_bounds)
            self._bounds_watched = axis._linkedView
        return True

    def _drop_bounds(self):
        self._bounds = None

    def _resetCachedProperties(self):
        self._bounds = None                     # the geometry changed
        super()._resetCachedProperties()        # type: ignore[misc]

    # A transform set on the axis changes its rectangle (mapped from its parent): dropped
    # after it is set (Qt asks for the old one while setting it).
    def setTransform(self, *args, **kwargs):
        super().setTransform(*args, **kwargs)   # type: ignore[misc]
        self._bounds = None

    def resetTransform(self):
        super().resetTransform()                # type: ignore[misc]
        self._bounds = None

    def setRotation(self, angle):
        super().setRotation(angle)              # type: ignore[misc]
        self._bounds = None

    def setScale(self, scale):
        super().setScale(scale)                 # type: ignore[misc]
        self._bounds = None

    def setTransformOriginPoint(self, *args):
        super().setTransformOriginPoint(*args)  # type: ignore[misc]
        self._bounds = None

    _picture: object = None
    _painting = False                 # in paint: Qt is drawing into the pixmap

    @property
    def picture(self):
        """pyqtgraph's picture of the ticks (None: to be made at the next paint)."""
        return self._picture

    @picture.setter
    def picture(self, picture) -> None:
        # (forgotten again before it was painted: the pixmap went with the first)
        drawn, self._picture = self._picture, picture
        if (picture is None and drawn is not None and not self._painting
                and self.cacheMode() == _DEVICE_CACHE):     # type: ignore[attr-defined]
            # Setting the mode again purges the pixmap and where the view clipped it;
            # the next paint draws it whole (pyqtgraph's update() alone did not).
            self.setCacheMode(_DEVICE_CACHE)                # type: ignore[attr-defined]

    def picture_key_extra(self) -> tuple:
        """What else a subclass's ticks are drawn from (hashable)."""
        return ()

    def _picture_key(self) -> tuple:
        axis: pg.AxisItem = self                 # type: ignore[assignment]
        # the transform pyqtgraph maps to pixels with (deviceTransform_ since 0.14)
        device = (getattr(axis, "deviceTransform_", None) or axis.deviceTransform)()
        style = repr(sorted((k, v.toString() if isinstance(v, QFont) else v)
                            for k, v in axis.style.items()))
        key = [type(self), axis.orientation, _rect_key(axis.boundingRect()),
               _rect_key(axis.mapRectFromParent(axis.geometry())),
               None if device is None else (device.m11(), device.m12(), device.m13(),
                                            device.m21(), device.m22(), device.m23(),
                                            device.m31(), device.m32(), device.m33()),
               tuple(axis.range), axis.scale, axis.autoSIPrefixScale, axis.logMode,
               axis.grid, repr(axis._tickLevels), repr(axis._tickSpacing), style,
               _pen_key(axis.pen()), _pen_key(axis.textPen()), _pen_key(axis.tickPen()),
               QFont().toString(), self.picture_key_extra()]
        view = axis.linkedView()
        if view is not None and axis.grid is not False:
            key.append(_rect_key(view.mapRectToItem(axis, view.boundingRect())))
        return tuple(key)

    def _updateMaxTextSize(self, x):
        self._text_size = x                     # recorded with the picture being made
        super()._updateMaxTextSize(x)           # type: ignore[misc]

    def paint(self, p, opt, widget):
        # Never purge the pixmap Qt is painting into. Defensive: what paint forgets today
        # (pyqtgraph's text-space update, while a picture is made or replayed) is None
        # already; a drawn picture forgotten in paint would free the pixmap under Qt's
        # painter. The resize that may follow purges it.
        self._painting = True
        try:
            self._paint(p, opt, widget)
        finally:
            self._painting = False

    def _paint(self, p, opt, widget):
        if self.picture is not None or self.KEEP <= 0:
            super().paint(p, opt, widget)       # type: ignore[misc]
            return
        key = self._picture_key()
        if self._kept is None:
            self._kept = {}
        kept = self._kept
        found = kept.pop(key, None)
        if found is None:
            self._text_size = None
            super().paint(p, opt, widget)       # type: ignore[misc]
            if self.picture is None:            # resized by its new labels: drawn again
                return
            kept[key] = (self.picture, self._text_size)
            while len(kept) > self.KEEP:
                kept.pop(next(iter(kept)))          # the least recently used
            return
        kept[key] = found                       # the most recently used last
        picture, size = found
        if size is not None:                    # as generating it would, before it is set
            super()._updateMaxTextSize(size)    # type: ignore[misc]
        self.picture = picture
        picture.play(p)


class KeptAxis(KeptPictures, pg.AxisItem):
    """pyqtgraph's own axis, keeping its pictures (``KeptPictures``)."""
