"""``KeptPictures.boundingRect``: an axis keeps its bounding rectangle, and the rectangle it
gives is pyqtgraph's own, worked out afresh, through every change it is worked out from:
the axis's geometry, its style's tick length and label overflow, the grid, its transform,
the view it is linked to and (with a grid) that view's geometry."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QTransform

from lstm_viz.widgets.kept_axis import KeptPictures
from lstm_viz.widgets.plots import KeptAxis, MenulessColorBar, StepAxis

SIDES = ("left", "bottom", "right", "top")


def _fresh(axis):
    return pg.AxisItem.boundingRect(axis)


class Canvas:
    def __init__(self, qtbot, qapp):
        self.qapp = qapp
        self.view = pg.GraphicsLayoutWidget()
        self.view.resize(320, 220)
        self.plot = self.view.ci.addPlot(row=0, col=0, axisItems={
            "left": StepAxis("left"), "bottom": StepAxis("bottom"),
            "right": KeptAxis("right"), "top": KeptAxis("top")})
        self.bar = MenulessColorBar(values=(-1, 1), width=12, interactive=False,
                                    colorMapMenu=False)
        self.view.ci.addItem(self.bar, row=0, col=1)
        self.other = self.view.ci.addPlot(row=1, col=0)         # another plot's view
        self.plot.showAxis("right")
        self.plot.setRange(xRange=(0, 100), yRange=(0, 10), padding=0)
        self.axes = [self.plot.getAxis(side) for side in SIDES] + [self.bar.axis]
        assert all(isinstance(axis, KeptPictures) for axis in self.axes)
        qtbot.addWidget(self.view)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.settle()

    def settle(self):
        for _ in range(3):
            self.qapp.processEvents()
        self.view.grab()                        # painted: each axis asked for its rect

    def check(self, kept=True):
        for axis in self.axes:
            if not axis.isVisible():
                continue
            assert axis.boundingRect() == _fresh(axis), axis.orientation
            if kept:
                assert axis._bounds is not None, axis.orientation     # and it was kept


def _view(c):
    return c.plot.getViewBox()


# Each step changes something the rectangle is worked out from.
STEPS = {
    "resize": lambda c: c.view.resize(420, 260),
    "resize back": lambda c: c.view.resize(300, 200),
    "longer ticks": lambda c: [a.setStyle(tickLength=9) for a in c.axes],
    "ticks inwards": lambda c: [a.setStyle(tickLength=-12) for a in c.axes],
    "labels may overflow": lambda c: [a.setStyle(hideOverlappingLabels=False) for a in c.axes],
    "overflow 7 px": lambda c: [a.setStyle(hideOverlappingLabels=7) for a in c.axes],
    "overflow none": lambda c: [a.setStyle(hideOverlappingLabels=True) for a in c.axes],
    "grid": lambda c: c.plot.showGrid(x=True, y=True, alpha=0.3),
    "grid alpha": lambda c: c.plot.getAxis("bottom").setGrid(200),
    "label": lambda c: c.plot.setLabel("left", "a long label"),
    "grid off": lambda c: c.plot.showGrid(x=False, y=False),
}


def test_the_kept_rectangle_is_pyqtgraphs_through_every_change(qtbot, qapp):
    c = Canvas(qtbot, qapp)
    c.check()
    for name, step in STEPS.items():
        step(c)
        c.settle()
        c.check()
        assert name


def test_with_a_grid_the_rectangle_follows_the_views_geometry_alone(qtbot, qapp):
    # The view moved and resized with the axis where it was: its grid's rectangle (the
    # view's, mapped into the axis) changes.
    c = Canvas(qtbot, qapp)
    c.plot.showGrid(x=True, y=True)
    c.settle()
    c.check()
    bottom, view = c.plot.getAxis("bottom"), _view(c)
    before, rect_before = bottom.geometry(), bottom.boundingRect()
    view.setGeometry(view.geometry().adjusted(4, 10, -6, 0))
    assert bottom.geometry() == before
    assert bottom.boundingRect() == _fresh(bottom) != rect_before
    c.settle()                                  # laid out again
    c.check()


def test_a_transformed_axis_gives_its_transformed_rectangle(qtbot, qapp):
    c = Canvas(qtbot, qapp)
    axis = c.plot.getAxis("bottom")
    steps = [lambda: axis.setTransform(QTransform.fromTranslate(3, 2)),
             lambda: axis.resetTransform(),
             lambda: axis.setScale(2.0),
             lambda: axis.setTransformOriginPoint(5, 1),
             lambda: axis.setScale(1.0),
             lambda: axis.setRotation(90.0),
             lambda: axis.setRotation(0.0)]
    for step in steps:
        axis.boundingRect()
        step()
        assert axis.boundingRect() == _fresh(axis)
    c.settle()
    c.check()


@pytest.mark.parametrize("grid", [False, True])
def test_an_axis_linked_to_another_view_gives_that_views_rectangle(qtbot, qapp, grid):
    c = Canvas(qtbot, qapp)
    c.plot.showGrid(x=grid, y=grid)
    c.settle()
    axis = c.plot.getAxis("bottom")
    axis.boundingRect()
    axis.linkToView(c.other.getViewBox())       # not its sibling: worked out each time
    c.settle()
    assert axis.boundingRect() == _fresh(axis)
    c.other.setPos(c.other.pos() + QPointF(3, 7))      # that view moved, in its plot
    assert axis.boundingRect() == _fresh(axis)
    axis.linkToView(_view(c))
    c.settle()
    c.check()


def test_an_axis_asked_again_works_nothing_out(qtbot, qapp, monkeypatch):
    c = Canvas(qtbot, qapp)
    c.plot.showGrid(x=True, y=True)
    c.settle()
    worked = []
    original = pg.AxisItem.boundingRect
    monkeypatch.setattr(pg.AxisItem, "boundingRect",
                        lambda axis: worked.append(axis) or original(axis))
    c.view.grab()
    for axis in c.axes:
        axis.boundingRect()
    assert worked == []
