"""The timeline bar repaints only where its handle was and is on a seek, and what is on
screen is what a whole repaint draws: at scale 1 and at QT_SCALE_FACTOR=1.5, where the
handle's anti-aliased edge reaches the pixel beyond its rectangle (the repaint takes one
more pixel around it).

Each scale runs in a child interpreter: the scale is set before Qt starts."""

import os
import subprocess
import sys

import pytest
from test_step_window import PaintedArea, _on_screen

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session

CHILD = "LSTM_VIZ_TIMELINE_CHILD"


@pytest.mark.skipif(not os.environ.get(CHILD), reason="run in a child by the tests below")
def test_a_seek_repaints_the_handle_only_and_leaves_the_bar_as_a_whole_repaint_draws(
        make_window, qapp):
    w = make_window(Session(default_config("random", steps=40, inputs=3, hidden=4)))
    bar = w.timeline.bar
    watch = PaintedArea(bar)
    painted = watch.areas
    session = w.session
    last = len(session.frames) - 1
    for index in (5, 6, 30, last, 0, last // 2, 1):
        session.seek(index)
        qapp.processEvents()
        assert painted, index                          # it did repaint
        assert painted[-1] <= 2 * 9 * bar.height(), index   # two handles, not the bar
        left = _on_screen(bar)
        bar.repaint()                                  # the whole bar, as drawn anew
        assert left == _on_screen(bar), index
        painted.clear()
    assert bar.value() == 1
    bar.removeEventFilter(watch)


@pytest.mark.parametrize("scale", ["1", "1.5"])
def test_a_seek_repaints_the_handle_only(scale):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale,
           CHILD: "1"}
    env.pop("LSTM_VIZ_REQUIRE_TORCH", None)          # (a one-test session runs no torch test)
    name = test_a_seek_repaints_the_handle_only_and_leaves_the_bar_as_a_whole_repaint_draws
    test = f"{__file__}::{name.__name__}"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                          capture_output=True, text=True, env=env, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 passed" in done.stdout                 # it ran, not skipped
