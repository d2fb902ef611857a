"""A seek paints each panel once (issue 16): a plot whose range or layout settled only
inside its paint (pyqtgraph's ``prepareForPaint``) queued a second paint of itself, and a
label whose text changed re-laid out its window and repainted what did not change."""

import numpy as np
from PySide6.QtCore import QEvent, QObject

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.intervene_panel import IntervenePanel
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
    intervene = w.findChild(IntervenePanel)
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
