"""Tabbed docks keep their titles whole (issue 15's "what a user meets"): with every
view of a stacked model with a read-out tabbed beside the heatmaps at 1366x768, Qt's
default elided them to "G…", "L…"; now each title is drawn whole, the bar scrolls."""

import numpy as np
from PySide6.QtWidgets import QTabBar

from lstm_engine import Model, ReadoutMSE, init_uniform, record_model
from lstm_viz.model.session import Session


def _stacked_pass():
    rng = np.random.default_rng(3)
    cells = [init_uniform(4, 7, rng, -0.6, 0.6), init_uniform(7, 5, rng, -0.6, 0.6)]
    model = Model(cells, "seed", ReadoutMSE(rng.standard_normal((2, 5)), np.zeros(2)))
    return record_model(model, rng.standard_normal((6, 4)), rng.standard_normal((6, 2)))


def _tab_bars(window):
    return [b for b in window.findChildren(QTabBar) if b.isVisible() and b.count() > 1]


def test_every_dock_tab_title_is_drawn_whole(make_window, qapp):
    w = make_window(Session(trace=_stacked_pass()))
    w.resize(1366, 768)
    for _ in range(3):
        qapp.processEvents()
    bars = _tab_bars(w)
    assert bars, "the views are tabbed beside the heatmaps"
    titles = [b.tabText(i) for b in bars for i in range(b.count())]
    assert "Layers × time" in titles and "Predictions" in titles
    for bar in bars:
        for i in range(bar.count()):
            text_width = bar.fontMetrics().horizontalAdvance(bar.tabText(i))
            assert bar.tabRect(i).width() >= text_width, bar.tabText(i)
