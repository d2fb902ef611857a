"""State that must not go stale (issue 15, items 5–10): what carries over to a new run,
a stop's reason, the keyboard focus, the Training dock's settings, a task's defaults and
the iteration texts."""

import pytest
from PySide6.QtCore import Qt

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
    assert "L = 0.753484" in w.status_line.loss.full_text()


# ---- items 5 and 6: what carries over to a new run; a stop's reason, whole and not stale ----

def test_breakpoints_across_a_task_change_say_what_carries_over(make_window, qtbot):
    w = make_window()
    s = w.session
    s.add_breakpoint("norm ds < 0.25")
    s.add_breakpoint("bwd:3:ds")
    s.configure(default_config("sine"))                  # T = 40: both kept
    note = w.workbench.note()
    assert note.startswith("2 breakpoints carried over to this run: ")
    assert "‖ds‖ < 0.25" in note and "bwd:3:ds" in note and "Ctrl+B" in note
    panel = w.workbench.breakpoints_panel
    assert panel.carried.text().startswith("2 breakpoints carried over")
    assert not panel.drop_carried.isHidden()
    s.add_breakpoint("fwd:30:g")
    s.next_frame()                                        # the note was about the change
    assert w.workbench.note() == ""
    s.configure(default_config("published"))             # T = 4: fwd:30:g cannot be
    note = w.workbench.note()
    assert "dropped (past its last step): fwd:30:g" in note
    assert [b.spec() for b in s.breakpoints] == ["norm ds < 0.25", "frame bwd:3:ds"]
    qtbot.mouseClick(panel.drop_carried, Qt.MouseButton.LeftButton)   # or: remove them
    assert s.breakpoints == () and panel.carried.isHidden()


def test_a_stop_s_reason_is_shown_whole_and_cleared_elsewhere(make_window, qtbot):
    w = make_window(Session(default_config("random", steps=8, inputs=3, hidden=4,
                                           init="uniform")))
    s = w.session
    bp = "saturation f > 0.0 eps 0.49"                   # holds wherever f is computed
    s.add_breakpoint(bp)
    s.continue_()
    stop = s.stop
    assert stop is not None and s.cursor == stop.index
    label = w.workbench.stop_label
    whole = "■ " + stop.text()
    from lstm_viz.widgets.plain import plain_tooltip

    assert w.workbench.note() == whole and label.toolTip() == plain_tooltip(whole)
    assert len(whole) > 60                                # a long reason, not cut: all of it
    assert not w.status_line.grads.isVisible()                 # the note has the norms' room
    assert label.width() >= label.fontMetrics().horizontalAdvance(whole) \
        or label.text().endswith("…")
    s.next_frame()                                        # elsewhere: the reason goes
    assert w.workbench.note() == "" and not label.isVisible()
    assert w.status_line.grads.isVisible()


def test_a_breakpoint_kept_from_another_task_names_itself_when_training_stops(make_window,
                                                                               qtbot):
    w = make_window()
    s = w.session
    s.add_breakpoint("norm ds > 0.0")                    # holds in every pass
    w.workbench.show_training()
    p = w.workbench.training_panel
    p.task.setCurrentText("sine")
    p.length.setValue(12)
    p.hidden.setValue(4)
    p.step()                                             # a run of another task starts
    assert s.training is not None and s.stop is not None
    panel = w.workbench.breakpoints_panel
    assert "‖ds‖ > 0" in panel.carried.text()            # still said where breakpoints live
    assert w.workbench.note().startswith("■ stopped at iteration 0")


# ---- item 7: the keyboard focus stays where the user types ------------------------------------

def test_return_in_the_condition_field_keeps_the_focus_there(make_window, qtbot):
    w = make_window()
    s = w.session
    w.workbench.show_breakpoints()
    panel = w.workbench.breakpoints_panel
    panel.kind.setCurrentIndex(panel.kind.findData("norm"))
    panel.threshold.setFocus()
    qtbot.waitUntil(panel.threshold.hasFocus)
    qtbot.keyClicks(panel.threshold, "1e9")
    qtbot.keyClick(panel.threshold, Qt.Key.Key_Return)
    assert len(s.breakpoints) == 1 and panel.threshold.hasFocus()
    qtbot.keyClicks(panel.threshold, " ")                 # a space edits, it does not play
    assert not s.playing
    panel.spec.setFocus()
    qtbot.waitUntil(panel.spec.hasFocus)
    qtbot.keyClicks(panel.spec, "vanish ds < 0.1")
    qtbot.keyClick(panel.spec, Qt.Key.Key_Return)
    assert len(s.breakpoints) == 2 and panel.spec.hasFocus() and panel.spec.text() == ""
    qtbot.keyClick(panel.spec, Qt.Key.Key_Escape)
    assert not panel.spec.hasFocus()
    qtbot.keyClick(w, Qt.Key.Key_Space)                   # now Space plays again
    assert s.playing
    s.pause()


# ---- item 8: the Training dock follows the run, or says what it trains ------------------------

def test_the_training_dock_follows_a_task_change(make_window):
    w = make_window()
    s = w.session
    p = w.workbench.training_panel
    w.workbench.show_training()
    p.step()                                              # training the published task
    assert s.training is not None
    s.configure(default_config("sine", steps=40, hidden=16))   # Configure: another task
    assert s.training is None
    got = p.settings()
    assert (got.task, got.length, got.hidden) == ("sine", 40, 16)
    assert p.run_button.text() == "Run" and p.untrainable() is None
    p.step()                                              # what is shown is what trains
    assert s.training.settings.task == "sine" and s.training.resolved.hidden == 16


def test_after_open_trace_the_dock_says_what_run_would_train(make_window, tmp_path):
    w = make_window(Session(default_config("sine")))
    s = w.session
    p = w.workbench.training_panel
    w.workbench.show_training()
    assert p.task.currentText() == "sine" and p.run_button.text() == "Run"
    path = tmp_path / "published.npz"
    Session().save(path)
    assert w.open_path(path)                              # File ▸ Open Trace
    assert s.config.task == "file" and p.untrainable() == "the trace published.npz"
    assert "published.npz cannot be trained here: Run trains the task set here (sine), " \
        "not the run shown" in p.status.text()
    assert (p.run_button.text(), p.step_button.text()) == ("Run sine", "Step sine")
    p.task.setCurrentText("adding")                       # the buttons name the task chosen
    assert p.run_button.text() == "Run adding"
    p.step()
    assert s.training is not None and s.training.settings.task == "adding"
    assert p.run_button.text() == "Run"                   # now it trains what is shown


# ---- item 10: the iteration texts agree -------------------------------------------------------

def test_status_bar_and_training_panel_count_iterations_alike(make_window, qtbot):
    w = make_window()
    s = w.session
    w.workbench.show_training()
    p = w.workbench.training_panel
    p.task.setCurrentText("sine")
    p.length.setValue(10)
    p.hidden.setValue(4)
    p.iterations.setValue(5)
    p.run()
    qtbot.waitUntil(lambda: not s.training_running, timeout=20000)
    done = s.training.iterations_done
    assert done == 5 and s.iteration == 4                # passes of iterations 0 … 4
    assert w.status_line.iteration.full_text() == "iteration 4 · 5 done"
    assert p.rate.text().startswith("5 / 5 done")
    assert p.scrub_label.text().startswith("4 ")
