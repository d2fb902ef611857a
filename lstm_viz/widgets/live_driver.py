"""Live training in timer slices on the GUI thread.

Each timeout of a zero-interval QTimer asks the session for one slice of training
(``session.train_slice``: iterations for at most ``budget`` seconds, then the newest pass
shown once, every view updating from that one ``trace_changed``). The budget adapts so
that the window takes at most GUI_SHARE of the time whatever it shows (more views: longer
slices, fewer updates, the same share) and updates at most ~30 times a second; between
slices the event loop runs, so the window stays responsive. The window's time is all of
it: showing the pass, reporting it (the training panel's curves) and the event loop's
painting until the next slice.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from lstm_engine.errors import UserError

MIN_INTERVAL = 1 / 30                 # the views update at most ~30 times a second
GUI_SHARE = 0.1                       # … and take at most this share of the time (issue
                                      # 16: training in the window at >= 0.85 of its speed)


class LiveDriver:
    """Asks for ``session.train_slice`` from a zero-interval QTimer while training runs;
    ``target``: the iteration "Run to" stops at (None: none)."""

    def __init__(self, session, parent, on_report=None):
        self.session = session
        self.timer = QTimer(parent)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._slice)
        self.on_report = on_report
        self.budget = MIN_INTERVAL
        self._slice_end: float | None = None
        self._showing = 0.0            # time the last slice spent showing its pass
        self.rate = 0.0                # iterations per second, smoothed
        self.target: int | None = None  # stop when this many iterations are done
        session.events.training_changed.connect(self._on_state)

    def _on_state(self):
        running = self.session.training_running
        if running and not self.timer.isActive():
            self._slice_end = None
            self.timer.start()
        elif not running and self.timer.isActive():
            self.timer.stop()

    def _slice(self):
        s = self.session
        now = time.perf_counter()
        if self._slice_end is not None:         # what the views cost: the gap since the last
            gui = now - self._slice_end + self._showing   # slice and showing its pass
            self.budget = max(MIN_INTERVAL, gui * (1 - GUI_SHARE) / GUI_SHARE)
        try:
            report = s.train_slice(self.budget, self.target)
        except UserError as err:                # (training paused: train_slice saw to it)
            if self.on_report is not None:
                self.on_report(None, str(err))
            return
        except Exception:
            s.pause_training()             # a bug: reported once (excepthook), not per slice
            raise
        if report is None:                      # not running, or "Run to" was reached
            return
        end = time.perf_counter()
        if report.done:
            rate = report.done / max(end - now, 1e-9)
            self.rate = rate if self.rate == 0 else 0.7 * self.rate + 0.3 * rate
        if self.on_report is not None:
            self.on_report(report, None)
        self._slice_end = time.perf_counter()
        # showing the pass and reporting it: the window's time in this slice
        self._showing = max(0.0, self._slice_end - now - report.seconds)
