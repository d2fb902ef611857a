"""The timeline bar repaints only where its handle was and is on a seek, and what is on
screen is what a whole repaint draws."""

from PySide6.QtCore import QEvent, QObject
from test_step_window import _on_screen

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session


class _Painted(QObject):
    """The regions of the paint events a widget gets. (An event filter: a paintEvent
    assigned on the instance made the interpreter crash at exit, after the whole run.)"""

    def __init__(self):
        super().__init__()
        self.regions = []

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.regions.append(event.region())
        return False


def test_a_seek_repaints_the_handle_only_and_leaves_the_bar_as_a_whole_repaint_draws(
        make_window, qapp):
    w = make_window(Session(default_config("random", steps=40, inputs=3, hidden=4)))
    bar = w.timeline.bar
    watch = _Painted()
    bar.installEventFilter(watch)
    painted = watch.regions
    session = w.session
    last = len(session.frames) - 1
    for index in (5, 6, 30, last, 0, last // 2, 1):
        session.seek(index)
        qapp.processEvents()
        assert painted, index                          # it did repaint
        area = sum(r.width() * r.height() for r in painted[-1])
        assert area <= 2 * 9 * bar.height(), index     # two handles, not the bar
        left = _on_screen(bar)
        bar.repaint()                                  # the whole bar, as drawn anew
        assert left == _on_screen(bar), index
        painted.clear()
    assert bar.value() == 1
    bar.removeEventFilter(watch)
