"""What becomes of the breakpoints when another run replaces the shown one (no Qt)."""

from lstm_viz.model.config import default_config
from lstm_viz.model.session import Session
from lstm_viz.model.training_run import TrainingSettings


def _collect(session):
    got = []
    session.events.breakpoints_carried.connect(got.append)
    return got


def test_a_new_run_says_which_breakpoints_it_kept_and_which_it_dropped():
    s = Session(default_config("sine"))                    # T = 40
    s.add_breakpoint("norm ds < 0.25")
    s.add_breakpoint("fwd:30:g")
    s.add_breakpoint("bwd:2:ds")
    got = _collect(s)
    s.configure(default_config("published"))               # T = 4
    assert len(got) == 1
    carry = got[0]
    assert [b.spec() for b in carry.kept] == ["norm ds < 0.25", "frame bwd:2:ds"]
    assert [b.spec() for b in carry.dropped] == ["frame fwd:30:g"]
    assert carry.text() == ("2 breakpoints carried over to this run: ‖ds‖ < 0.25, bwd:2:ds"
                            " · dropped (past its last step): fwd:30:g")
    assert list(s.breakpoints) == list(carry.kept)


def test_the_same_run_again_or_a_session_with_its_own_breakpoints_says_nothing():
    s = Session()
    got = _collect(s)
    s.configure(default_config("sine"))                     # no breakpoints: nothing to say
    assert got == []
    s.add_breakpoint("nan")
    s.train_step()                                          # the same run, one SGD step on
    assert got == []
    s.start_training(TrainingSettings(task="sine", length=8, hidden=3))
    assert len(got) == 1 and [b.spec() for b in got[0].kept] == ["nan"]
    s.train(3)                                              # iterations of that run
    assert len(got) == 1
    other = Session(default_config("published"))
    other.add_breakpoint("norm ds > 1")
    s.adopt(other)                                          # brings its own breakpoints
    assert len(got) == 1 and [b.spec() for b in s.breakpoints] == ["norm ds > 1.0"]
