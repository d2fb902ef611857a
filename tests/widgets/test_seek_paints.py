"""A seek paints each panel once (issue 16): a plot whose range or layout settled only
inside its paint (pyqtgraph's ``prepareForPaint``) queued a second paint of itself, and a
label whose text changed re-laid out its window and repainted what did not change."""

import numpy as np
from PySide6.QtCore import QEvent, QObject

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.source_panel import SourcePanel
from lstm_viz.widgets.view_docks import show_every_view


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
    rng = np.random.default_rng(3)
    seeks = 0
    for i in rng.integers(len(s.frames), size=30):
        if s.seek(int(i)):
            seeks += 1
            qapp.processEvents()
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
