"""Issue 14, classes 3, 4 and 9: what a saved session's ``meta`` and members may hold.

Class 3: every number in ``meta`` replaced by NaN, ±Inf, a huge or negative value or a
value of the wrong type, every text by markup, control characters or a megabyte: each
file is refused with one line naming it, or it opens as a session whose every number a
window can hold (Qt's ints are 32-bit) and which saves again without a NaN.
Class 4: optimiser-state member names are parsed strictly. Class 9: breakpoints load in
linear time, and too many are refused with a clear message.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_files import (
    leaves,
    members_of,
    meta_of,
    npy_bytes,
    rewrite_meta,
    set_at,
    write_members,
)

from lstm_engine.errors import UserError
from lstm_viz.model.breakpoints import MAX_BREAKPOINTS, Breakpoint
from lstm_viz.model.config import MAX_SEED, check_config
from lstm_viz.model.file_values import QT_INT
from lstm_viz.model.saved_session import MAX_PROBLEM, load_session, save_session
from lstm_viz.model.session import MAX_SPEED, MIN_SPEED, Session
from lstm_viz.model.training_run import MAX_ITERATION, TrainingSettings

MEGA = "x" * 2**20
REPLACEMENTS = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324, 2**31,
                2**63, 10**30, -1, -(2**31), 0, 0.5, "x", "", True, False, None, [], {},
                '<img src="/dev/zero"><b>x</b>', "a\nb\x1b[31m\u202e\x00", MEGA]


def _fuzz(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("sources")
    plain = Session()
    plain.train_step()
    plain.goto("bwd:1:ds")
    plain.add_breakpoint("norm ds < 1e-06")
    plain.add_breakpoint("fwd:2")
    plain.set_speed(25)
    save_session(d / "plain.npz", plain, {"loss_log_scale": True, "grad_array": "wi_diff"})
    run = Session()
    run.start_training(TrainingSettings(task="adding", length=10, hidden=3, ring=3,
                                        optimizer="adam", clip=1.0))
    run.train(4, stop_at_breakpoints=False)
    run.seek_iteration(3)
    run.add_breakpoint("saturation f > 0.9 eps 0.01")
    save_session(d / "training.npz", run)
    return {"plain": d / "plain.npz", "training": d / "training.npz"}


def _no_nan(text: str) -> dict:
    def refuse(name):
        raise AssertionError(f"{name} written into a saved session")
    return json.loads(text, parse_constant=refuse)


def check_valid(session: Session, path, tmp_path) -> None:
    """A session a window can adopt: every number in the range of what shows it."""
    assert math.isfinite(session.speed) and MIN_SPEED <= session.speed <= MAX_SPEED
    assert 0 <= session.cursor < len(session.frames) <= QT_INT
    for bp in session.breakpoints:
        assert isinstance(bp.enabled, bool) and 0 <= bp.hit_count <= QT_INT
    c = session.config
    if c.task != "file":
        check_config(c)
    assert 0 <= c.seed <= MAX_SEED
    run = session.training
    if run is not None:
        assert 0 <= session.iteration <= run.iterations_done <= MAX_ITERATION
        assert all(0 <= k <= MAX_ITERATION for k in run.ring_indices())
        assert 0 <= run.settings.seed <= MAX_SEED
        assert run.problem is None or len(str(run.problem)) <= MAX_PROBLEM
    for entry in session.history:
        assert 0 <= entry.iteration <= MAX_ITERATION
    out = tmp_path / "again.npz"
    save_session(out, session)                         # and saves again, without a NaN
    _no_nan(json.dumps(meta_of(out), allow_nan=False))


def _outcome(path, tmp_path):
    try:
        session, view = load_session(path)
    except UserError as err:
        message = str(err)
        assert "\n" not in message and str(path) in message, message
        assert len(message) < len(str(path)) + 600, message[:300]
        return "refused"
    assert isinstance(view, dict)
    check_valid(session, path, tmp_path)
    return "opened"


@pytest.mark.parametrize("source", ["plain", "training"])
@_fuzz(100)
@given(data=st.data())
def test_every_meta_value_replaced(sources, tmp_path, source, data):
    meta = meta_of(sources[source])
    paths = [p for p, _ in leaves(meta)]
    where = data.draw(st.sampled_from(paths), label="where")
    value = data.draw(st.sampled_from(REPLACEMENTS), label="value")
    path = tmp_path / "changed.npz"
    rewrite_meta(sources[source], lambda m: set_at(m, where, value), out=path)
    _outcome(path, tmp_path)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e308, 2**31, 2**63, -1,
                                   True, "<b>x</b>", MEGA], ids=repr)
@pytest.mark.parametrize("where", [("speed",), ("training", "iterations_done"),
                                   ("training", "settings", "ring"),
                                   ("training", "settings", "seed"),
                                   ("training", "settings", "forget_bias"),
                                   ("training", "failed"), ("training", "problem"),
                                   ("breakpoints", 0, "hits"), ("config", "seed")])
def test_the_numbers_issue_14_named(sources, tmp_path, where, value):
    """The examples of the issue and their neighbours, every replacement each."""
    path = tmp_path / "changed.npz"
    rewrite_meta(sources["training"], lambda m: set_at(m, where, value), out=path)
    _outcome(path, tmp_path)


def test_a_nan_speed_is_refused_and_never_saved(sources, tmp_path):
    path = tmp_path / "nan-speed.npz"
    rewrite_meta(sources["plain"], lambda m: m.update(speed=float("nan")), out=path)
    with pytest.raises(UserError, match="speed' holds nan, not a finite number"):
        load_session(path)
    s = Session()
    with pytest.raises(UserError, match="finite"):
        s.set_speed(float("nan"))
    assert s.speed == 10.0
    save_session(tmp_path / "ok.npz", s)
    assert _no_nan(json.dumps(meta_of(tmp_path / "ok.npz")))["speed"] == 10.0


def test_iteration_counts_beyond_a_qt_int_are_refused(sources, tmp_path):
    path = tmp_path / "big.npz"

    def huge(m):
        m["training"].update(iterations_done=2**31, shown=2**31, ring=[2**31])
    rewrite_meta(sources["training"], huge, out=path)
    with pytest.raises(UserError, match="iteration numbers"):
        load_session(path)


# ---- class 4: optimiser-state member names ---------------------------------------------

def _opt_members(sources):
    return members_of(sources["training"])


@pytest.mark.parametrize("change,words", [
    (lambda m: m.update({"train.opt:m.npy": npy_bytes(np.zeros(3))}), "collides"),
    (lambda m: m.update({"train.opt:step:x.npy": npy_bytes(np.zeros(3))}), "collides"),
    (lambda m: m.update({"train.opt::wg.npy": npy_bytes(np.zeros(3))}), "is not named"),
    (lambda m: m.update({"train.opt:m:wg:x.npy": npy_bytes(np.zeros(3))}), "is not named"),
    (lambda m: m.update({"train.opt:m:w g.npy": npy_bytes(np.zeros(3))}), "is not named"),
    (lambda m: m.update({"train.optimiser.npy": npy_bytes(np.zeros(3))}), "is not named"),
    (lambda m: m.pop("train.opt:m:bf.npy"), "does not hold"),
    (lambda m: m.update({"train.opt:extra:wg.npy": npy_bytes(np.zeros(3))}), "does not hold"),
    (lambda m: m.update({"train.opt:m:wg.npy": npy_bytes(np.zeros((2, 2)))}), "shape"),
    (lambda m: m.update({"train.opt:v:bo.npy": npy_bytes(np.full(3, np.nan))}), "finite"),
    (lambda m: m.update({"train.opt:step.npy": npy_bytes(np.array(-1))}), "step"),
    (lambda m: m.update({"train.opt:step.npy": npy_bytes(np.array(2.5))}), "step"),
])
def test_optimizer_state_members_are_parsed_strictly(sources, tmp_path, change, words):
    members = _opt_members(sources)
    assert "train.opt:m:wg.npy" in members and "train.opt:step.npy" in members
    change(members)
    path = tmp_path / "opt.npz"
    write_members(path, members)
    with pytest.raises(UserError) as info:
        load_session(path)
    assert words in str(info.value) and str(path) in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_the_valid_optimizer_state_trains_on(sources):
    session, _ = load_session(sources["training"])
    done = session.training.iterations_done
    session.train(2, stop_at_breakpoints=False)
    assert session.training.iterations_done == done + 2


# ---- class 9: many breakpoints ------------------------------------------------------------

def _with_breakpoints(sources, tmp_path, n):
    specs = [{"spec": f"norm ds < {1e-6 * (1 + k)!r}", "enabled": True, "hits": 0}
             for k in range(n)]
    path = tmp_path / f"bps-{n}.npz"
    rewrite_meta(sources["plain"], lambda m: m.update(breakpoints=specs), out=path)
    return path


def test_breakpoints_load_in_linear_time(sources, tmp_path, monkeypatch):
    """Counted, not timed: loading n breakpoints compares their texts O(n) times (the
    quadratic loading took 47 s for 10,000)."""
    calls = {"n": 0}
    original = Breakpoint.__eq__

    def counting(self, other):
        calls["n"] += 1
        return original(self, other)
    monkeypatch.setattr(Breakpoint, "__eq__", counting)
    n = MAX_BREAKPOINTS
    session, _ = load_session(_with_breakpoints(sources, tmp_path, n))
    assert len(session.breakpoints) == n
    assert calls["n"] <= 2 * n, calls


def test_too_many_breakpoints_are_refused_with_the_count(sources, tmp_path):
    path = _with_breakpoints(sources, tmp_path, MAX_BREAKPOINTS + 1)
    with pytest.raises(UserError, match=f"{MAX_BREAKPOINTS + 1} breakpoints, more than the "
                                        f"{MAX_BREAKPOINTS}"):
        load_session(path)
    many = [f"norm ds < {1e-6 * (1 + k)!r}" for k in range(MAX_BREAKPOINTS)]
    s = Session.restore(Session().trace, breakpoints=many)
    with pytest.raises(UserError, match="the most a session keeps"):
        s.add_breakpoint("nan")
    assert len(s.breakpoints) == MAX_BREAKPOINTS


def test_many_breakpoints_at_once_are_one_event_and_drop_repeats():
    s = Session()
    seen = []
    s.events.breakpoints_changed.connect(lambda: seen.append(1))
    s.stops.replace(["nan", "nan", "fwd:1", "norm ds < 0.5"])
    assert len(seen) == 1 and len(s.breakpoints) == 3
    with pytest.raises(UserError):
        s.stops.replace(["nan", "fwd:99"])           # not in this run: nothing changes
    assert len(s.breakpoints) == 3
