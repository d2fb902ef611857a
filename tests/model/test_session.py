"""The session without Qt: cursor moves, events, breakpoints, play, runs, files."""

import numpy as np
import pytest

from lstm_engine.errors import UserError
from lstm_engine.recorder import run_stepwise
from lstm_viz.model.config import RunConfig, default_config, peak_bytes, trace_bytes
from lstm_viz.model.frame_data import ACCUMULATORS, VARIABLES
from lstm_viz.model.session import Session


class Recorder:
    """Counts every event a session emits."""

    def __init__(self, session):
        self.log = []
        for name, event in session.events.all().items():
            event.connect(lambda *args, name=name: self.log.append((name, args)))

    def names(self):
        return [n for n, _ in self.log]

    def clear(self):
        self.log.clear()


@pytest.fixture
def session():
    return Session()


def test_default_session_is_the_published_example_at_the_first_frame(session):
    assert session.frame_text == "fwd:0:xc"
    assert session.trace.steps == 4 and session.trace.inputs == 50 and session.trace.hidden == 100
    assert session.trace.total_loss == pytest.approx(0.753483886253, rel=1e-6)
    assert session.config.variant == "seed"


def test_seek_clamps_and_emits_once_per_real_change(session):
    rec = Recorder(session)
    assert session.seek(10) is True
    assert rec.log == [("frame_changed", (10,))]
    rec.clear()
    assert session.seek(10) is False and rec.log == []          # a no-op emits nothing
    session.seek(-5)
    assert session.cursor == 0
    session.seek(10**6)
    assert session.cursor == len(session.frames) - 1
    assert rec.names() == ["frame_changed", "frame_changed"]
    rec.clear()
    assert session.last() is False and rec.log == []


# (start, method, expected) on the published example (T = 4)
MOVES = [
    ("fwd:0:xc", "step_over", "fwd:0"), ("fwd:0", "step_over", "fwd:1"),
    ("fwd:1:g", "step_over", "fwd:1"), ("fwd:3", "step_over", "loss"),
    ("loss", "step_over", "bwd:3"), ("bwd:0:ds", "step_over", "bwd:0"),
    ("fwd:1:g", "step_back_over", "fwd:0"), ("fwd:0:g", "step_back_over", "fwd:0:xc"),
    ("loss", "step_back_over", "fwd:3"), ("bwd:3:ds", "step_back_over", "loss"),
    ("bwd:2", "step_back_over", "bwd:3"), ("bwd:2:dxc", "step_back_over", "bwd:3"),
    ("fwd:0", "step_into", "fwd:1:xc"), ("fwd:3", "step_into", "loss"),
    ("loss", "step_into", "bwd:3:ds"), ("bwd:3:bottom_diff_s", "step_into", "bwd:3"),
    ("bwd:3:ds", "step_back_into", "loss"), ("fwd:1:xc", "step_back_into", "fwd:0"),
    ("fwd:1:g", "step_out", "fwd:1"), ("fwd:1", "step_out", "loss"),
    ("loss", "step_out", "bwd:0"), ("bwd:2:ds", "step_out", "bwd:2"),
    ("bwd:2", "step_out", "bwd:0"),
    ("fwd:1:g", "step_back_out", "fwd:1:xc"), ("fwd:1:xc", "step_back_out", "fwd:0:xc"),
    ("loss", "step_back_out", "fwd:0:xc"), ("bwd:2:df", "step_back_out", "bwd:2:ds"),
    ("bwd:2:ds", "step_back_out", "loss"), ("bwd:2", "step_back_out", "bwd:2:ds"),
    ("fwd:2:s", "next_frame", "fwd:2"), ("fwd:2", "prev_frame", "fwd:2:s"),
    ("bwd:1:ds", "first", "fwd:0:xc"), ("fwd:1", "last", "bwd:0"),
]


@pytest.mark.parametrize("start,method,expected", MOVES)
def test_each_move_lands_on_the_right_frame_and_emits_once(session, start, method, expected):
    session.goto(start)
    rec = Recorder(session)
    moved = getattr(session, method)()
    assert session.frame_text == expected
    assert moved == (start != expected)
    assert rec.names() == (["frame_changed"] if moved else [])


def test_moves_at_the_ends_are_no_ops(session):
    rec = Recorder(session)
    for method in ("first", "prev_frame", "step_back_into", "step_back_over", "step_back_out",
                   "reverse_continue"):
        assert getattr(session, method)() is False
    session.last()
    rec.clear()
    for method in ("last", "next_frame", "step_into", "step_over", "step_out", "continue_"):
        assert getattr(session, method)() is False
    assert rec.log == []


def test_next_then_previous_frame_returns_everywhere(session):
    for i in range(len(session.frames) - 1):
        session.seek(i)
        session.next_frame()
        session.prev_frame()
        assert session.cursor == i


def test_continue_stops_at_breakpoints_in_both_directions(session):
    rec = Recorder(session)
    assert session.toggle_breakpoint("bwd:1:ds") is True
    assert session.toggle_breakpoint("fwd:2:s") is True
    assert rec.names() == ["breakpoints_changed", "breakpoints_changed"]
    assert session.breakpoint_indices() == sorted(
        session.frames.index(t) for t in ("fwd:2:s", "bwd:1:ds"))
    seen = []
    while session.continue_():
        seen.append(session.frame_text)
    assert seen == ["fwd:2:s", "bwd:1:ds", "bwd:0"]
    back = []
    while session.reverse_continue():
        back.append(session.frame_text)
    assert back == ["bwd:1:ds", "fwd:2:s", "fwd:0:xc"]
    session.goto("fwd:2:s")
    assert session.toggle_breakpoint() is False                   # at the cursor: removes it
    assert [bp.label() for bp in session.breakpoints] == ["bwd:1:ds"]
    rec.clear()
    assert session.clear_breakpoints() is True and session.clear_breakpoints() is False
    assert rec.names() == ["stopped", "breakpoints_changed"]      # the stop at fwd:2:s went


def test_play_advances_until_a_breakpoint_or_the_end(session):
    rec = Recorder(session)
    session.add_breakpoint("fwd:1:f")
    assert session.play() and session.playing
    ticks = 0
    while session.tick():
        ticks += 1
    assert session.frame_text == "fwd:1:f" and not session.playing
    assert ticks == session.frames.index("fwd:1:f") - 1
    assert rec.names().count("playing_changed") == 2
    session.play()
    while session.tick():
        pass
    assert session.cursor == session.frames.last
    session.play()                                                  # at the end: from the start
    assert session.cursor == 0 and session.playing
    assert session.toggle_play() is True and not session.playing
    assert session.tick() is False


def test_speed_and_selection_emit_only_on_change(session):
    rec = Recorder(session)
    assert session.set_speed(25) and not session.set_speed(25)
    assert session.set_speed(1e9) and session.speed == 5000.0
    assert session.select("ds") and not session.select("ds")
    with pytest.raises(UserError):
        session.select("nonsense")
    assert rec.names() == ["speed_changed", "speed_changed", "selection_changed"]


def test_configure_runs_a_new_run_only_when_the_config_changes(session):
    rec = Recorder(session)
    assert session.configure(session.config) is False and rec.log == []
    session.goto("bwd:1")
    rec.clear()
    cfg = default_config("random", steps=6, inputs=3, hidden=5, seed=2)
    assert session.configure(cfg) is True
    assert session.trace.steps == 6 and session.trace.hidden == 5 and session.cursor == 0
    assert rec.names() == ["trace_changed", "config_changed", "frame_changed"]
    assert session.configure(cfg) is False


@pytest.mark.parametrize("bad", [
    RunConfig(task="random", hidden=0, steps=5, inputs=3, init="uniform"),
    RunConfig(task="random", hidden=8000, steps=1_000_000, inputs=8000, init="uniform"),
    RunConfig(task="nope"), RunConfig(variant="lstm"), RunConfig(dtype="float16"),
    RunConfig(task="random", init="uniform", lr=-1.0),
])
def test_refused_configs_leave_the_session_as_it_was(session, bad):
    before = session.trace
    rec = Recorder(session)
    with pytest.raises(UserError) as err:
        session.configure(bad)
    assert "\n" not in str(err.value)
    assert session.trace is before and rec.log == []


def test_the_memory_estimate_covers_the_recording():
    s = Session(default_config("random", steps=50, inputs=7, hidden=9))
    est = trace_bytes(50, 7, 9)
    assert s.trace.nbytes <= est <= 1.3 * s.trace.nbytes + 10_000
    assert peak_bytes(50, 7, 9) > est


def test_train_step_is_the_seed_sgd_step_and_keeps_the_cursor(session):
    session.goto("bwd:2:ds")
    rec = Recorder(session)
    entry = session.train_step()
    assert entry.iteration == 0 and entry.loss == pytest.approx(0.753483886253, rel=1e-6)
    assert session.trace.total_loss == pytest.approx(0.599065083953, rel=1e-6)
    assert session.frame_text == "bwd:2:ds" and len(session.history) == 1
    assert rec.names() == ["trace_changed", "frame_changed", "history_changed"]


def test_save_and_open_round_trip_and_a_bad_file_changes_nothing(session, tmp_path):
    path = tmp_path / "run.npz"
    session.save(path)
    other = Session(default_config("random", steps=3, inputs=2, hidden=4))
    other.open(path)
    assert other.path == str(path) and other.config.task == "file"
    for name in ("h", "ds", "wi_diff", "xc"):
        np.testing.assert_array_equal(other.trace[name], session.trace[name])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    before = other.trace
    rec = Recorder(other)
    with pytest.raises(UserError, match="bad.npz"):
        other.open(bad)
    assert other.trace is before and rec.log == []


def test_a_file_run_can_change_variant_but_not_size(session, tmp_path):
    path = tmp_path / "run.npz"
    session.save(path)
    s = Session()
    s.open(path)
    assert s.configure(s.config.with_(variant="standard"))
    assert s.trace.variant == "standard"
    with pytest.raises(UserError):
        s.configure(s.config.with_(hidden=3))


# ---- what is known at a frame, and its value --------------------------------------------

def test_known_quantities_follow_the_computation(session):
    data = session.data
    at = session.frames.index
    assert data.stats("g", at("fwd:1:g")) is not None
    assert data.stats("i", at("fwd:1:g")) is None
    assert data.stats("loss", at("fwd:3")) is None
    assert data.stats("loss", at("loss")) is not None
    assert all(data.stats(n, at("loss")) is None for n in ACCUMULATORS + ("ds", "top_diff_h"))
    assert data.stats("ds", at("bwd:2:ds")) is not None
    assert data.stats("do", at("bwd:2:ds")) is None
    assert all(data.stats(n, at("bwd:0")) is not None for n in VARIABLES)


def _reference_accumulator(trace, name, first, with_step=None):
    """sum over steps k >= first of outer(d*_input[k], xc[k]), by a plain loop."""
    gate = name[1]
    total = np.zeros_like(trace[name])
    for k in range(first, trace.steps):
        total += np.outer(trace[f"d{gate}_input"][k], trace.xc[k])
    if with_step is not None:
        total += np.outer(trace[f"d{gate}_input"][with_step], trace.xc[with_step])
    return total


def test_live_accumulators_as_of_each_backward_frame(session):
    tr, data = session.trace, session.data
    at = session.frames.index
    np.testing.assert_allclose(data.value("wi_diff", at("bwd:3:ds")), 0.0)
    np.testing.assert_allclose(data.value("wi_diff", at("bwd:2:di_input")),
                               _reference_accumulator(tr, "wi_diff", 3), atol=1e-15)
    np.testing.assert_allclose(data.value("wi_diff", at("bwd:2:wi_diff")),
                               _reference_accumulator(tr, "wi_diff", 2), atol=1e-15)
    np.testing.assert_allclose(data.value("wf_diff", at("bwd:2:wi_diff")),
                               _reference_accumulator(tr, "wf_diff", 3), atol=1e-15)
    np.testing.assert_allclose(data.value("wg_diff", at("bwd:0")), tr.wg_diff, atol=1e-15)
    step = run_stepwise(tr.params, tr.x, tr.y)                   # the readable cell
    np.testing.assert_allclose(data.value("ds", at("bwd:1:ds")), step.ds[1], atol=1e-15)


def test_source_state_points_at_the_statement_that_just_ran(session):
    src = session.data.source(session.frames.index("bwd:2:dxc"))
    assert src.name == "cell_backward" and "dxc" in src.lines[src.current]
    assert list(src.ran.values())[-1] == "dxc" and len(src.ran) == 18
    fwd = session.data.source(session.frames.index("fwd:0"))
    assert "h = " in fwd.lines[fwd.current] and len(fwd.ran) == 7
    loss = session.data.source(session.frames.index("loss"))
    assert loss.key == "loss" and "return" in loss.lines[loss.current]


def test_statistics_count_infinities_as_well_as_nans():
    """An overflowing loss (+Inf at one step) must show in the count, since min and max
    are taken over the finite values and would otherwise hide it."""
    from nonfinite import trace_with

    from lstm_viz.model.frame_data import FrameData

    trace = trace_with([("loss", 1, np.inf), ("ds", (2, 0), np.nan), ("ds", (2, 1), -np.inf)])
    data = FrameData(trace)
    loss = data.stats("loss", data.model.index("loss"))
    assert loss.nonfinite == 1 and np.isfinite(loss.max) and "NaN/Inf 1" in loss.long()
    ds = data.stats("ds", data.model.index("bwd:2:ds"))
    assert ds.nonfinite == 2 and np.isfinite(ds.min) and np.isfinite(ds.max)
    assert data.stats("ds", data.model.index("bwd:3:ds")).nonfinite == 0


def test_clearing_all_breakpoints_clears_the_stop_they_made(session):
    session.toggle_breakpoint("bwd:1:ds")
    session.continue_()
    assert session.stop is not None and session.stop.frame == "bwd:1:ds"
    stops = []
    session.events.stopped.connect(stops.append)
    assert session.clear_breakpoints()
    assert session.stop is None and stops == [None] and session.frame_text == "bwd:1:ds"
