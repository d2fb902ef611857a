"""``plots.KeptPictures``: an axis drawn again in a state it was drawn in before (a seek
back into the other layer) plays its kept picture instead of generating its ticks again,
and looks as it did; every change of what the ticks are drawn from (range, size, ticks
set, style, pens, font, grid, tokens, row texts, a colour bar's levels) draws what an axis
that keeps nothing draws."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QFont, QPicture
from PySide6.QtWidgets import QGraphicsItem

from lstm_viz.pictures.tokens import Tokens
from lstm_viz.widgets.plots import (
    KeptAxis,
    LogAxis,
    MenulessColorBar,
    StepAxis,
    cached_axis,
    quiet_plot,
)
from lstm_viz.widgets.token_axis import RowAxis, TokenAxis


class Canvas:
    """A shown plot whose bottom and left axes are of ``cls``; ``keep`` False: they keep
    no pictures (the reference: pyqtgraph's own drawing)."""

    def __init__(self, qtbot, cls=StepAxis, keep=True, bar=False, height=220):
        self.view = pg.GraphicsLayoutWidget()
        self.view.resize(320, height)
        self.plot = self.view.ci.addPlot(row=0, col=0,
                                         axisItems={"bottom": cls("bottom"),
                                                    "left": cls("left")})
        self.bar = None
        if bar:
            self.bar = MenulessColorBar(values=(-1, 1), width=12, interactive=False,
                                        colorMapMenu=False)
            self.view.ci.addItem(self.bar, row=0, col=1)
        self.axes = [self.plot.getAxis("bottom"), self.plot.getAxis("left")]
        if self.bar is not None:
            self.axes.append(self.bar.axis)
        self.made = 0
        for axis in self.axes:
            assert hasattr(axis, "picture_key_extra")       # keeps pictures
            if not keep:
                axis.KEEP = 0
            generate = axis.generateDrawSpecs

            def counted(p, generate=generate):
                self.made += 1
                return generate(p)

            axis.generateDrawSpecs = counted
        self.plot.setRange(xRange=(0, 100), yRange=(0, 10), padding=0)
        qtbot.addWidget(self.view)
        self.view.show()
        qtbot.waitExposed(self.view)

    def grab(self, qapp):
        for _ in range(3):
            qapp.processEvents()
        return self.view.grab().toImage()


def test_an_axis_drawn_again_in_an_old_state_plays_its_kept_picture(qtbot, qapp):
    c = Canvas(qtbot)
    first = c.grab(qapp)
    c.plot.setRange(xRange=(0, 7), yRange=(-3, 3), padding=0)
    other = c.grab(qapp)
    assert other != first
    made = c.made
    c.plot.setRange(xRange=(0, 100), yRange=(0, 10), padding=0)
    assert c.grab(qapp) == first
    assert c.made == made                       # nothing generated again


def test_a_colour_bar_shown_at_its_old_levels_plays_its_kept_picture(qtbot, qapp):
    c = Canvas(qtbot, bar=True)
    assert isinstance(c.bar.axis, KeptAxis)
    first = c.grab(qapp)
    c.bar.setLevels((-250.0, 250.0))
    assert c.grab(qapp) != first
    made = c.made
    c.bar.setLevels((-1.0, 1.0))
    assert c.grab(qapp) == first and c.made == made


def _tokens(vocab=("alpha", "beta", "gamma", "delta")):
    return Tokens(np.arange(100) % len(vocab), vocab)


CHANGES = {
    "range": lambda c: c.plot.setRange(xRange=(10, 30), yRange=(0, 1000), padding=0),
    "size": lambda c: c.view.resize(260, 300),
    "ticks": lambda c: c.axes[0].setTicks([[(5, "five"), (50, "fifty")]]),
    "style": lambda c: [a.setStyle(tickLength=-12, tickTextOffset=7) for a in c.axes],
    "pen": lambda c: [a.setPen((200, 0, 0), width=2) for a in c.axes],
    "text pen": lambda c: [a.setTextPen((0, 0, 200)) for a in c.axes],
    "font": lambda c: [a.setTickFont(QFont("Sans", 13)) for a in c.axes],
    "grid": lambda c: c.plot.showGrid(x=True, y=True, alpha=0.5),
    "log": lambda c: c.plot.setLogMode(y=True),
    "levels": lambda c: c.bar.setLevels((-0.001, 0.001)),
}


@pytest.mark.parametrize("cls", [StepAxis, KeptAxis, LogAxis])
@pytest.mark.parametrize("change", list(CHANGES))
def test_each_change_draws_what_an_axis_keeping_nothing_draws(qtbot, qapp, change, cls):
    kept, plain = Canvas(qtbot, cls, bar=True), Canvas(qtbot, cls, keep=False, bar=True)
    before = kept.grab(qapp)
    assert before == plain.grab(qapp)
    for c in (kept, plain):
        CHANGES[change](c)
    after = kept.grab(qapp)
    assert after != before
    assert after == plain.grab(qapp)


@pytest.mark.parametrize("cls, change", [
    (TokenAxis, lambda a: a.set_tokens(_tokens())),
    (TokenAxis, lambda a: (a.set_tokens(_tokens()), a.set_tokens(_tokens(("x", "yy"))))),
    (RowAxis, lambda a: a.set_texts([f"row {k}" for k in range(10)])),
    (RowAxis, lambda a: (a.set_texts(["a"] * 10), a.set_texts(["b"] * 10))),
])
def test_new_tokens_or_row_texts_draw_their_labels(qtbot, qapp, cls, change):
    kept, plain = Canvas(qtbot, cls), Canvas(qtbot, cls, keep=False)
    before = kept.grab(qapp)
    for c in (kept, plain):
        axis = c.axes[0] if cls is TokenAxis else c.axes[1]
        change(axis)
    after = kept.grab(qapp)
    assert after != before and after == plain.grab(qapp)


def _cached(c: Canvas) -> Canvas:
    """``c`` with its axes drawn from device pixmaps, as the app's plots are."""
    for axis in c.axes:
        cached_axis(axis)
    return c


@pytest.mark.parametrize("cls", [StepAxis, KeptAxis])
def test_a_cached_axis_first_drawn_squeezed_then_grown_draws_what_a_fresh_one_does(
        qtbot, qapp, cls):
    # Qt cached only the part of each axis inside the 40 px view (the labels overflow an
    # axis by 15 px at each end) and, once the view grew, painted only the strip it
    # uncovered: the colour bar kept its squeezed labels ("0" over "0.5") above the new.
    squeezed = _cached(Canvas(qtbot, cls, bar=True, height=40))
    squeezed.grab(qapp)
    squeezed.view.resize(320, 220)
    fresh = _cached(Canvas(qtbot, cls, bar=True))
    assert squeezed.grab(qapp) == fresh.grab(qapp)


def test_a_cached_axis_throws_its_pixmap_away_with_its_picture_and_only_then(
        qtbot, qapp, monkeypatch):
    c = _cached(Canvas(qtbot, bar=True))
    c.grab(qapp)
    axis = c.bar.axis
    purged = []
    set_mode = axis.setCacheMode
    monkeypatch.setattr(axis, "setCacheMode", lambda mode: purged.append(mode) or set_mode(mode))
    c.bar.setLevels((-3.0, 3.0))                 # a new range: pyqtgraph forgets its picture
    assert purged == [QGraphicsItem.CacheMode.DeviceCoordinateCache]
    made = c.made
    c.grab(qapp)
    assert c.made == made + 1 and len(purged) == 1   # not while painting it again
    axis.picture = QPicture()                    # a picture set: nothing thrown away
    assert len(purged) == 1
    c.bar.setLevels((-1.0, 1.0))                 # back to a kept picture: drawn, not made
    assert len(purged) == 2
    c.grab(qapp)
    assert c.made == made + 1
    plain = Canvas(qtbot, bar=True).bar.axis     # an axis with no pixmap has none to throw
    monkeypatch.setattr(plain, "setCacheMode", lambda mode: purged.append(mode))
    plain.setRange(-2.0, 2.0)
    assert len(purged) == 2


def test_only_an_axis_that_keeps_its_pictures_is_cached():
    with pytest.raises(TypeError, match="must keep its pictures"):
        cached_axis(pg.AxisItem("left"))
    plot = pg.PlotItem()                         # pyqtgraph's own axes, replaced
    quiet_plot(plot)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        assert isinstance(axis, KeptAxis)
        assert axis.cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache
