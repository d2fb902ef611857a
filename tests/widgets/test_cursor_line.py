"""``plots.CursorLine``: the time cursor keeps its bounding rectangle through a move
across it, and is drawn, moved, resized and re-ranged exactly as pyqtgraph's own line."""

import pyqtgraph as pg

from lstm_viz.widgets.plots import CURSOR_PEN, CursorLine


def _plot(qtbot, line, auto_ranged=False):
    """A plot with ``line``, over x 0 … 100; ``auto_ranged``: one that auto-ranges over
    a curve and the line instead (not ignoring its bounds)."""
    view = pg.PlotWidget()
    view.resize(300, 200)
    if auto_ranged:
        view.plot([0.0, 10.0], [0.0, 1.0])
    else:
        view.setRange(xRange=(0, 100), yRange=(-1, 1), padding=0)
    view.addItem(line)
    if auto_ranged:
        view.enableAutoRange()
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


def _grab(qapp, view):
    for _ in range(3):
        qapp.processEvents()
    return view.grab().toImage()


def test_the_cursor_keeps_its_rectangle_and_draws_as_pyqtgraphs_line(qtbot, qapp):
    ours, theirs = CursorLine(), pg.InfiniteLine(angle=90, pen=CURSOR_PEN)
    mine, plain = _plot(qtbot, ours), _plot(qtbot, theirs)
    assert _grab(qapp, mine) == _grab(qapp, plain)
    steps = [
        lambda v, line: line.setValue(10),
        lambda v, line: line.setValue(73.25),
        lambda v, line: v.setRange(xRange=(50, 90), yRange=(-5, 5), padding=0),
        lambda v, line: line.setValue(60),
        lambda v, line: v.resize(420, 150),
        lambda v, line: line.setValue(88),
        lambda v, line: line.setPos((20, 0.5)),       # along the line too: recomputed
        lambda v, line: line.setValue(55),
    ]
    for step in steps:
        for view, line in ((mine, ours), (plain, theirs)):
            step(view, line)
        image = _grab(qapp, mine)
        assert image == _grab(qapp, plain)
        assert ours.boundingRect() == ours._computeBoundingRect()
        assert ours.boundingRect() == theirs.boundingRect()


def test_a_move_across_the_line_does_not_work_the_rectangle_out_again(qtbot, qapp):
    line = CursorLine()
    view = _plot(qtbot, line)
    _grab(qapp, view)
    line.boundingRect()
    computed = []
    work = line._computeBoundingRect
    line._computeBoundingRect = lambda: computed.append(1) or work()
    for x in (5, 40, 99):
        line.setValue(x)
        line.boundingRect()
    assert computed == []
    view.setRange(xRange=(0, 50), padding=0)                # the view changed: again
    _grab(qapp, view)
    line.boundingRect()
    assert computed


def _settled_range(qapp, view):
    for _ in range(3):
        qapp.processEvents()
    return view.getViewBox().viewRange()


def test_a_move_re_ranges_an_auto_ranging_view_as_pyqtgraphs_line(qtbot, qapp):
    # The line sends Qt no geometry changes; it tells its view of each move itself.
    ours, theirs = CursorLine(), pg.InfiniteLine(angle=90, pen=CURSOR_PEN)
    mine, plain = _plot(qtbot, ours, True), _plot(qtbot, theirs, True)
    steps = [lambda line: line.setValue(5.0),
             lambda line: line.setValue(30.0),           # past the curve: x grows
             lambda line: line.setValue(-12.0),
             lambda line: line.setAngle(0),              # (pyqtgraph's view is not told)
             lambda line: line.setValue(7.0)]
    ranges = []
    for step in steps:
        for line in (ours, theirs):
            step(line)
        ranges.append(_settled_range(qapp, mine))
        assert ranges[-1] == _settled_range(qapp, plain)
        assert _grab(qapp, mine) == _grab(qapp, plain)
    assert ranges[1][0][1] >= 30 and ranges[2][0][0] <= -12 and ranges[4][1][1] >= 7


def test_a_move_calls_no_item_change_from_qt(qtbot, qapp, monkeypatch):
    from pyqtgraph.graphicsItems.GraphicsObject import GraphicsObject
    changes = []
    original = GraphicsObject.itemChange

    def counted(item, change, value):
        changes.append((type(item).__name__, change.name))
        return original(item, change, value)
    monkeypatch.setattr(GraphicsObject, "itemChange", counted)   # before the lines exist
    ours, theirs = CursorLine(), pg.InfiniteLine(angle=90, pen=CURSOR_PEN)
    views = [_plot(qtbot, ours), _plot(qtbot, theirs)]   # kept: they own the lines
    changes.clear()
    for x in (10.0, 20.0, 30.0):
        ours.setValue(x)
        theirs.setValue(x)
    assert ours.value() == theirs.value() == 30.0 and len(views) == 2
    assert [c for c in changes if c[0] == "CursorLine"] == []
    assert changes.count(("InfiniteLine", "ItemPositionHasChanged")) == 3   # were counted
