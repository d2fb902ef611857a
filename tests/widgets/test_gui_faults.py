"""An exception inside a view, a slot or a paintEvent never takes the app down: one dialog
that says where the log is, the traceback in the crash log (collapsed when it repeats),
the session intact, and the app keeps working."""

import logging
import os
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from lstm_viz.model import crashlog
from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.widgets.errors import install_excepthook

# The app's own excepthook is what these tests check: pytest-qt's capture is off for them.
app_hook = pytest.mark.qt_no_exception_capture


@pytest.fixture
def app_window(make_window, tmp_path, qapp):
    """A window as ``lstm_viz.widgets.app.main`` sets it up: the crash log and the excepthook."""
    log = crashlog.setup(tmp_path / "data")
    w = make_window(Session(default_config("random", steps=6, inputs=3, hidden=4)))
    qapp.processEvents()
    restore = install_excepthook(w.errors)
    yield w, log
    restore()
    crashlog.shutdown()


def _log_text(log):
    for h in logging.getLogger(crashlog.LOGGER).handlers:
        h.flush()
    return log.read_text(encoding="utf-8")


def _boxes(w):
    return [b for b in w.findChildren(QMessageBox) if b.isVisible()]


@app_hook
def test_a_view_failing_during_a_seek(app_window, monkeypatch, qapp):
    w, log = app_window
    s = w.session
    heat = w.views["heatmaps"]
    trace = s.trace

    def broken():
        raise RuntimeError("the heatmap cannot draw this frame")

    monkeypatch.setattr(heat, "refresh", broken)
    w.actions_by_id["next_frame"].trigger()                     # Right: one frame on
    qapp.processEvents()
    # the dialog, telling where the log is
    assert w.errors.messages == ["RuntimeError: the heatmap cannot draw this frame"]
    assert _boxes(w) == [w.errors.box]
    assert str(log) in w.errors.box.informativeText()
    assert "Traceback" in w.errors.box.detailedText()
    # the log has the traceback, naming the function that raised
    text = _log_text(log)
    assert "Traceback" in text and "in broken" in text and "cannot draw this frame" in text
    # the session moved and is whole; the views after the failing one were updated
    assert s.trace is trace and s.cursor == 1
    assert "frame fwd:0:g" in w.status_line.frame.full_text()
    # the app keeps working: once the view is fixed, a later seek repaints it
    monkeypatch.undo()
    before = heat.refreshes
    s.goto("fwd:4")
    qapp.processEvents()
    assert heat.refreshes == before + 1 and heat.forward.map.cursor.value() == 4
    assert len(w.errors.messages) == 1


def _small_training(w):
    """The window's training dock set to a small adding run (length 10, H=4)."""
    panel = w.workbench.training_panel
    panel.task.setCurrentText("adding")
    panel.length.setValue(10)
    panel.hidden.setValue(4)
    return panel


@app_hook
def test_a_failing_slot_and_a_failing_menu_action(app_window, monkeypatch, qapp):
    w, log = app_window
    s = w.session
    panel = _small_training(w)
    panel.step_button.click()                             # a real iteration first
    assert s.training.iterations_done == 1
    trace, cursor, done = s.trace, s.cursor, s.training.iterations_done

    def train_broke(*args, **kwargs):
        raise ZeroDivisionError("the training slot broke")

    monkeypatch.setattr(s, "train", train_broke)
    panel.step_button.click()                       # a button's slot: through the excepthook
    qapp.processEvents()
    assert w.errors.messages[-1] == "ZeroDivisionError: the training slot broke"
    assert str(log) in w.errors.box.informativeText()
    assert "in train_broke" in _log_text(log)
    assert s.trace is trace and s.cursor == cursor and s.training.iterations_done == done

    def step_over_broke():
        raise KeyError("step over broke")

    monkeypatch.setattr(s, "step_over", step_over_broke)
    w.actions_by_id["step_over"].trigger()                 # a menu action (Debug > Step Over)
    qapp.processEvents()
    assert w.errors.messages[-1] == "KeyError: 'step over broke'"
    assert len(_boxes(w)) == 1                       # one box at a time
    assert "in step_over_broke" in _log_text(log)
    assert s.trace is trace and s.cursor == cursor
    monkeypatch.undo()
    panel.step_button.click()                        # the app keeps working
    w.actions_by_id["step_over"].trigger()
    assert s.training.iterations_done == done + 1 and s.cursor != cursor
    assert len(w.errors.messages) == 2


class BrokenPaint(QWidget):
    def __init__(self):
        super().__init__()
        self.paints = 0

    def paintEvent(self, event):
        self.paints += 1
        raise RuntimeError(f"cannot paint (attempt {self.paints})")


@app_hook
def test_an_error_on_every_paint_opens_one_dialog_and_logs_it_once(app_window, qapp):
    w, log = app_window
    s = w.session
    broken = BrokenPaint()
    broken.setMinimumSize(60, 40)
    w.statusBar().addPermanentWidget(broken)
    qapp.processEvents()
    for _ in range(200):
        broken.update()
        qapp.processEvents()
    assert broken.paints >= 200
    assert len(w.errors.messages) == 1 and w.errors.messages[0].startswith("RuntimeError: "
                                                                           "cannot paint")
    assert w.errors.repeats >= 199 and len(_boxes(w)) == 1
    text = _log_text(log)
    assert text.count("Traceback") == 1 and "in paintEvent" in text
    again = text.count("the same error again")
    assert 1 <= again <= 8                           # at the 2nd, 4th, 8th … time only
    # the session is intact and a later seek repaints the source view
    code = w.source_panel.view
    before = code.paints
    s.goto("loss")
    qapp.processEvents()
    code.repaint()
    assert s.frame_text == "loss" and code.paints > before
    w.statusBar().removeWidget(broken)
    broken.deleteLater()


def test_the_log_is_where_the_data_dir_says(tmp_path, monkeypatch):
    monkeypatch.setenv(crashlog.ENV, str(tmp_path / "elsewhere"))
    assert crashlog.data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(crashlog.ENV)
    import platformdirs
    assert crashlog.data_dir() == crashlog.Path(platformdirs.user_data_dir("lstm-viz",
                                                                            appauthor=False))


def test_tests_never_use_the_real_data_folder():
    home = os.path.expanduser("~")
    assert os.environ.get(crashlog.ENV)
    assert not str(crashlog.data_dir()).startswith(os.path.join(home, ".local"))


def test_main_sets_up_the_log_in_the_data_dir(tmp_path, monkeypatch, qapp):
    from lstm_viz.widgets import app

    monkeypatch.setenv(crashlog.ENV, str(tmp_path / "data"))
    try:
        assert app.main(["--screenshot", str(tmp_path / "s.png"), "--size", "400x300"]) == 0
        assert crashlog.current() == tmp_path / "data" / "lstm-viz.log"
        handler = next(h for h in logging.getLogger(crashlog.LOGGER).handlers
                       if isinstance(h, crashlog.CrashLog))
        assert (handler.maxBytes, handler.backupCount) == (2**20, 3)
        assert app.main(["--screenshot", str(tmp_path / "s.png"), "--size", "400x300"]) == 0
        assert sum(isinstance(h, crashlog.CrashLog)          # set up once, not per start
                   for h in logging.getLogger(crashlog.LOGGER).handlers) == 1
    finally:
        crashlog.shutdown()


def test_the_app_starts_when_the_log_folder_cannot_be_made(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert crashlog.setup(blocker / "data") is None and crashlog.current() is None
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", crashlog.ENV: str(blocker / "data")}
    done = subprocess.run([sys.executable, "-m", "lstm_viz", "--exit-after-paint"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "first paint after" in done.stdout
    assert "cannot keep a log in" in done.stderr and str(blocker / "data") in done.stderr


@app_hook
def test_a_view_failing_on_a_new_pass_leaves_the_session_whole(app_window, monkeypatch, qapp):
    w, log = app_window
    s = w.session
    s.goto("bwd:3")

    def broken():
        raise RuntimeError("cannot rebuild for the new pass")

    monkeypatch.setattr(w.views["heatmaps"], "trace_changed", broken)
    entry = s.train_step()                    # Train One Iteration: a new pass is committed
    assert w.errors.messages == ["RuntimeError: cannot rebuild for the new pass"]
    # every step of the action happened: the new pass, the cursor kept, the history grown
    assert s.history == (entry,) and s.iteration_text() == "iteration 1"
    assert s.frame_text == "bwd:3" and s.data.trace is s.trace
    assert "in broken" in _log_text(log)


@app_hook
def test_a_bug_in_a_timer_slot_stops_its_timer_with_one_dialog(app_window, monkeypatch,
                                                               qtbot, qapp):
    w, log = app_window
    s = w.session
    panel = _small_training(w)
    panel.iterations.setValue(10**6)
    calls = []

    def train_broke(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("a slice of training broke")

    panel.run_button.click()                            # training runs in QTimer slices
    assert s.training_running
    monkeypatch.setattr(s, "train_slice", train_broke)
    qtbot.waitUntil(lambda: not s.training_running, timeout=5000)
    for _ in range(20):
        qapp.processEvents()
    assert len(calls) == 1 and not panel.driver.timer.isActive()
    assert w.errors.messages == ["RuntimeError: a slice of training broke"]
    monkeypatch.undo()

    def tick_broke():
        calls.append(2)
        raise RuntimeError("a tick of play broke")

    monkeypatch.setattr(s, "tick", tick_broke)
    s.play()                                             # Play: the window's timer ticks
    qtbot.waitUntil(lambda: not s.playing, timeout=5000)
    for _ in range(20):
        qapp.processEvents()
    assert calls.count(2) == 1 and not w.timer.isActive()
    assert w.errors.messages[-1] == "RuntimeError: a tick of play broke"
    assert _log_text(log).count("Traceback") == 2


# ---- NaN in training ----------------------------------------------------------------------

# The heatmaps hand pyqtgraph float32 images with colour levels that this blown-up run
# pushes past float32's range; pyqtgraph's rescale then overflows and multiplies inf by 0.
# Whether a paint lands on such a pass depends on timing. To go when the views keep their
# levels within float32.
@pytest.mark.filterwarnings(
    r"ignore:(overflow|invalid value) encountered in:RuntimeWarning:pyqtgraph\.functions")
def test_training_that_blows_up_stops_at_its_first_bad_value(make_window, qtbot, qapp):
    import numpy as np

    from lstm_engine.params import PARAM_NAMES
    from lstm_viz.model.training_run import TrainingRun

    w = make_window()
    s = w.session
    w.workbench.show_training()
    p = w.workbench.training_panel
    p.task.setCurrentText("adding")
    p.length.setValue(20)
    p.hidden.setValue(8)
    p.optimizer.setCurrentIndex(p.optimizer.findData("sgd"))
    p.lr.setText("1e10")                                  # blows up within a few dozen
    p.iterations.setValue(1000)
    s.goto("fwd:1:i")
    p.run_button.click()                                  # runs in QTimer slices
    qtbot.waitUntil(lambda: not s.training_running, timeout=20000)
    run = s.training
    bad = run.failed
    # it stopped on its own, at the first bad iteration, well before the 1000 asked for
    assert bad is not None and run.iterations_done == bad < 1000 and run.stopped
    assert not p.driver.timer.isActive() and p.run_button.isEnabled()
    where = "first NaN or Inf in loss, in the loss at step 19"
    assert f"STOPPED: iteration {bad}: {where}" in p.status.text()
    note = w.workbench.stop_label
    assert note.isVisible() and note.text() == f"■ stopped at iteration {bad}, loss: {where}"
    # that pass is shown at the frame where its first NaN/Inf appears
    assert s.iteration == bad and s.trace is run.trace_at(bad) and s.frame_text == "loss"
    assert not np.isfinite(s.trace.loss[19])
    assert "frame loss" in w.status_line.frame.full_text()
    # the parameters are those the bad iteration started from, bit for bit: the same as
    # a fresh run's after ``bad`` good iterations (training is deterministic)
    fresh = TrainingRun(p.settings())
    for _ in range(bad):
        assert fresh.step().problem is None
    for name in PARAM_NAMES:
        assert getattr(run.trainer.params, name).tobytes() == \
            getattr(fresh.trainer.params, name).tobytes()
    assert np.array_equal(run.trace_at(bad).params.wg, fresh.trainer.params.wg)
    # Run again says why it cannot go on; Reset starts afresh, and it trains again
    p.run_button.click()
    assert not s.training_running and run.iterations_done == bad
    assert w.errors.messages == [f"training stopped: iteration {bad}: {where}; "
                                 "Reset starts again"]
    p.lr.setText("0.01")
    p.iterations.setValue(3)
    p.reset_button.click()
    assert s.training is not run and s.training.iterations_done == 0
    assert s.stop is None and not note.isVisible() and "STOPPED" not in p.status.text()
    p.run_button.click()
    qtbot.waitUntil(lambda: not s.training_running, timeout=20000)
    assert s.training.iterations_done == 3 and s.training.problem is None
