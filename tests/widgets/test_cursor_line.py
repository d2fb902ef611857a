"""``plots.CursorLine``: the time cursor keeps its bounding rectangle through a move
across it, and is drawn, moved, resized and re-ranged exactly as pyqtgraph's own line."""

import pyqtgraph as pg

from lstm_viz.widgets.plots import CURSOR_PEN, CursorLine


def _plot(qtbot, line):
    view = pg.PlotWidget()
    view.resize(300, 200)
    view.setRange(xRange=(0, 100), yRange=(-1, 1), padding=0)
    view.addItem(line)
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
