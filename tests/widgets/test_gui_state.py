"""State that must not go stale (issue 15, items 5–10): what carries over to a new run,
a stop's reason, the keyboard focus, the Training dock's settings, a task's defaults and
the iteration texts."""

import pytest

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.config_dialog import ConfigDialog

PUBLISHED_L = 0.753483886253         # the source document's loss at iteration 0


def test_going_back_to_a_task_brings_its_defaults_whole(make_window, qtbot):
    w = make_window(Session(default_config("sine").with_(variant="standard", seed=7,
                                                         dtype="float32")))
    d = ConfigDialog(w.session.config, w)
    qtbot.addWidget(d)
    d.task.setCurrentText("published")
    c = d.config()
    assert c == default_config("published")                 # variant, seed and dtype too
    assert (c.variant, c.seed, c.init, c.dtype) == ("seed", 0, "published", "float64")
    w.session.configure(c)
    assert w.session.trace.total_loss == pytest.approx(PUBLISHED_L, rel=1e-6)
    w.session.goto("loss")
    assert "L = 0.753484" in w.status_loss.full_text()
