"""A seek paints each panel once (issue 16): a plot whose range or layout settled only
inside its paint (pyqtgraph's ``prepareForPaint``) queued a second paint of itself, and a
label whose text changed re-laid out its window and repainted what did not change."""

import sys

import numpy as np
import pyqtgraph as pg
import pytest
from nonfinite import nan_trace
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QStandardItemModel

from lstm_viz.model.config import default_config
from lstm_viz.model.frame_data import VARIABLES
from lstm_viz.model.session import Session
from lstm_viz.model.variable_rows import COLUMNS, variable_row
from lstm_viz.pictures import contributions
from lstm_viz.widgets.source_panel import SourcePanel
from lstm_viz.widgets.variables_panel import GREY, RED
from lstm_viz.widgets.view_docks import PASS_VIEWS, VIEWS, show_every_view


class PaintCounter(QObject):
    """Counts the Paint events each watched widget receives."""

    def __init__(self, widgets: dict):
        super().__init__()
        self.counts = dict.fromkeys(widgets, 0)
        self._names = {id(w): name for name, w in widgets.items()}
        for w in widgets.values():
            w.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.counts[self._names[id(obj)]] += 1
        return False


def random_seeks(s, qapp, seed: int, count: int):
    """Seek ``count`` random frames of session ``s`` (``seed``); after each seek that
    moved the cursor, let the window paint, then yield."""
    for i in np.random.default_rng(seed).integers(len(s.frames), size=count):
        if s.seek(int(i)):
            qapp.processEvents()
            yield


def test_a_random_seek_paints_each_plot_once(make_window, qapp):
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    show_every_view(w)
    s = w.session
    intervene = w.intervener.panel
    plots = {"paths": w.views["paths"].graphics.viewport(),
             "intervene": intervene.graphics.viewport(),
             "bars": w.variables_panel.plot.plot.viewport()}
    for _ in range(5):
        qapp.processEvents()
    counter = PaintCounter(plots)
    seeks = sum(1 for _ in random_seeks(s, qapp, 3, 30))
    assert seeks >= 25
    for name, n in counter.counts.items():
        assert seeks * 0.5 <= n <= seeks, (name, n, seeks)      # repainted, but once a seek


class EventCounter(QObject):
    """Counts the events of one type each watched object receives."""

    def __init__(self, kind, objects: dict):
        super().__init__()
        self.kind = kind
        self.counts = dict.fromkeys(objects, 0)
        self._names = {id(o): name for name, o in objects.items()}
        for o in objects.values():
            o.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == self.kind:
            self.counts[self._names[id(obj)]] += 1
        return False


class WholePaints(QObject):
    """Counts the paints of all of a widget (not of a part under a child repainted)."""

    def __init__(self, widget):
        super().__init__()
        self.widget, self.count = widget, 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and event.rect() == self.widget.rect():
            self.count += 1
        return False


def test_a_seek_re_lays_out_none_of_the_panels_whose_texts_it_changes(make_window, qapp):
    # The frame's texts (timeline, status bar, source header, the bar plot's title)
    # change every seek; in their boxes (steady.py) that repaints them alone.
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    s = w.session
    for _ in range(5):
        qapp.processEvents()
    watched = {"status bar": w.statusBar(), "timeline": w.timeline,
               "source": w.findChild(SourcePanel), "bar plot": w.variables_panel.plot}
    counter = EventCounter(QEvent.Type.LayoutRequest, watched)
    whole = WholePaints(w.statusBar())
    texts = set()
    for i in np.random.default_rng(4).integers(len(s.frames), size=20):
        s.seek(int(i))
        qapp.processEvents()
        texts.add((w.timeline.text(), w.status_line.grads.full_text(),
                   w.findChild(SourcePanel).header.text(), w.variables_panel.plot.title.text()))
    assert len(texts) >= 15                           # the texts did change
    assert counter.counts == dict.fromkeys(watched, 0)
    assert whole.count == 0             # its fields repaint (over its background), not all


def _every_view_shown(make_window, qapp, layers: int):
    """A window of a pass with every view (a read-out, an embedding's tokens, ``layers``
    stacked layers), each view visible: {name: view}."""
    w = make_window(Session(default_config("text", steps=40, hidden=8, layers=layers)))
    show_every_view(w)
    for _ in range(5):
        qapp.processEvents()
    shown = {name: w.views[name] for name, _, _ in VIEWS + PASS_VIEWS
             if w.view_docks[name].isVisible()}
    return w, shown


@pytest.mark.parametrize("layers", [1, 2])
def test_a_random_seek_re_lays_out_no_view(make_window, qapp, layers):
    # Each view's caption changes every seek; in its box (steady.py) that repaints the
    # caption alone, not the view and its dock re-laid out.
    w, shown = _every_view_shown(make_window, qapp, layers)
    assert {"flow", "heatmaps", "param_grads", "predictions", "readout_grads"} <= set(shown)
    assert ("depth_flow" in shown) == (layers > 1)
    watched = {**shown, **{f"{name} dock": w.view_docks[name] for name in shown}}
    s = w.session
    for layer in range(layers):                 # each layer's size shown once (its page
        s.goto(f"bwd:5:L{layer}:ds" if layers > 1 else "bwd:5:ds")   # of parameter
        qapp.processEvents()                    # gradients built, param_grads_view.py)
    counter = EventCounter(QEvent.Type.LayoutRequest, watched)
    texts = {name: set() for name in ("flow", "param_grads", "predictions")}
    seeks = switches = 0
    layer = s.view_layer
    for _ in random_seeks(s, qapp, 5, 30):
        seeks += 1
        switches += s.view_layer != layer
        layer = s.view_layer
        for name in texts:
            texts[name].add(shown[name].info.text())
    assert seeks >= 25
    assert all(len(t) >= 5 for t in texts.values()), texts          # the captions changed
    # but for the parameter gradients' page of the other layer's size, shown in its place
    # (param_grads_view.py: one re-layout of the view, and so its dock, per change)
    pages = {name: counter.counts.pop(name) for name in ("param_grads", "param_grads dock")}
    assert counter.counts == {n: 0 for n in watched if n not in pages}
    assert all(0 < n <= switches for n in pages.values()) if layers > 1 else \
        pages == dict.fromkeys(pages, 0)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_random_seek_works_out_no_axis_rectangle_and_sends_no_cursor_move_to_python(
        make_window, qapp, monkeypatch, layers):
    # Qt asks each item of a view for its bounding rectangle on every paint of the view:
    # the axes give the one they keep (kept_axis.py; pyqtgraph worked it out ~117 times
    # a seek), and a cursor's move calls no itemChange (plots.CursorLine; two a move).
    from pyqtgraph.graphicsItems.GraphicsObject import GraphicsObject

    from lstm_viz.widgets.kept_axis import KeptPictures
    from lstm_viz.widgets.plots import CursorLine

    on = [False]
    counts = {"asked": 0, "worked out": 0, "cursor moves": 0}
    # (an axis keeping no rectangle is asked through pyqtgraph's own method)
    kept = KeptPictures.__dict__.get("boundingRect")
    worked, change = pg.AxisItem.boundingRect, GraphicsObject.itemChange

    def asked(axis):
        counts["asked"] += on[0]
        return kept(axis)

    def worked_out(axis):
        ours = on[0] and isinstance(axis, KeptPictures)
        counts["worked out"] += ours
        counts["asked"] += ours and kept is None
        return worked(axis)

    moves = {GraphicsObject.GraphicsItemChange.ItemPositionChange,
             GraphicsObject.GraphicsItemChange.ItemPositionHasChanged}

    def item_change(item, what, value):
        counts["cursor moves"] += on[0] and isinstance(item, CursorLine) and what in moves
        return change(item, what, value)
    # before any item is made: PySide looks an item's Python methods up at its first call
    if kept is not None:
        monkeypatch.setattr(KeptPictures, "boundingRect", asked)
    monkeypatch.setattr(pg.AxisItem, "boundingRect", worked_out)
    monkeypatch.setattr(GraphicsObject, "itemChange", item_change)
    w, _ = _every_view_shown(make_window, qapp, layers)
    s = w.session
    for layer in range(layers):                 # each layer's axes laid out once
        s.goto(f"bwd:5:L{layer}:ds" if layers > 1 else "bwd:5:ds")
        qapp.processEvents()
    seeks = switches = 0
    layer = s.view_layer
    on[0] = True
    for _ in random_seeks(s, qapp, 9, 30):
        seeks += 1
        switches += s.view_layer != layer
        layer = s.view_layer
    on[0] = False
    assert seeks >= 25 and (switches > 5) == (layers > 1)
    assert counts["asked"] >= 30 * seeks, counts           # Qt did ask, often
    # again only for an axis re-laid out (its labels' width changed)
    assert counts["worked out"] <= seeks, counts
    assert counts["cursor moves"] == 0, counts


def test_the_flow_view_paints_once_a_seek_across_layers(make_window, qapp):
    # A seek into the other layer gives the flow view and the parameter gradients new
    # ranges and axes: settled at the change, not in the paint, where they queued a second
    # paint of their plots.
    w, shown = _every_view_shown(make_window, qapp, 2)
    plots = {name: shown[name].graphics.viewport()
             for name in ("flow", "param_grads", "predictions", "readout_grads",
                          "depth_flow")}
    counter = PaintCounter(plots)
    layers = set()
    s = w.session
    seeks = 0
    for _ in random_seeks(s, qapp, 3, 40):
        seeks += 1
        layers.add(s.view_layer)
    assert seeks >= 30 and layers == {0, 1}
    for name, n in counter.counts.items():
        assert seeks * 0.5 <= n <= seeks, (name, n, seeks)      # repainted, but once a seek


def test_the_loss_to_cell_view_paints_once_a_seek_between_a_matrix_and_none(
        make_window, qapp, monkeypatch):
    # One layer's matrix computed, the other's not (it waits for Compute): a seek across
    # layers shows or hides the axes and the colour bar, laid out at the change, not after
    # the paint, where the layout queued two more paints.
    monkeypatch.setattr(contributions, "AUTO_COMPUTE_MACS", 0)
    w, shown = _every_view_shown(make_window, qapp, 2)
    s, view = w.session, shown["loss_to_cell"]
    s.goto("bwd:20:L0:ds")
    qapp.processEvents()
    view.view_data.contributions.compute()
    view._redraw()
    qapp.processEvents()
    counter = PaintCounter({"loss_to_cell": view.graphics.viewport()})
    axes = set()
    seeks = 0
    for _ in random_seeks(s, qapp, 3, 40):
        seeks += 1
        axes.add((s.view_layer, view.map.bar.isVisible()))
    assert seeks >= 30 and axes == {(0, True), (1, False)}
    assert seeks * 0.5 <= counter.counts["loss_to_cell"] <= seeks


def test_a_seek_across_layers_draws_no_axis_anew_in_the_pictures(make_window, qapp):
    # Each layer gives the parameter gradients' colour bars their levels, the flow plots
    # their ranges, the heatmaps and loss-to-cell their axes: once both layers have been
    # shown, a seek back into either plays the axes' kept pictures (plots.KeptPictures);
    # pyqtgraph generated every changed axis's ticks and labels again, at every change.
    w, shown = _every_view_shown(make_window, qapp, 2)
    names = ("param_grads", "flow", "heatmaps", "loss_to_cell")
    made = dict.fromkeys(names, 0)
    axes = {name: [i for view in shown[name].findChildren(pg.GraphicsView)
                   for i in view.scene().items() if isinstance(i, pg.AxisItem)]
            for name in names}
    s = w.session
    rng = np.random.default_rng(6)
    frames = rng.integers(len(s.frames), size=60)
    for i in frames[:20]:                               # both layers drawn once
        s.seek(int(i))
        qapp.processEvents()
    for name in names:
        assert len(axes[name]) >= 4
        for axis in axes[name]:
            generate = axis.generateDrawSpecs

            def counted(p, generate=generate, name=name):
                made[name] += 1
                return generate(p)

            axis.generateDrawSpecs = counted
    layers = []
    for i in frames[20:]:
        if s.seek(int(i)):
            layers.append(s.view_layer)
            qapp.processEvents()
    switches = sum(a != b for a, b in zip(layers, layers[1:], strict=False))
    assert switches >= 10
    assert made == dict.fromkeys(names, 0), (made, switches)


def test_a_seek_across_layers_computes_each_flow_curve_once(make_window, qapp):
    # Another layer gives the flow curves their data and the plots their y ranges; the
    # new range made every curve compute its drawn points a second time (pyqtgraph's
    # dynamic range limit, which the whole-pass ranges never need).
    w, shown = _every_view_shown(make_window, qapp, 2)
    view = shown["flow"]
    curves = [*view.curves.values(), view.f_hi, view.f_lo, view.f_median]
    counts = [0] * len(curves)
    for k, c in enumerate(curves):
        update = c.updateItems

        def counted(*a, update=update, k=k, **kw):
            counts[k] += 1
            return update(*a, **kw)

        c.updateItems = counted
    s = w.session
    layers = [s.view_layer]
    for i in np.random.default_rng(7).integers(len(s.frames), size=40):
        if s.seek(int(i)):
            layers.append(s.view_layer)
            qapp.processEvents()
    switches = sum(a != b for a, b in zip(layers, layers[1:], strict=False))
    assert switches >= 10
    assert all(n <= switches for n in counts), (counts, switches)


class SceneCalls:
    """Calls of methods, counted per scene a view draws in (``scenes``: scene -> the
    view's name) while ``on``: ``counts[(view, method)]``. ``count`` wraps a class's
    method (or ``original``, for one the class inherits from Qt)."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.scenes: dict = {}
        self.counts: dict = {}
        self.on = False

    def count(self, cls, method: str, original=None) -> None:
        original = original or getattr(cls, method)

        def wrapper(item, *args, **kwargs):
            where = self.scenes.get(item.scene())
            if self.on and where is not None:
                self.counts[where, method] = self.counts.get((where, method), 0) + 1
            return original(item, *args, **kwargs)
        self.monkeypatch.setattr(cls, method, wrapper)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_seek_re_ranges_and_redraws_nothing_in_the_paths_and_intervene_plots(
        make_window, qapp, monkeypatch, layers):
    # Their axes and curves are set once per pass and layer (the Intervene panel's x
    # range followed the cursor: 3 autoranges and 2 axis re-layouts a seek; the paths view
    # auto-ranged the norms of the steps known and set its five curves again every
    # seek): a seek moves the cursor lines and the paths view's clipping windows, and
    # the curves are drawn from their pixmaps. A seek into the other layer shows that
    # layer's curves, kept, on that layer's ranges.
    import pyqtgraph as pg

    calls = SceneCalls(monkeypatch)
    # before any item is made: PySide looks an item's Python paint up once, at its first
    for cls, method in ((pg.ViewBox, "updateAutoRange"), (pg.AxisItem, "generateDrawSpecs"),
                        (pg.PlotCurveItem, "paint"), (pg.PlotDataItem, "setData")):
        calls.count(cls, method)
    counts = calls.counts
    w, shown = _every_view_shown(make_window, qapp, layers)
    panel = w.intervener.panel
    s = w.session
    calls.scenes.update({shown["paths"].graphics.scene(): "paths",
                         panel.graphics.scene(): "intervene"})
    s.whatif.apply("--cut h@5:20")              # the panel with curves, then without
    for frame in ("bwd:5:L0:ds", "bwd:5:L1:ds")[:layers]:    # each layer's curves made
        s.goto(frame if layers > 1 else "bwd:5:ds")
        qapp.processEvents()
    seeks, switches, known = 0, 0, set()
    for n, i in enumerate(np.random.default_rng(8).integers(len(s.frames), size=40)):
        if n == 20:
            s.whatif.clear()
        qapp.processEvents()
        layer = s.view_layer
        calls.on = True
        if s.seek(int(i)):
            seeks += 1
            switches += s.view_layer != layer
            known.add(len(shown["paths"].state.t) > 0)
            qapp.processEvents()
        calls.on = False
    assert seeks >= 30 and known == {True, False}
    assert (switches > 10) == (layers > 1)
    for where in ("paths", "intervene"):
        assert counts.get((where, "updateAutoRange"), 0) == 0, counts
        # the norms' and the ‖ds‖ axes re-labelled for the other layer's range
        assert counts.get((where, "generateDrawSpecs"), 0) <= switches, counts
    assert counts.get(("paths", "setData"), 0) == 0, counts
    # the loss is the whole pass's: only the two ‖ds‖ curves are of the layer
    assert counts.get(("intervene", "setData"), 0) <= 2 * switches, counts
    # Else drawn from their pixmaps: those on a new range again (the three norms; the
    # shares' range is the same in every layer).
    assert counts.get(("paths", "paint"), 0) <= 3 * switches, counts
    assert counts.get(("intervene", "paint"), 0) <= 2 * switches, counts


def test_a_seek_repaints_no_dock_around_the_source_and_the_variables(make_window, qapp):
    # The panels paint their own background: the header, the bar plot's title and the
    # scroll bars a seek repaints stop there instead of repainting the dock (whose title
    # bar QDockWidget draws again, under a clip that hides it).
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    for _ in range(5):
        qapp.processEvents()
    docks = {"source": w.source_dock, "variables": w.variables_dock}
    panels = {"source panel": w.findChild(SourcePanel).view,
              "table": w.variables_panel.table.viewport()}
    counter = PaintCounter({**docks, **panels})
    s = w.session
    seeks = sum(1 for _ in random_seeks(s, qapp, 6, 20))
    assert seeks >= 15
    assert counter.counts["source panel"] >= seeks * 0.5      # the panels did repaint
    assert counter.counts["table"] >= seeks * 0.5
    assert counter.counts["source"] == counter.counts["variables"] == 0


class PaintRects(QObject):
    """The bounding rectangle of each paint of a widget."""

    def __init__(self, widget):
        super().__init__()
        self.rects = []
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.region().boundingRect())
        return False


def test_a_seek_repaints_the_variables_first_column_only_where_the_highlight_moved(
        make_window, qapp):
    # The names do not change with the frame: a seek repaints the values' columns, and the
    # first column only of the rows whose highlight came or went.
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    panel, s = w.variables_panel, w.session
    for _ in range(5):
        qapp.processEvents()
    panel.follow.setChecked(False)
    s.select("h")                                        # stays selected while seeking
    qapp.processEvents()
    table = panel.table
    values_from = table.columnViewportPosition(1)
    paints = PaintRects(table.viewport())
    seeks = sum(1 for _ in random_seeks(s, qapp, 8, 12))
    assert seeks >= 10 and len(paints.rects) >= seeks * 0.5
    assert all(r.left() >= values_from for r in paints.rects), paints.rects
    s.select("s")                                        # the highlight moves: two rows
    qapp.processEvents()
    moved = paints.rects[-1]
    assert moved.left() == 0
    assert moved.height() <= table.rowViewportPosition(VARIABLES.index("h")) + \
        table.rowHeight(0) - table.rowViewportPosition(VARIABLES.index("s")) + 1
    assert table.selectionModel().isRowSelected(VARIABLES.index("s"))
    assert not table.selectionModel().isRowSelected(VARIABLES.index("h"))


def test_a_step_repaints_the_variables_rows_that_changed_alone(make_window, qapp):
    # From fwd:5:g to fwd:5:i only i's row reads differently (it is computed now): the
    # table repaints that row's values, not the whole table.
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    panel, s = w.variables_panel, w.session
    for _ in range(5):
        qapp.processEvents()
    panel.follow.setChecked(False)
    s.select("x")                                     # the top rows in view
    s.goto("fwd:5:g")
    qapp.processEvents()
    table = panel.table
    paints = PaintRects(table.viewport())
    before = {name: panel.row_text(name) for name in ("g", "f")}
    s.goto("fwd:5:i")
    qapp.processEvents()
    row = VARIABLES.index("i")
    assert [(r.left() >= table.columnViewportPosition(1), r.top(),
             r.height() <= table.rowHeight(row) + 1)          # and its grid line
            for r in paints.rects] == [(True, table.rowViewportPosition(row), True)]
    assert panel.row_text("i")[2] != "not yet computed"      # and it shows the value
    assert {name: panel.row_text(name) for name in ("g", "f")} == before
    s.goto("fwd:6:i")                                 # another step: every known row
    qapp.processEvents()
    assert paints.rects[-1].height() >= 3 * table.rowHeight(row)


def _python_calls_painting(table) -> list[str]:
    """The Python functions called while the table's cells are painted (alone)."""
    calls: list[str] = []

    def profile(frame, event, arg):
        if event == "call":
            calls.append(frame.f_code.co_name)
    table.viewport().grab()             # once before: what a grab sends first (a resize)
    sys.setprofile(profile)
    try:
        table.viewport().grab()
    finally:
        sys.setprofile(None)
    return calls


def _as_painted(model, row: int) -> tuple:
    """Row ``row`` as Qt's item model gives it to the painting: texts, colours, the shape
    in italics, alignments."""
    index = [model.index(row, c) for c in range(len(COLUMNS))]
    font = model.data(index[2], Qt.ItemDataRole.FontRole)
    return (tuple(model.data(i) for i in index),
            tuple(model.data(i, Qt.ItemDataRole.ForegroundRole) for i in index),
            font is not None and font.italic(),
            tuple(model.data(i, Qt.ItemDataRole.TextAlignmentRole) for i in index))


def _as_formatted(s, row: int) -> tuple:
    """Row ``row`` as the model layer formats it: greyed (shape in italics) when not
    computed yet, red with a NaN or Inf, numbers right-aligned."""
    want = variable_row(s.data, VARIABLES[row], s.view_index)
    colour = GREY if not want.known else RED if want.nonfinite else None
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    return (want.texts, (None,) + (colour,) * (len(COLUMNS) - 1), not want.known,
            (None,) * 3 + (right,) * (len(COLUMNS) - 3))


def _check_painted(panel) -> None:
    shown = panel._rows_shown()
    assert shown is not None and len(shown) >= 3
    for r in shown:                     # as the window's own paint left them
        assert _as_painted(panel.model, r) == _as_formatted(panel.session, r), \
            (VARIABLES[r], panel.session.frame_text)
    # fewer Python calls than cells painted (it was several a cell)
    calls = _python_calls_painting(panel.table)
    assert len(calls) < len(shown) * len(COLUMNS), calls


def test_the_variables_table_paints_from_qt_items_without_calling_python(make_window, qapp):
    # The cells are kept in Qt's own item model: painting the table calls Python once, not
    # per cell (a Python data() was asked for every role of every visible cell, ~440 calls
    # a seek). Its items hold the model layer's rows through seeks, steps, a layer switch,
    # a new pass, a scroll to rows never shown and a dock hidden over a seek.
    w = make_window(Session(default_config("random", steps=8, inputs=3, hidden=4, layers=2)))
    panel, s = w.variables_panel, w.session
    for _ in range(5):
        qapp.processEvents()
    assert panel.table.model() is panel.model and isinstance(panel.model, QStandardItemModel)
    assert type(panel.model).data is QStandardItemModel.data        # no Python data()
    rng = np.random.default_rng(12)
    for i in rng.integers(len(s.frames), size=10):
        s.seek(int(i))
        qapp.processEvents()
        _check_painted(panel)
    s.goto("fwd:2:L0:g")
    for _ in range(6):                                   # steps: a row or two change
        s.step_into()
        qapp.processEvents()
        _check_painted(panel)
    s.goto("bwd:3:L0:ds")
    s.set_view_layer(1)                                  # the other layer, same cursor
    qapp.processEvents()
    _check_painted(panel)
    s.configure(default_config("random", steps=8, inputs=3, hidden=4, layers=2, seed=9))
    qapp.processEvents()
    s.goto("bwd:3:L1:ds")                                # a new pass
    qapp.processEvents()
    _check_painted(panel)
    panel.follow.setChecked(False)
    bar = panel.table.verticalScrollBar()
    for end in (bar.maximum(), bar.minimum(), bar.maximum()):   # rows not shown at the seek
        s.seek(int(rng.integers(len(s.frames))))
        qapp.processEvents()
        bar.setValue(end)
        qapp.processEvents()
        _check_painted(panel)
    w.variables_dock.hide()
    qapp.processEvents()
    s.seek(int(rng.integers(len(s.frames))))
    qapp.processEvents()
    w.variables_dock.show()
    qapp.processEvents()
    _check_painted(panel)


def test_the_variables_table_holds_nan_and_inf_rows_in_red(make_window, qapp):
    # ds holds a NaN at step 1 and an Inf at step 2 (nonfinite.py): its row turns red at
    # those steps and back at the others, in Qt's items as the model layer says.
    base = Session(default_config("random", steps=6, inputs=3, hidden=5))
    w = make_window(Session(trace=nan_trace(base.trace)))
    panel, s = w.variables_panel, w.session
    ds = VARIABLES.index("ds")
    reds = []
    for frame in ("bwd:3:ds", "bwd:2:ds", "bwd:1:ds", "bwd:0:ds", "fwd:0:s", "fwd:1:s"):
        s.goto(frame)
        qapp.processEvents()
        _check_painted(panel)
        row = ds if frame.startswith("bwd") else VARIABLES.index("s")
        reds.append(panel.model.data(panel.model.index(row, 3),
                                     Qt.ItemDataRole.ForegroundRole) == RED)
    assert reds == [False, True, True, False, True, False]


def _count_carousel_setters(view):
    """Wraps each strip's pixmap and text setters and each line's pen setter of the
    carousel view: {part: calls}."""
    counts: dict = {}

    def counted(key, method):
        def wrapper(*args):
            counts[key] = counts.get(key, 0) + 1
            return method(*args)
        return wrapper

    for name, strip in view.strips.items():
        strip.pixmap.setPixmap = counted(("pixmap", name), strip.pixmap.setPixmap)
        strip.pixmap.setTransform = counted(("scale", name), strip.pixmap.setTransform)
        strip.norm.setText = counted(("norm", name), strip.norm.setText)
        strip.caption.setText = counted(("caption", name), strip.caption.setText)
        strip.frame.setPen = counted(("frame", name), strip.frame.setPen)
    for name, line in view.lines.items():
        line.setPen = counted(("line", name), line.setPen)
    for name, box in view.gates.items():
        box.setPen = counted(("gate", name), box.setPen)
    return counts


def test_a_step_sets_only_the_carousel_parts_that_changed(make_window, qapp):
    # From fwd:5:f to fwd:5:o only o is newly computed, and the highlight moves from f to
    # o: the carousel sets o's cells and norm, and the pens of f and o (each setter is a
    # call into Qt that marks its item for repainting). It set every strip, text and pen.
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    show_every_view(w)
    view, s = w.views["carousel"], w.session
    for frame in ("fwd:4:o", "fwd:5:f"):            # o's strip shown once (its scale set)
        s.goto(frame)
        qapp.processEvents()
    counts = _count_carousel_setters(view)
    s.goto("fwd:5:o")
    qapp.processEvents()
    assert view.state.highlight == ("o",)
    assert counts == {("pixmap", "o"): 1, ("norm", "o"): 1, ("frame", "f"): 1,
                      ("frame", "o"): 1, ("line", "f"): 1, ("line", "o"): 1,
                      ("gate", "f"): 1, ("gate", "o"): 1}, counts
    counts.clear()
    s.goto("fwd:5:f")
    s.goto("fwd:5:o")
    qapp.processEvents()
    assert ("pixmap", "o") not in counts and counts[("line", "o")] == 2, counts


def test_a_random_seek_sets_each_carousel_pixmap_once_at_most(make_window, qapp):
    # Across random seeks a strip's pixmap and scale are set only when its cells change
    # (the scale only when the number of units does: never, after the first frame).
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    show_every_view(w)
    view, s = w.views["carousel"], w.session
    for frame in ("fwd:5:h", "bwd:5:dxc"):          # every strip shown once (its scale set)
        s.goto(frame)
        qapp.processEvents()
    counts = _count_carousel_setters(view)
    seeks, changed = 0, dict.fromkeys(view.strips, 0)
    before = {name: strip._colours for name, strip in view.strips.items()}
    for _ in random_seeks(s, qapp, 9, 30):
        seeks += 1
        for name, strip in view.strips.items():
            changed[name] += strip._colours != before[name]
            before[name] = strip._colours
    assert seeks >= 25
    for name in view.strips:
        assert counts.get(("pixmap", name), 0) == changed[name], (name, counts)
        assert counts.get(("scale", name), 0) == 0, counts
    assert sum(changed.values()) < 0.9 * seeks * len(view.strips)     # some cells stayed


def test_a_float32_gradient_map_shows_the_accumulator_itself(make_window, qapp):
    """A float32 trace's weight gradients are drawable as they are: each map's image is
    the frame's accumulator (no copy into a buffer, no pass over it to check it: its
    largest |value| comes from the frame's statistics), with the same values."""
    from lstm_engine.live import WEIGHT_DIFFS

    w = make_window(Session(default_config("random", steps=12, inputs=3, hidden=4,
                                           dtype="float32")))
    s = w.session
    show_every_view(w)
    view = w.views["param_grads"]
    seen = 0
    for _ in random_seeks(s, qapp, 8, 25):
        if s.frame.phase != "bwd":
            continue
        seen += 1
        acc = s.data.accumulators(s.view_index)
        for name in WEIGHT_DIFFS:
            image = view.maps[name].image.image
            np.testing.assert_array_equal(image, acc[name])
            # the live gradients' own array: the map's buffer was never filled
            assert not np.shares_memory(image, view.page.buffers[name])
            assert not view.page.buffers[name].any()
    assert seen > 5


def test_a_gradient_map_marked_again_with_the_same_rows_sets_no_marks(make_window, qapp):
    """Each step's ``wo_diff += …`` changes every row (of a random run): seeking between
    those statements of different steps keeps the marks' points (a scatter's setData
    costs a repaint), only showing and hiding them."""
    w = make_window(Session(default_config("random", steps=12, inputs=3, hidden=4)))
    s = w.session
    show_every_view(w)
    view = w.views["param_grads"]
    calls = []
    for marks in view.marks.values():
        original = marks.setData
        marks.setData = lambda *a, _o=original, **k: (calls.append(1), _o(*a, **k))[1]
    s.goto("bwd:8:wo_diff")
    qapp.processEvents()
    calls.clear()
    for frame in ("bwd:5:wo_diff", "bwd:2:dxc", "bwd:7:wo_diff", "bwd:3:bo_diff",
                  "bwd:6:wo_diff", "bwd:4:bo_diff"):
        s.goto(frame)
        qapp.processEvents()
        name = frame.split(":")[2]
        shown = {"bo_diff": "bias", "dxc": None}.get(name, name)
        assert [n for n, m in view.marks.items() if m.isVisible()] == \
            ([shown] if shown else []), frame
    assert len(calls) == 1                     # bo_diff's marks, the first time only


def test_a_backward_seek_computes_the_accumulators_and_their_stats_once(make_window, qapp,
                                                                       monkeypatch):
    """Every view, the source notes, the table, the bar plot and the status bar share one
    accumulation per frame (one LiveGradients query: a GEMM after a random seek) and one
    summary per accumulator (the parameter maps' peaks come from it)."""
    from lstm_viz.model import frame_data

    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    show_every_view(w)
    s = w.session
    # each accumulator's fixed levels and bar range, sampled once per pass (first use)
    for name in frame_data.ACCUMULATORS:
        s.goto(f"bwd:5:{name}")
        qapp.processEvents()
    live = s.data.live
    queries, summaries = [], []
    accumulated = live.accumulated
    monkeypatch.setattr(live, "accumulated",
                        lambda *a, **k: (queries.append(a), accumulated(*a, **k))[1])
    summarize = frame_data.summarize
    monkeypatch.setattr(frame_data, "summarize",
                        lambda a, *r: (summaries.append(a.shape), summarize(a, *r))[1])
    seen = 0
    for _ in random_seeks(s, qapp, 12, 30):
        if s.frame.phase == "bwd":
            seen += 1
            assert len(queries) == 1, s.frame_text
            matrices = [shape for shape in summaries if len(shape) == 2]
            assert len(matrices) <= 4, s.frame_text      # wi_diff … wg_diff, once each
        queries.clear()
        summaries.clear()
    assert seen > 10


def test_a_seek_into_the_other_layer_draws_its_pictures_from_their_pixmaps(
        make_window, qapp, monkeypatch):
    # Once both layers have been shown, a seek into either shows that layer's curves,
    # band and images as they were drawn (layer_frames.py, Heatmap.keep_images): no curve
    # gets its data again, no path or image is drawn anew. The flow view set its seven
    # curves again and every curve of the flow and paths views was drawn again on the new
    # range; the heatmaps' and loss-to-cell's kept images were hidden, which threw their
    # pixmaps away, and drawn again from their pictures.
    from PySide6.QtWidgets import QGraphicsPathItem

    from lstm_viz.widgets.flow_view import Band

    calls = SceneCalls(monkeypatch)
    # before any item is made: PySide looks an item's Python paint up once, at its first
    for cls, method in ((pg.PlotDataItem, "setData"), (pg.PlotCurveItem, "paint"),
                        (pg.ImageItem, "paint"), (Band, "updatePath")):
        calls.count(cls, method)
    calls.count(Band, "paint", QGraphicsPathItem.paint)   # the band drawn into its pixmap
    w, shown = _every_view_shown(make_window, qapp, 2)
    for name in ("flow", "paths", "heatmaps", "loss_to_cell"):
        for view in shown[name].findChildren(pg.GraphicsView):
            calls.scenes[view.scene()] = name
    s = w.session
    for frame in ("fwd:5:L0:s", "fwd:5:L1:s", "bwd:5:L0:ds", "bwd:5:L1:ds"):
        s.goto(frame)                         # each layer drawn, before and after ∏ f
        qapp.processEvents()
    assert shown["loss_to_cell"].image is not None         # a matrix in both layers
    seeks, switches = 0, 0
    for i in np.random.default_rng(10).integers(len(s.frames), size=40):
        layer = s.view_layer
        calls.on = True
        if s.seek(int(i)):
            seeks += 1
            switches += s.view_layer != layer
            qapp.processEvents()
        calls.on = False
    assert seeks >= 30 and switches >= 10
    assert calls.counts == {}, (calls.counts, switches)


def test_the_flow_view_shows_each_layers_numbers_through_pass_what_if_and_scale(
        make_window, qapp):
    # Each layer's curves and band are kept while the pass and the scale are the same, and
    # set again for a new pass, an intervention, the other scale: at every step the layer
    # in view's curves hold its numbers, on its ranges as the axes label them.
    from lstm_viz.pictures.view_data import ViewData
    from lstm_viz.pictures.whatif import other_pass_ds

    w, shown = _every_view_shown(make_window, qapp, 2)
    view, s = shown["flow"], w.session

    def check():
        vd = ViewData.of(s.data)
        log = view.log.isChecked()
        for name, values in vd.flow.curve_values(log).items():
            np.testing.assert_array_equal(view.curves[name].yData, values)
        med, q10, q90 = vd.flow.forget()
        np.testing.assert_array_equal(view.f_median.yData, med)
        np.testing.assert_array_equal(view.f_hi.yData, q90)
        np.testing.assert_array_equal(view.f_lo.yData, q10)
        other = other_pass_ds(s, log)
        if other is None:
            assert view.other.yData is None or len(view.other.yData) == 0
        else:
            np.testing.assert_array_equal(view.other.yData, other[2])
        assert list(view.norms.getAxis("left").range) == pytest.approx(
            list(vd.flow.norm_range(log)))
        assert list(view.forget.getAxis("left").range) == pytest.approx(
            list(vd.flow.forget_range()))
        assert [layer.norm_frame.opacity() for layer in view._layers.values()] == \
            [float(layer is view._current) for layer in view._layers.values()]

    for frame in ("bwd:5:L0:ds", "bwd:5:L1:ds", "bwd:7:L0:ds"):
        s.goto(frame)
        qapp.processEvents()
        check()
    s.configure(s.config.with_(seed=s.config.seed + 1))       # another pass
    for frame in ("bwd:5:L1:ds", "bwd:5:L0:ds"):
        s.goto(frame)
        qapp.processEvents()
        check()
    s.whatif.apply("--cut h@2:9/L1")                            # what if
    for frame in ("bwd:5:L1:ds", "bwd:5:L0:ds"):
        s.goto(frame)
        qapp.processEvents()
        check()
    view.log.setChecked(False)                                  # the other scale
    for frame in ("bwd:6:L1:ds", "bwd:6:L0:ds"):
        s.goto(frame)
        qapp.processEvents()
        check()
    s.whatif.clear()
    s.configure(s.config.with_(layers=1))                      # one layer: its pictures only
    s.goto("bwd:5:ds")
    qapp.processEvents()
    check()
    assert list(view._layers) == [0]


def test_a_random_seek_paints_the_source_view_once(make_window, qapp):
    # A note that takes a row of its own changes the view's height: the scroll area took
    # the new height only after a paint, so the view was painted at the old range's
    # scroll, then again at the new (a third of the seeks painted it twice).
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    w.resize(1366, 768)
    w.resizeDocks([w.source_dock], [620], Qt.Orientation.Horizontal)     # notes wrap
    for _ in range(5):
        qapp.processEvents()
    view = w.source_panel.view
    counter = PaintCounter({"source": view})
    s = w.session
    heights = set()
    seeks = 0
    for _ in random_seeks(s, qapp, 11, 30):
        seeks += 1
        heights.add(view.height())
    assert seeks >= 25 and len(heights) >= 10              # the height did change
    assert seeks * 0.5 <= counter.counts["source"] <= seeks


def test_a_step_repaints_the_source_rows_that_changed_alone(make_window, qapp):
    # From fwd:5:g to fwd:5:i the current line moves from g's line to i's (g's note turns
    # short, i's appears): those two rows are repainted, not the view. From bwd:5:ds to
    # bwd:6:ds the same line is current and only the notes' numbers change: the notes
    # are repainted, not the code or the line numbers.
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    w.resize(2400, 1000)
    w.resizeDocks([w.source_dock], [1700], Qt.Orientation.Horizontal)    # notes beside
    s = w.session
    panel = w.source_panel
    view = panel.view
    s.goto("fwd:5:g")
    qapp.processEvents()
    paints = PaintRects(view)
    st = view.state
    rows = {name: line for line, name in st.ran.items()}
    s.goto("fwd:5:i")
    qapp.processEvents()
    assert view.state.current == rows["g"] + 1                 # i's line under g's
    assert len(paints.rects) == 1
    painted = paints.rects[0]
    ys = view.layout()[0]
    assert painted.top() >= int(ys[rows["g"]]) and \
        painted.bottom() <= ys[rows["g"]] + 2 * view.line_h + 1, painted
    s.goto("bwd:5:ds")
    qapp.processEvents()
    places = view.layout()[1]
    assert all(p[1] == view.layout()[0][n] for n, p in places.items())    # all beside
    paints.rects.clear()
    s.goto("bwd:6:ds")
    qapp.processEvents()
    assert len(paints.rects) == 1
    left = min(p[0] for p in places.values()) - 10            # a note's box, its ink
    assert paints.rects[0].left() >= left, (paints.rects, left)


def test_a_full_paint_of_the_source_lays_out_only_the_notes(make_window, qapp,
                                                           monkeypatch):
    # The code and the line numbers are the same at every seek: laid out once per line
    # (QStaticText), a paint of all of the view shapes only the notes' texts. Each line
    # and each number was shaped again at every paint (drawText, two a row).
    from lstm_viz.widgets import source_panel

    calls = {"drawText": 0, "drawStaticText": 0}

    class Counted(source_panel.QPainter):
        def drawText(self, *args):
            calls["drawText"] += 1
            return super().drawText(*args)

        def drawStaticText(self, *args):
            calls["drawStaticText"] += 1
            return super().drawStaticText(*args)

    monkeypatch.setattr(source_panel, "QPainter", Counted)
    w = make_window(Session(default_config("random", steps=40, inputs=6, hidden=8)))
    s = w.session
    view = w.source_panel.view
    for frame in ("fwd:5:h", "bwd:5:ds", "loss", "bwd:7:dg"):
        s.goto(frame)
        qapp.processEvents()
        shown = view.visibleRegion()
        rows = [n for n in range(len(view.state.lines))
                if shown.intersects(view.line_rect(n).toAlignedRect())]
        calls.update(dict.fromkeys(calls, 0))
        view.repaint()
        notes = sum(n in view.layout()[1] for n in rows)
        assert len(rows) >= 5, frame
        assert calls["drawText"] == notes, (frame, calls, notes)
        assert calls["drawStaticText"] >= len(rows), (frame, calls)
