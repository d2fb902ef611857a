"""Events of a change of several fields: held, then fired once each, after the session is
whole (issue 14, class 17: a file opened while live training runs)."""

import pytest

from lstm_engine.io import save_trace
from lstm_viz.model.config import default_config
from lstm_viz.model.events import SessionEvents
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings


class Witness:
    """Listens to every event and checks, in each callback, that the session it sees is
    whole: the frames are the shown trace's, the cursor is one of them, and the training
    state agrees with itself."""

    def __init__(self, session):
        self.session = session
        self.log = []
        self.problems = []
        for name, event in session.events.all().items():
            event.connect(lambda *args, name=name: self._see(name, args))

    def _see(self, name, args):
        s = self.session
        self.log.append(name)
        try:
            assert s.data.trace is s.trace
            assert len(s.frames) == len(s.data.model) and 0 <= s.cursor < len(s.frames)
            assert s.frames.index(s.frame_text) == s.cursor     # the frame resolves
            assert (s.training is None) == (s.iteration is None)
            if s.training is not None:
                assert s.trace is s.training.trace_at(s.iteration)
            if name == "frame_changed":
                assert args == (s.cursor,)
            if name == "trace_changed":
                assert args == (s.trace,)
            if s.stop is not None:
                assert s.stop.index < len(s.frames)
        except Exception as err:                       # (kept: the session carries on)
            self.problems.append(f"{name}: {type(err).__name__} {err}")

    def names(self):
        return list(self.log)


def test_a_file_opened_while_training_runs_is_seen_whole_by_every_listener(tmp_path):
    small = tmp_path / "small.npz"
    published = Session()                                     # T = 4
    save_trace(small, published.trace)
    s = Session()
    s.start_training(TrainingSettings(task="adding", length=20, hidden=4))
    s.train(2)
    s.last()
    s.add_breakpoint("nan")
    s.run_training()
    assert s.training_running and s.cursor >= len(published.frames)
    witness = Witness(s)
    s.open(small)
    assert witness.problems == []
    assert s.training is None and not s.training_running and s.cursor == 0
    assert s.path == str(small) and len(s.frames) == len(published.frames)
    names = witness.names()
    assert len(names) == len(set(names)), names               # each event once
    assert {"trace_changed", "frame_changed", "training_changed", "iteration_changed",
            "history_changed", "path_changed", "config_changed"} <= set(names)


def test_a_shorter_run_keeps_the_cursor_in_its_frames_for_every_listener():
    s = Session(default_config("random", steps=30, inputs=2, hidden=3))
    s.add_breakpoint("fwd:20")                     # goes with the shorter run
    s.add_breakpoint("norm ds < 1e9")
    s.continue_()                                  # a stop far into the long pass
    s.last()
    s.reverse_continue()
    assert s.stop is not None
    witness = Witness(s)
    s.configure(default_config("random", steps=3, inputs=2, hidden=3))
    assert witness.problems == [] and s.stop is None
    assert witness.names() == ["stopped", "trace_changed", "config_changed",
                               "breakpoints_changed", "frame_changed", "breakpoints_carried"]


def test_adopting_a_session_fires_each_event_once_with_the_final_values():
    s = Session()
    s.goto("bwd:1:ds")
    other = Session(default_config("random", steps=6, inputs=2, hidden=3))
    other.goto("fwd:5:o")
    other.add_breakpoint("fwd:2")
    other.select("ds")
    other.set_speed(60)
    witness = Witness(s)
    seen = []
    s.events.frame_changed.connect(seen.append)
    s.adopt(other)
    assert witness.problems == []
    names = witness.names()
    assert len(names) == len(set(names)), names
    assert seen == [other.cursor] and s.frame_text == "fwd:5:o"
    assert s.selected == "ds" and s.speed == 60 and [str(b.frame) for b in s.breakpoints] \
        == ["fwd:2"]


def test_training_shows_each_new_pass_once_per_call_and_whole():
    s = Session()
    s.start_training(TrainingSettings(task="adding", length=20, hidden=4))
    s.goto("bwd:3:ds")
    witness = Witness(s)
    s.train(5)
    s.seek_iteration(2)
    s.set_ring_size(2)                             # iteration 2 is no longer kept
    assert witness.problems == []
    assert witness.names().count("trace_changed") == 3
    assert s.iteration == 4 and s.iterations() == [3, 4] and s.frame_text == "bwd:3:ds"


# ---- the batch itself ---------------------------------------------------------------------

def _listen(events, *names):
    log = []
    for n in names:
        getattr(events, n).connect(lambda *a, n=n: log.append((n, a)))
    return log


def test_a_batch_fires_each_event_once_with_its_last_arguments_in_first_emit_order():
    ev = SessionEvents()
    log = _listen(ev, "frame_changed", "trace_changed", "no_hit")
    with ev.batch():
        ev.frame_changed.emit(1)
        ev.trace_changed.emit("a")
        with ev.batch():                           # nested: joins the outer batch
            ev.frame_changed.emit(2)
        assert log == []
        ev.frame_changed.emit(3)
    assert log == [("frame_changed", (3,)), ("trace_changed", ("a",))]
    log.clear()
    ev.frame_changed.emit(4)                       # outside a batch: at once
    assert log == [("frame_changed", (4,))]


def test_an_emit_while_held_events_fire_supersedes_the_held_one():
    ev = SessionEvents()
    log = _listen(ev, "frame_changed")
    ev.trace_changed.connect(lambda t: ev.frame_changed.emit(99))   # a listener moves on
    with ev.batch():
        ev.trace_changed.emit("t")
        ev.frame_changed.emit(5)
    assert log == [("frame_changed", (99,))]      # never the stale 5 after 99


def test_a_failing_listener_stops_neither_the_others_nor_the_held_events():
    ev = SessionEvents()
    log = _listen(ev, "frame_changed", "trace_changed")

    def boom(*_):
        raise ValueError("listener bug")
    ev.frame_changed.connect(boom)
    with pytest.raises(ValueError, match="listener bug"):
        with ev.batch():
            ev.frame_changed.emit(1)
            ev.trace_changed.emit("t")
    assert log == [("frame_changed", (1,)), ("trace_changed", ("t",))]
    seen = []
    ev.on_error = seen.append                       # the app's handler: reported, not raised
    with ev.batch():
        ev.frame_changed.emit(2)
    assert [str(e) for e in seen] == ["listener bug"] and log[-1] == ("frame_changed", (2,))
