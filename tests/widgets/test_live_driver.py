"""The live driver's slice budget: the window's time (showing the pass, reporting it, the
event loop until the next slice) is GUI_SHARE of each slice, however much it is."""

import pytest

from lstm_viz.widgets import live_driver
from lstm_viz.widgets.live_driver import GUI_SHARE, MIN_INTERVAL, LiveDriver


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Report:
    def __init__(self, seconds, done=5):
        self.seconds, self.done = seconds, done


class FakeEvents:
    class Signal:
        def connect(self, fn):
            pass

    training_changed = Signal()


class FakeSession:
    """train_slice spends its budget training, then ``show`` seconds showing the pass."""

    events = FakeEvents()
    training_running = True

    def __init__(self, clock, show):
        self.clock, self.show, self.budgets = clock, show, []

    def train_slice(self, budget, target):
        self.budgets.append(budget)
        self.clock.now += budget + self.show
        return Report(budget)


@pytest.mark.parametrize(("show", "report", "paint"), [(0.05, 0.0, 0.0), (0.01, 0.02, 0.03),
                                                       (0.3, 0.05, 0.1)])
def test_the_window_takes_gui_share_of_each_slice(qapp, monkeypatch, show, report, paint):
    clock = Clock()
    monkeypatch.setattr(live_driver.time, "perf_counter", clock)
    session = FakeSession(clock, show)

    def on_report(*_):
        clock.now += report                      # the training panel's update

    driver = LiveDriver(session, None, on_report)
    for _ in range(3):
        driver._slice()
        clock.now += paint                       # the event loop paints until the next
    gui = show + report + paint
    assert session.budgets[0] == MIN_INTERVAL
    want = max(MIN_INTERVAL, gui * (1 - GUI_SHARE) / GUI_SHARE)
    assert session.budgets[-1] == pytest.approx(want)
    assert gui / (gui + session.budgets[-1]) <= GUI_SHARE + 1e-9
