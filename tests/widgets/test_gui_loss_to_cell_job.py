"""The loss-to-cell matrix computed in the background: the window stays live (seeks are
served between slices), the label shows how far it is, Cancel keeps nothing, a new pass
stops the old pass's job, and the result is the engine's matrix."""

import numpy as np
import pytest

from lstm_engine.flow import loss_to_cell_gradients
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.pictures.contributions import Contributions


@pytest.fixture
def slow(monkeypatch):
    """Every slice one step (a job of T steps takes T slices) and never 'cheap'."""
    monkeypatch.setattr("lstm_viz.widgets.progress.SLICE", 0.0)
    monkeypatch.setattr(Contributions, "cheap", property(lambda self: False))


def view_of(make_window, qapp, steps=40):
    s = Session(default_config("random", steps=steps, inputs=3, hidden=5))
    w = make_window(s)
    w.view_docks["loss_to_cell"].show()
    w.view_docks["loss_to_cell"].raise_()
    qapp.processEvents()
    return s, w.views["loss_to_cell"]


def test_the_window_stays_live_while_the_matrix_is_computed(make_window, qapp, slow):
    s, view = view_of(make_window, qapp)
    view.compute()
    assert view.job is not None and view.job.running and view.button.text() == "Cancel"
    qapp.processEvents()
    assert "% of the steps" in view.info.text()
    s.goto("bwd:7:ds")                                   # served while it computes
    qapp.processEvents()
    assert s.cursor == s.data.model.index("bwd:7:ds")
    assert view.job is not None and view.image is None   # not done yet: a slice per step
    for _ in range(200):
        if view.job is None:
            break
        qapp.processEvents()
    assert view.job is None and view.button.text() == "Compute"
    sources, M = loss_to_cell_gradients(s.trace, view.view_data.contributions.sources)
    np.testing.assert_array_equal(view.image.sources, sources)
    np.testing.assert_array_equal(view.image.norms, M)
    assert view.map.cursor.value() == 7


def test_cancel_keeps_nothing_and_a_new_pass_stops_the_old_job(make_window, qapp, slow):
    s, view = view_of(make_window, qapp)
    view.compute()
    qapp.processEvents()
    view.button.click()                                  # Cancel
    assert view.job is None and not view.view_data.contributions.ready
    assert view.button.text() == "Compute" and "press Compute" in view.info.text()
    view.compute()
    old = view.view_data.contributions
    s.configure(default_config("random", steps=30, inputs=3, hidden=5))
    qapp.processEvents()
    assert view.job is None and not old.ready and view.image is None


def test_a_short_job_is_done_when_compute_returns(make_window, qapp, monkeypatch):
    monkeypatch.setattr(Contributions, "cheap", property(lambda self: False))
    s, view = view_of(make_window, qapp, steps=6)
    view.compute()                                        # the first slice runs at once
    assert view.job is None and view.view_data.contributions.ready


def test_the_picture_says_it_is_computing(make_window, qapp, slow):
    from lstm_viz.widgets.contribution_view import COMPUTING, WAITING

    s, view = view_of(make_window, qapp)
    assert view.waiting.toPlainText() == WAITING and view.waiting.isVisible()
    view.compute()
    assert view.waiting.toPlainText() == COMPUTING
    view.cancel()
    assert view.waiting.toPlainText() == WAITING


def test_a_timer_due_during_a_slice_runs_before_the_next_slice(qapp, monkeypatch):
    """The job yields to the window's timers (a play tick, the event-loop probe of
    ``make bench``) after every slice, not every other one."""
    import time

    from PySide6.QtCore import Qt, QTimer

    from lstm_viz.widgets.progress import BackgroundJob

    monkeypatch.setattr("lstm_viz.widgets.progress.SLICE", 0.01)
    events: list[str] = []

    def job():
        for n in range(12):
            events.append("step")
            time.sleep(0.012)                 # each step overruns the slice: one per slice
            yield n, 12, "steps"
        return "done"

    done: list[str] = []
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(1)
    probe.timeout.connect(lambda: events.append("tick"))
    probe.start()
    runner = BackgroundJob(job(), lambda *a: None, done.append)
    runner.start()
    deadline = time.monotonic() + 5
    while not done and time.monotonic() < deadline:
        qapp.processEvents()
    probe.stop()
    assert done == ["done"]
    steps = "".join("s" if e == "step" else "t" for e in events)
    assert steps.count("s") == 12 and "ss" not in steps, steps


def test_a_progress_report_that_raises_stops_nothing(qapp, monkeypatch):
    """The error goes where errors go; the job goes on to its end (its timer is re-armed
    whatever the report did)."""
    import time

    from lstm_viz.widgets.progress import BackgroundJob

    monkeypatch.setattr("lstm_viz.widgets.progress.SLICE", 0.0)
    reports: list[int] = []
    caught: list[BaseException] = []
    monkeypatch.setattr("sys.excepthook", lambda t, e, tb: caught.append(e))

    def report(done, total, what):
        reports.append(done)
        if len(reports) == 2:
            raise RuntimeError("a label that could not be set")

    def job():
        for n in range(6):
            yield n, 6, "steps"
        return "done"

    done: list[str] = []
    runner = BackgroundJob(job(), report, done.append)
    try:
        runner.start()
    except RuntimeError as err:                 # the first slice runs in start()
        caught.append(err)
    deadline = time.monotonic() + 5
    while not done and time.monotonic() < deadline:
        qapp.processEvents()
    assert done == ["done"] and not runner.running
    assert len(caught) == 1 and len(reports) >= 5
