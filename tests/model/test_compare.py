"""Two runs side by side: synchronised frames and differences; where each side comes from."""

import numpy as np
import pytest

from lstm_engine.errors import UserError
from lstm_engine.trace import BACKWARD_NAMES, GRAD_NAMES
from lstm_viz.model.compare import QUANTITIES, Comparison
from lstm_viz.model.config import default_config

SMALL = default_config("random", steps=6, inputs=3, hidden=4, init="uniform")


def test_a_run_compared_with_itself_differs_nowhere():
    c = Comparison.of(SMALL, SMALL)
    assert set(c.max_differences()) == set(QUANTITIES)
    assert all(v == 0.0 for v in c.max_differences().values())
    for i in range(0, len(c.left.frames), 7):
        c.left.seek(i)
        for name in ("h", "ds", "wi_diff"):
            d = c.difference_at(name)
            assert d is None or not np.any(d)


def test_seed_and_standard_differ_where_they_must():
    c = Comparison.of(SMALL, SMALL.with_(variant="standard"))
    # step 0: h_prev = s_prev = 0, so the gates and s agree; h = s*o vs o*tanh(s) does not
    for name in ("g", "i", "f", "o", "s"):
        assert not np.any(c.difference(name)[0]), name
    assert np.all(c.difference("h")[0] != 0)
    # from step 1 on, h(t-1) feeds everything
    for name in ("g", "i", "f", "o", "s", "h"):
        assert np.all(np.abs(c.difference(name)[1:]).max(axis=1) > 0), name
    for name in BACKWARD_NAMES + GRAD_NAMES:
        if name == "top_diff_s":
            assert not np.any(c.difference(name)[-1])       # zero at the last step on both
        assert np.abs(c.difference(name)).max() > 0, name
    assert "standard" in c.labels()[1]


def test_the_wrong_backward_against_the_right_one_differs_in_the_backward_only():
    right = SMALL.with_(variant="standard")
    c = Comparison.of(right, right.with_(backward="seed"))
    d = c.max_differences()
    for name in ("xc", "g", "i", "f", "o", "s", "h", "loss", "dl_dh"):
        assert d[name] < 1e-12, name
    assert d["ds"] > 1e-6 and d["wi_diff"] > 1e-6 and d["do"] > 1e-6


def test_cursors_are_synchronised_both_ways_and_unknown_values_are_none():
    c = Comparison.of(SMALL, SMALL.with_(variant="standard"))
    c.left.goto("fwd:2:g")
    assert c.right.frame_text == "fwd:2:g"
    c.right.step_over()
    assert c.left.frame_text == "fwd:2" and c.right.frame_text == "fwd:2"
    assert c.difference_at("ds") is None                   # not computed in the forward pass
    c.left.goto("bwd:1:ds")
    np.testing.assert_array_equal(c.difference_at("ds"), c.right.trace.ds[1] - c.left.trace.ds[1])
    c.close()
    c.left.first()
    assert c.right.frame_text == "bwd:1:ds"


def test_two_seeds_are_compared_and_said_to_see_other_data_other_lengths_refused():
    c = Comparison.of(SMALL, SMALL.with_(seed=1))         # a task's seed draws its data too
    assert not c.same_data and Comparison.of(SMALL, SMALL).same_data
    np.testing.assert_array_equal(c.difference("h"), c.right.trace.h - c.left.trace.h)
    with pytest.raises(UserError, match="sizes"):
        Comparison.of(SMALL, SMALL.with_(steps=7))         # frames must line up
    other_h = Comparison.of(SMALL, SMALL.with_(hidden=5))
    assert other_h.images("ds").diff is None                # nothing to subtract
    assert "ds" not in other_h.max_differences() and "loss" in other_h.max_differences()
    fb = default_config("adding", steps=12)
    c = Comparison.of(fb.with_(forget_bias=0.0), fb.with_(forget_bias=1.0))
    assert c.max_differences(["f"])["f"] > 0.1


def test_images_carry_shared_levels_and_a_unit_scale_for_no_difference():
    same = Comparison.of(SMALL, SMALL)
    im = same.images("ds")
    assert im.max_diff == 0.0 and im.diff_levels == (-1.0, 1.0) and not np.any(im.diff)
    m = float(np.abs(same.left.trace.ds).max())
    assert im.levels == pytest.approx((-m, m)) and im.left.dtype == np.float32
    assert same.images("loss").left.shape == (SMALL.steps, 1)        # a (T,) quantity: a column
    c = Comparison.of(SMALL, SMALL.with_(variant="standard"))
    im = c.images("h")
    d = float(np.abs(c.right.trace.h - c.left.trace.h).max())
    m = max(float(np.abs(c.left.trace.h).max()), float(np.abs(c.right.trace.h).max()))
    assert im.max_diff == pytest.approx(d) and im.diff_levels == pytest.approx((-d, d))
    assert im.levels == pytest.approx((-m, m))
    c.left.goto("fwd:2")
    assert c.max_difference_at("h") == pytest.approx(
        float(np.abs(c.right.trace.h[2] - c.left.trace.h[2]).max()))
    c.left.seek(0)
    assert c.max_difference_at("ds") is None                     # not computed yet


def test_each_side_comes_from_the_debugger_s_run(tmp_path):
    from lstm_viz.model.compare import SOURCES, run_for
    from lstm_viz.model.session import Session

    s = Session(SMALL)
    with pytest.raises(UserError, match="not been trained"):
        run_for(s, "before training")
    s.train_step()
    s.train_step()                                        # two SGD steps: weights moved
    before, label = run_for(s, "before training")
    assert label.endswith("iteration 0")
    assert before.trace.total_loss == pytest.approx(Session(SMALL).trace.total_loss)
    now, _ = run_for(s, "this run")
    assert now.trace is s.trace
    c = Comparison(before, now)
    assert c.same_data and c.max_differences(["wi_diff"])["wi_diff"] > 0
    seed, label = run_for(s, "another seed", seed=3)
    assert seed.config.seed == 3 and "seed 3" in label
    path = tmp_path / "other.npz"
    Session(SMALL.with_(seed=5)).save(path)
    from_file, label = run_for(s, "a trace file", path=path)
    assert label.startswith("other.npz") and from_file.trace.steps == SMALL.steps
    filed = Session()
    filed.open(path)                                        # a file's run: only files
    with pytest.raises(UserError, match="file"):
        run_for(filed, "wrong backward")
    assert set(SOURCES) >= {"this run", "before training", "another seed", "a trace file"}


def _poke(session, name, where, value):
    """Put ``value`` at ``where`` in one recorded quantity of ``session``'s pass (the
    arrays are read-only in the app; a NaN or an infinity arrives there from a file)."""
    a = session.trace[name]
    a.flags.writeable = True
    a[where] = value
    a.flags.writeable = False


@pytest.mark.parametrize("left, right, differs", [
    (np.nan, 0.5, True), (np.inf, 0.5, True), (np.inf, -np.inf, True), (np.nan, np.inf, True),
    (np.nan, np.nan, False), (np.inf, np.inf, False), (-np.inf, -np.inf, False),
])
def test_nan_and_inf_on_one_side_are_differences_and_the_same_on_both_are_not(left, right,
                                                                              differs):
    c = Comparison.of(SMALL, SMALL)
    _poke(c.left, "ds", (2, 1), left)
    _poke(c.right, "ds", (2, 1), right)
    assert c.max_differences()["ds"] == 0.0                # no finite place differs
    assert c.special_differences()["ds"] == int(differs)
    assert sum(c.special_differences().values()) == int(differs)
    if differs:
        assert c.summary() == "NaN or Inf on one side only: ds (1 place)."
    else:
        assert c.summary() == "The two runs are identical everywhere."


def test_the_summary_names_the_largest_finite_differences_beside_a_nan():
    c = Comparison.of(SMALL, SMALL.with_(variant="standard"))
    _poke(c.right, "h", (5, 0), np.nan)       # the last h: not in any xc
    d = c.max_differences()
    assert np.isfinite(d["h"]) and d["h"] > 0
    worst = sorted(d.items(), key=lambda kv: -kv[1])[:5]
    assert c.summary().startswith("Largest differences: " + ", ".join(
        f"{n} {v:.2g}" for n, v in worst) + ".")
    assert c.summary().endswith("NaN or Inf on one side only: h (1 place).")
