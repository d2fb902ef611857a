"""The window against the session: keys, timeline, label, source, variables, dialogs."""

import numpy as np
import pytest
from commands import CallRecorder, calls_of
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox

from lstm_viz.model.config import RunConfig, default_config
from lstm_viz.model.frame_data import VARIABLES
from lstm_viz.model.session import Session
from lstm_viz.model.shortcuts import BINDINGS, WindowCommands, WorkbenchCommands, help_html
from lstm_viz.widgets.config_dialog import ConfigDialog
from lstm_viz.widgets.variables_panel import _num

KEYS = {  # key press -> the session method the tests of the session define
    (Qt.Key.Key_F10, Qt.KeyboardModifier.NoModifier): "step_over",
    (Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier): "step_back_over",
    (Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier): "step_into",
    (Qt.Key.Key_F11, Qt.KeyboardModifier.ControlModifier): "step_back_into",
    (Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier): "step_out",
    (Qt.Key.Key_F11, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
        "step_back_out",
    (Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier): "continue_",
    (Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier): "reverse_continue",
    (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier): "next_frame",
    (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier): "prev_frame",
    (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier): "first",
    (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier): "last",
}


def press(qtbot, widget, key):
    qtbot.keyClick(widget, key[0], key[1])


def test_app_opens_on_the_published_example_at_the_first_frame(make_window):
    w = make_window()
    s = w.session
    assert s.frame_text == "fwd:0:xc" and s.trace.steps == 4
    assert w.timeline.bar.value() == 0
    assert w.timeline.text().startswith("fwd:0:xc")
    assert "xc = [x, h_prev]" in w.timeline.text()
    assert w.source_panel.current_statement() == "xc"
    assert "published" in w.windowTitle()


def test_every_key_moves_the_cursor_as_the_session_method_does(make_window, qtbot):
    w = make_window()
    w.session.add_breakpoint("fwd:2:o")
    w.session.add_breakpoint("bwd:1:df")
    ref = Session()
    ref.add_breakpoint("fwd:2:o")
    ref.add_breakpoint("bwd:1:df")
    rng = np.random.default_rng(1)
    keys = list(KEYS)
    for n in range(160):
        key = keys[n % len(keys)] if n < len(keys) else keys[rng.integers(len(keys))]
        press(qtbot, w, key)
        getattr(ref, KEYS[key])()
        assert w.session.frame_text == ref.frame_text, KEYS[key]


def test_keys_still_work_when_the_table_has_focus(make_window, qtbot):
    w = make_window()
    table = w.variables_panel.table
    table.setFocus()
    for key, expected in ((Qt.Key.Key_Right, "fwd:0:g"), (Qt.Key.Key_End, "bwd:0"),
                          (Qt.Key.Key_Left, "bwd:0:bottom_diff_s"), (Qt.Key.Key_Home, "fwd:0:xc")):
        qtbot.keyClick(table, key)
        assert w.session.frame_text == expected


def test_space_plays_and_pauses(make_window, qtbot):
    w = make_window()
    w.session.set_speed(500)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.session.playing and w.timer.isActive()
    qtbot.waitUntil(lambda: w.session.cursor >= 5, timeout=3000)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not w.session.playing and not w.timer.isActive()
    at = w.session.cursor
    qtbot.wait(30)
    assert w.session.cursor == at


def test_play_stops_at_a_breakpoint(make_window, qtbot):
    w = make_window()
    w.session.set_speed(500)
    w.session.goto("fwd:1:g")
    qtbot.keyClick(w, Qt.Key.Key_F9)
    assert w.timeline.bar.markers() == [w.session.cursor]
    w.session.first()
    qtbot.keyClick(w, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not w.session.playing, timeout=3000)
    assert w.session.frame_text == "fwd:1:g"


def _check_agrees(w):
    s = w.session
    frame = s.frame
    assert w.timeline.bar.value() == s.cursor
    assert w.timeline.text().startswith(s.frame_text + " ")
    assert s.data.describe(s.cursor) in w.timeline.text()
    assert w.source_panel.current_statement() == (frame.statement or "loss")
    for name in VARIABLES:
        row = w.variables_panel.row_text(name)
        stats = s.data.stats(name, s.cursor)
        if stats is None:
            assert row[2] == "not yet computed"
        else:
            assert row[3:6] == [_num(stats.min), _num(stats.max), _num(stats.norm)]
    assert w.status_line.frame.text().startswith(f"frame {s.frame_text} ")


def test_a_full_walk_keeps_every_view_in_step_with_the_session(make_window, qtbot):
    w = make_window()
    _check_agrees(w)
    for _ in range(len(w.session.frames) - 1):
        qtbot.keyClick(w, Qt.Key.Key_Right)
        _check_agrees(w)
    assert w.session.frame_text == "bwd:0"
    for _ in range(len(w.session.frames) - 1):          # and back
        qtbot.keyClick(w, Qt.Key.Key_Left)
    _check_agrees(w)
    assert w.session.cursor == 0


def _engine_stats(values):
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return [_num(v.min()), _num(v.max()), _num(np.linalg.norm(v))]


def test_backward_values_shown_equal_the_engine_statement_by_statement(make_window, qtbot):
    w = make_window()
    s = w.session
    tr = s.trace
    s.goto("loss")
    w.variables_panel.follow.setChecked(False)            # ds stays selected while stepping
    s.select("ds")
    seen = 0
    while s.cursor < s.frames.last:
        qtbot.keyClick(w, Qt.Key.Key_F11)
        frame = s.frame
        t, k = frame.t, frame.statement_index
        ds_row = w.variables_panel.row_text("ds")
        if k >= 0:                                        # ds is the first statement
            assert ds_row[3:6] == _engine_stats(tr.ds[t])
            np.testing.assert_allclose(w.variables_panel.plot.values, tr.ds[t], rtol=1e-6)
        dxc_row = w.variables_panel.row_text("dxc")
        if k >= 17:
            assert dxc_row[3:6] == _engine_stats(tr.dxc[t])
            assert w.source_panel.note_for("dxc").startswith("dxc: (150,)")
        else:
            assert dxc_row[2] == "not yet computed"
        # wi_diff as of this frame: steps > t, and step t once its line ran (an outer loop).
        first = t if k >= 9 else t + 1
        expect = np.zeros_like(tr.wi_diff)
        for j in range(first, tr.steps):
            expect += np.outer(tr.di_input[j], tr.xc[j])
        assert w.variables_panel.row_text("wi_diff")[3:6] == _engine_stats(expect)
        seen += 1
    assert seen == 20 * tr.steps


def test_selecting_a_row_plots_its_vector(make_window, qtbot):
    w = make_window()
    s = w.session
    s.goto("bwd:1:do")
    table = w.variables_panel.table
    row = VARIABLES.index("do")
    rect = table.visualRect(table.model().index(row, 0))
    table.scrollTo(table.model().index(row, 0))
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert s.selected == "do"
    np.testing.assert_allclose(w.variables_panel.plot.values, s.trace.do[1], rtol=1e-6)
    s.select("wo_diff")                                  # a matrix: its row norms
    assert w.variables_panel.table.currentIndex().row() == VARIABLES.index("wo_diff")
    acc = s.data.value("wo_diff", s.cursor)
    np.testing.assert_allclose(w.variables_panel.plot.values, np.linalg.norm(acc, axis=1),
                               rtol=1e-5)
    s.select("dg")                                        # not yet computed at bwd:1:do
    assert w.variables_panel.plot.values.size == 0
    assert "not yet computed" in w.variables_panel.plot.title.text()


def test_each_action_runs_exactly_its_bindings_command(make_window, monkeypatch):
    w = make_window()
    # the window has every command the table calls (a missing one would only be reported)
    assert isinstance(w, WindowCommands) and isinstance(w.workbench, WorkbenchCommands)
    recorder = CallRecorder()
    monkeypatch.setattr(w, "run_command", lambda command: command(recorder))
    for b in BINDINGS:
        recorder.calls.clear()
        w.actions_by_id[b.id].trigger()
        assert recorder.calls == calls_of(b.command), b.id


def test_menus_and_help_list_every_binding(make_window, qtbot):
    w = make_window()
    menu_actions = {a for m in w.menus.values() for a in m.actions()}
    html = help_html()
    for b in BINDINGS:
        assert w.actions_by_id[b.id] in menu_actions, b.id
        if b.keys:
            assert w.actions_by_id[b.id].shortcut().toString() == b.keys
            assert b.keys in html
    keys = [b.keys for b in BINDINGS if b.keys]
    assert len(keys) == len(set(keys)), "two commands share a key"
    qtbot.keyClick(w, Qt.Key.Key_F1)
    assert w.shortcuts_dialog.isVisible()
    w.shortcuts_dialog.close()


def test_an_error_in_a_command_shows_a_dialog_and_keeps_the_session(make_window, qtbot,
                                                                    monkeypatch):
    w = make_window()
    s = w.session
    s.goto("bwd:2:ds")
    before = s.trace

    def broken():
        raise RuntimeError("the optimiser exploded\nsecond line")

    monkeypatch.setattr(s, "train_step", broken)
    qtbot.keyClick(w, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert w.errors.messages[-1] == "RuntimeError: the optimiser exploded"
    assert w.errors.box.isVisible()
    assert s.trace is before and s.frame_text == "bwd:2:ds"
    w.errors.box.close()
    assert w.errors.guard(s.configure, RunConfig(task="random", hidden=0)) is None
    assert "hidden size" in w.errors.messages[-1] and s.trace is before


def test_the_global_hook_reports_uncaught_errors(make_window):
    import sys

    from lstm_viz.widgets.errors import install_excepthook
    w = make_window()
    restore = install_excepthook(w.errors)
    try:
        try:
            raise ValueError("bad thing")
        except ValueError as err:
            sys.excepthook(type(err), err, err.__traceback__)
    finally:
        restore()
    assert w.errors.messages[-1] == "ValueError: bad thing"
    w.errors.box.close()


def test_config_dialog_validates_and_estimates_memory(qtbot):
    d = ConfigDialog(default_config())
    qtbot.addWidget(d)
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled() and "MiB" in d.memory.text() or "KiB" in d.memory.text()
    assert not d.steps.isEnabled()                        # the published example has T = 4
    d.task.setCurrentText("random")
    assert d.steps.isEnabled() and d.inputs.isEnabled()
    d.hidden.setValue(8000)
    d.inputs.setValue(8000)
    d.steps.setValue(1_000_000)
    assert not ok.isEnabled() and d.problem.text()
    d.hidden.setValue(16)
    d.inputs.setValue(3)
    d.steps.setValue(20)
    assert ok.isEnabled() and d.problem.text() == ""
    cfg = d.config()
    assert (cfg.task, cfg.hidden, cfg.inputs, cfg.steps) == ("random", 16, 3, 20)


@pytest.mark.parametrize("task", ["random", "sine"])
def test_configure_changes_the_run_shown(make_window, task):
    w = make_window()
    w.session.configure(default_config(task, steps=12, inputs=3, hidden=6))
    assert w.timeline.bar.maximum() == 27 * 12
    assert w.session.trace.steps == 12
    assert task in w.windowTitle()


def test_the_copy_sizes_show_a_dash_for_another_task_and_their_values_for_copy(qtbot):
    """Symbols, pattern and delay are the copy task's: another task greys them and shows
    a dash (it showed a 1 it would ignore); copy shows and uses its values."""
    d = ConfigDialog(default_config("random"))
    qtbot.addWidget(d)
    for w in d.sizes.values():
        assert not w.isEnabled() and w.text() == "—"
    d.task.setCurrentText("copy")
    from lstm_viz.model.config import task_sizes
    copy = task_sizes("copy")
    for k, w in d.sizes.items():
        assert w.isEnabled() and w.value() == copy[k] and w.text() == str(w.value())
    d.sizes["delay"].setValue(1)                       # the least delay is a number, not a dash
    assert d.sizes["delay"].text() == "1" and d.config().delay == 1
    d.task.setCurrentText("sine")
    assert all(w.text() == "—" for w in d.sizes.values())
    assert d.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()


def test_config_dialog_keeps_the_backward_pass_and_forget_bias(qtbot):
    start = default_config().with_(variant="standard", backward="seed", forget_bias=1.0)
    d = ConfigDialog(start)
    qtbot.addWidget(d)
    cfg = d.config()
    assert (cfg.backward, cfg.forget_bias) == ("seed", 1.0)
    d.use_forget_bias.setChecked(False)
    d.backward.setCurrentIndex(0)
    cfg = d.config()
    assert (cfg.backward, cfg.forget_bias) == ("", None)


def _visible_in_viewport(panel, rect) -> bool:
    from PySide6.QtCore import QPoint, QRect

    view, viewport = panel.view, panel.scroll.viewport()
    top_left = view.mapTo(viewport, QPoint(int(rect.left()), int(rect.top())))
    shown = QRect(top_left, rect.size().toSize())
    return viewport.rect().contains(QRect(0, shown.top(), 1, shown.height()))


def test_the_current_line_and_the_last_line_are_on_screen_despite_wrapped_notes(
        make_window, qtbot):
    w = make_window()
    s = w.session
    panel = w.source_panel
    w.resizeDocks([w.source_dock], [480], Qt.Orientation.Horizontal)   # notes wrap
    s.goto("bwd:3")
    qtbot.wait(10)
    wrapped = 0
    while s.cursor < s.frames.last:
        s.step_into()
        qtbot.wait(1)
        st = panel.view.state
        assert st.key == "backward"
        ys, places, height = panel.view.layout()
        wrapped = max(wrapped, sum(1 for n, p in places.items() if p[1] > ys[n]))
        assert panel.view.minimumHeight() >= height - 1
        assert _visible_in_viewport(panel, panel.view.current_rect()), s.frame_text
        line = st.first_line + st.current
        assert f"(line {line})" in panel.header.text(), s.frame_text
    assert wrapped >= 2                                    # the case the test is about
    s.goto("bwd:3:bottom_diff_h")
    bar = panel.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    last = len(panel.view.state.lines) - 1
    assert _visible_in_viewport(panel, panel.view.line_rect(last))


def test_config_dialog_validates_on_every_keystroke_without_moving(qtbot):
    d = ConfigDialog(default_config("random"))
    qtbot.addWidget(d)
    d.show()
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    form_top = d.buttons.geometry().top()
    problem_height = d.problem.height()
    memory = d.memory.text()
    edit = d.steps.lineEdit()
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "2000000")                     # no Tab, no focus change
    assert d.steps.value() == 2_000_000
    assert "sequence length" in d.problem.text() and not ok.isEnabled()
    assert d.memory.text() != memory
    assert d.problem.height() == problem_height and d.buttons.geometry().top() == form_top
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)            # 200000: fine again
    assert d.steps.value() == 200_000 and ok.isEnabled() and d.problem.text() == ""
    assert d.buttons.geometry().top() == form_top
    form = d.layout().itemAt(0).layout()
    assert "Train One Iteration" in form.labelForField(d.lr).text()


def test_the_bar_plot_title_names_the_current_frame_throughout_a_walk(make_window, qtbot):
    w = make_window()
    s = w.session
    for name in ("ds", "h", "wi_diff", "loss"):
        s.select(name)
        s.first()
        while True:
            title = w.variables_panel.plot.title.text()
            assert (f"({s.frame_text})" in title or f"({s.frame_text}, t=" in title
                    or title.endswith(f" at {s.frame_text}")), \
                (name, s.frame_text, title)
            if s.cursor == s.frames.last:
                break
            s.next_frame()


def test_play_pause_is_in_the_debug_menu_too(make_window):
    w = make_window()
    assert w.actions_by_id["play"] in w.menus["Debug"].actions()
    assert w.actions_by_id["play"] in w.menus["Go"].actions()


@pytest.mark.parametrize("field,value", [("hidden", 100_000), ("steps", 10**7)])
def test_sizes_too_large_are_refused_with_the_estimate_before_allocating(qtbot, monkeypatch,
                                                                         field, value):
    """Typed into Configure (or a session text): refused with the memory it would take,
    computed from the numbers; no recording starts and the session keeps its run."""
    import tracemalloc

    from lstm_engine.errors import UserError
    from lstm_viz.model import config as cfgmod
    from lstm_viz.model import runs as runsmod
    from lstm_viz.model import session as sessmod
    from lstm_viz.model.session_text import session_from_text

    session = Session(default_config("random"))
    trace = session.trace

    def forbidden(*args, **kwargs):
        raise AssertionError("a run was built for a size that is refused")

    monkeypatch.setattr(sessmod, "record_config", forbidden)
    monkeypatch.setattr(runsmod, "record_config", forbidden)
    monkeypatch.setattr(runsmod, "build_run", forbidden)
    monkeypatch.setattr(cfgmod, "build_run", forbidden)
    d = ConfigDialog(session.config)
    qtbot.addWidget(d)
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    tracemalloc.start()
    try:
        getattr(d, field).setValue(value)                  # validates as it is typed
        cfg = d.config()
        with pytest.raises(UserError) as refused:
            session.configure(cfg)
        with pytest.raises(UserError) as from_text:
            session_from_text(f"lstm-viz:1 task=random {field}={value}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    c = cfgmod.resolved(cfg)
    estimate = cfgmod.format_bytes(cfgmod.peak_bytes(c.steps, c.inputs, c.hidden, c.dtype))
    assert "GiB" in estimate or "TiB" in estimate
    assert not ok.isEnabled() and estimate in d.problem.text()
    assert estimate in str(refused.value) and "\n" not in str(refused.value)
    assert estimate in str(from_text.value)
    assert session.trace is trace and session.config.hidden == 32
    assert peak < 8 * 2**20                                # nothing of the estimate's size


def test_go_to_frame_by_its_text_from_the_go_menu(make_window, monkeypatch):
    import lstm_viz.widgets.main_window as main_window

    w = make_window()
    s = w.session
    action = next(a for a in w.menus["Go"].actions() if a.text().startswith("&Go to Frame"))
    assert action.shortcut().toString() == "Ctrl+L"
    answers = iter([("bwd:2:ds", True), ("bwd:99", True), ("fwd:1", False)])
    monkeypatch.setattr(main_window, "ask_text", lambda *a, **k: next(answers))
    action.trigger()
    assert s.frame_text == "bwd:2:ds"
    action.trigger()                                 # no such step: one line, cursor kept
    assert s.frame_text == "bwd:2:ds" and "bwd:99" in w.errors.messages[-1]
    assert "\n" not in w.errors.messages[-1]
    action.trigger()                                 # cancelled
    assert s.frame_text == "bwd:2:ds"


def test_every_source_row_on_screen_is_drawn_wherever_the_panel_is_scrolled(make_window,
                                                                            qapp):
    """Painting skips the rows outside the region being painted; none inside may be lost."""
    w = make_window()
    s = w.session
    panel = w.source_panel
    view = panel.view
    for frame in ("bwd:2:ds", "bwd:2:bottom_diff_h", "fwd:1:h"):
        s.goto(frame)
        qapp.processEvents()
        ys, _, _ = view.layout()
        shown = panel.scroll.viewport()
        image = shown.grab().toImage()
        offset = view.mapTo(shown, QPoint(0, 0)).y()
        rows = 0
        for n, line in enumerate(view.state.lines):
            top = int(ys[n]) + offset
            if not line.strip() or top < 0 or top + view.line_h > image.height():
                continue
            rows += 1
            x0 = int(view.gutter + view.fm.horizontalAdvance(line[:len(line) - len(line.lstrip())]))
            inked = any(image.pixelColor(x, y).lightness() < 110
                        for y in range(top + 2, top + int(view.line_h) - 2)
                        for x in range(x0, min(image.width(), x0 + 60)))
            assert inked, (frame, n, line)
        assert rows >= 8, frame
