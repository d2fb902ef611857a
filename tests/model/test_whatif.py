"""What if in the session (model/whatif.py): the intervened pass is the engine's, the
debugger steps either pass, the comparison holds both and their difference, and saved
sessions, session texts and trace files carry the interventions. No Qt."""

import numpy as np
import pytest

from lstm_engine import Model, ReadoutMSE, init_uniform, record_model
from lstm_engine.errors import UserError
from lstm_engine.interventions import Interventions
from lstm_engine.io import load_trace
from lstm_engine.paths import path_split
from lstm_engine.recorder import record
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES
from lstm_viz.model.compare import run_for, whatif_comparison
from lstm_viz.model.config import default_config
from lstm_viz.model.saved_session import load_session, save_session
from lstm_viz.model.session import Session
from lstm_viz.model.session_text import parse_text, session_from_text, state_text
from lstm_viz.model.whatif import (
    choices,
    interventions_text,
    interventions_words,
    parse_interventions,
    parse_words,
)
from lstm_viz.pictures.paths import PathShares
from lstm_viz.pictures.whatif import PassCurves, both_passes

TEXT = "--clamp f=1@3:9#2\n--cut h\n--edit-input zero@4"


@pytest.fixture
def session():
    return Session(default_config("adding").with_(steps=16, hidden=6))


def same_pass(a, b):
    for n in STEP_NAMES + GRAD_NAMES:
        np.testing.assert_array_equal(a[n], b[n], err_msg=n)


def test_apply_records_the_engines_intervened_pass_from_the_original_input(session):
    original = session.trace
    x0 = np.array(original.x)
    got = session.whatif.apply(TEXT)
    iv = Interventions.parse(clamp=["f=1@3:9#2"], cut=["h"], edit_input=["zero@4"])
    want = record(original.params, x0, original.y, "seed", original.loss_fn,
                  interventions=iv)
    same_pass(got, want)
    assert got.interventions == iv
    assert np.all(got.x[4] == 0) and np.any(x0[4] != 0)     # the edit is applied once
    np.testing.assert_array_equal(got.x[5:], x0[5:])
    assert got.f[3:9, 2].tolist() == [1.0] * 6
    assert session.trace is original                        # the debugger still steps it


def test_the_debugger_steps_either_pass_and_breakpoints_hold_on_it(session):
    session.add_breakpoint("saturation f > 0.9 eps 0.01")
    session.goto("bwd:5:ds")
    session.whatif.apply("--clamp f=1")
    session.first()
    session.continue_()
    assert session.frame_text == session.frames.frame(session.frames.last).__str__()
    assert session.whatif.step("intervened")
    assert session.trace is session.whatif.intervened
    assert session.frame_text == str(session.frames.frame(session.frames.last))  # kept
    session.first()
    session.continue_()
    assert session.frame_text == "fwd:0:f"                   # f = 1 saturates at once
    assert session.breakpoints                               # kept across the switch
    assert session.whatif.step("original")
    assert session.trace is session.whatif.original


def test_new_run_drops_the_intervened_pass(session):
    heard = []
    session.events.whatif_changed.connect(lambda: heard.append(1))
    session.configure(session.config.with_(seed=2))
    assert heard == []                                   # nothing of what if changed
    session.whatif.apply("--cut h")
    assert heard == [1]
    session.configure(session.config.with_(seed=3))
    assert heard == [1, 1]
    assert session.whatif.intervened is None and not session.whatif.interventions
    assert session.whatif.original is session.trace


def test_bad_text_changes_nothing(session):
    session.whatif.apply("--cut s")
    before = session.whatif.intervened
    for bad, words in (("--clamp z=1", "unknown gate"), ("--cut", "has no value"),
                       ("--clamp f=2", "[0, 1]"), ("--knockout 99", "out of range"),
                       ("--frobnicate 3", "unknown intervention")):
        with pytest.raises(UserError, match=words.replace("[", r"\[")) as err:
            session.whatif.apply(bad)
        assert "\n" not in str(err.value)
        assert session.whatif.intervened is before
        assert session.whatif.interventions == Interventions.parse(cut=["s"])
    with pytest.raises(UserError):
        session.whatif.set_text("--scale f.q=2")
    assert session.whatif.text == "--cut s"


def test_text_forms_round_trip():
    iv = parse_interventions(TEXT + "\n--scale g.h=0.5#1:3/L0 --truncate 4 --knockout 2@7:")
    assert parse_interventions(interventions_text(iv)) == iv
    assert parse_words(interventions_words(iv)) == iv
    assert " " not in interventions_words(iv)


def test_choices_parse_and_fit_the_pass(session):
    T = session.trace.steps
    lines = [line for kind, where in (("unit", dict(unit=2)), ("gate", dict(gate="o")),
                                      ("step", {}))
             for _, line in choices(kind, t=5, steps=T, **where)]
    assert "--knockout 2@5:" in lines and "--cut h@5" in lines and "--clamp o=1" in lines
    for line in lines:
        session.whatif.set_text(line)                 # each parses and fits the pass


def test_comparison_holds_original_intervened_and_difference(session):
    session.whatif.apply("--cut h")
    c = whatif_comparison(session)
    im = c.images("ds")
    a, b = session.whatif.original.ds, session.whatif.intervened.ds
    np.testing.assert_array_equal(im.left, a.astype(np.float32))
    np.testing.assert_array_equal(im.right, b.astype(np.float32))
    np.testing.assert_array_equal(im.diff, (b - a).astype(np.float32))
    session.goto("bwd:7:ds")
    c.left.seek(session.view_index)                          # as the view follows it
    assert c.right.frame_text == "bwd:7:ds"                  # the right side follows
    assert run_for(session, "intervened (what if)")[1] == "intervened: --cut h"
    both = both_passes(session.whatif)
    np.testing.assert_allclose(both.ds_norm["intervened"], np.linalg.norm(b, axis=1),
                               rtol=1e-6)
    np.testing.assert_allclose(both.loss["original"], session.whatif.original.loss, rtol=1e-6)
    # the y ranges span both passes' curves (ds on its log scale), 10% room either side
    norms = np.concatenate([np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)])
    lo, hi = np.log10(norms[norms > 0].min()), np.log10(norms.max())
    np.testing.assert_allclose(both.ds_range, [lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)],
                               rtol=1e-5)
    losses = np.concatenate([session.whatif.original.loss, session.whatif.intervened.loss])
    lo, hi = losses.min(), losses.max()
    np.testing.assert_allclose(both.loss_range, [lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)],
                               rtol=1e-5)


def test_comparison_without_a_pass_says_so(session):
    with pytest.raises(UserError, match="no intervened pass"):
        run_for(session, "intervened (what if)")


def test_cut_h_path_leaves_the_carousel_alone(session):
    """With the h-path cut, every ds arrived along the carousel: share 1 (where ds ≠ 0)."""
    tr = session.whatif.apply("--cut h")
    session.whatif.step("intervened")
    session.last()
    st = PathShares(session.data).state(session.view_index)
    sp = path_split(tr)
    np.testing.assert_allclose(sp.through_h, 0.0, atol=1e-15)
    np.testing.assert_allclose(st.shares["carousel"][st.norms["ds"] > 0], 1.0)


def test_saved_session_round_trip(session, tmp_path):
    session.whatif.apply(TEXT)
    session.whatif.step("intervened")
    session.goto("bwd:4:ds")
    path = tmp_path / "s.npz"
    save_session(path, session)
    other, _ = load_session(path)
    assert other.whatif.applied == session.whatif.applied
    assert other.whatif.stepping == "intervened" and other.frame_text == "bwd:4:ds"
    same_pass(other.trace, session.trace)
    same_pass(other.whatif.original, session.whatif.original)
    session.whatif.clear()
    session.adopt(other)                                     # the window's Open Session
    assert session.whatif.stepping == "intervened"
    assert session.trace is session.whatif.intervened


def test_session_text_round_trip(session):
    session.whatif.apply(TEXT)
    session.whatif.step("intervened")
    session.goto("bwd:2:ds")
    text = state_text(session)
    assert "whatif=" in text and "pass=intervened" in text
    other = session_from_text(text)
    same_pass(other.trace, session.trace)
    assert other.frame_text == "bwd:2:ds"
    for bad in ("whatif=clamp=q=1", "whatif=cut", "pass=intervened", "pass=both"):
        with pytest.raises(UserError):
            parse_text(f"lstm-viz:1 task=adding {bad}")


def test_trace_file_with_interventions_opens_as_the_intervened_pass(session, tmp_path):
    session.whatif.apply("--clamp f=1 --cut h")
    session.whatif.step("intervened")
    session.save(tmp_path / "iv.npz")
    assert load_trace(tmp_path / "iv.npz").interventions
    fresh = Session()
    fresh.open(tmp_path / "iv.npz")
    w = fresh.whatif
    assert w.stepping == "intervened" and w.applied == session.whatif.applied
    same_pass(w.original, session.whatif.original)           # recorded again without them


def test_stacked_model_interventions_on_one_layer():
    rng = np.random.default_rng(0)
    cells = [init_uniform(3, 4, rng, -0.7, 0.7), init_uniform(4, 5, rng, -0.7, 0.7)]
    model = Model(cells, "seed", ReadoutMSE(rng.standard_normal((2, 5)), np.zeros(2)))
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    session = Session(trace=record_model(model, x, y))
    got = session.whatif.apply("--clamp f=1/L1 --cut h/L0")
    iv = Interventions.parse(clamp=["f=1/L1"], cut=["h/L0"])
    want = record_model(model, x, y, interventions=iv)
    for a, b in zip(got.layers, want.layers, strict=True):
        same_pass(a, b)
    session.set_view_layer(1)
    assert both_passes(session.whatif).ds_norm["intervened"].shape == (7,)
    np.testing.assert_array_equal(session.whatif.layer_pass("intervened").f, 1.0)


def _same_curves(got, want):
    for name in ("ds_norm", "ds_log", "loss"):
        for which in ("original", "intervened"):
            np.testing.assert_array_equal(getattr(got, name)[which],
                                          getattr(want, name)[which], err_msg=name)
    assert got.total == want.total
    assert got.ds_range == want.ds_range and got.loss_range == want.loss_range


def test_the_curves_of_each_layer_are_kept_while_the_passes_are_the_same():
    # The Intervene panel asks on every layer switch; they are computed again exactly
    # when a pass changes (applied, cleared, a new run).
    session = Session(default_config("random", steps=9, inputs=3, hidden=4, layers=2))
    w = session.whatif
    curves = PassCurves(w)
    assert curves.get(0) is None                             # no intervened pass
    w.apply("--cut h@2:5/L1")
    layer0, layer1 = curves.get(0), curves.get(1)
    assert curves.get(0) is layer0 and curves.get(1) is layer1
    _same_curves(layer0, both_passes(w, 0))
    _same_curves(layer1, both_passes(w, 1))
    assert layer1.loss is layer0.loss                        # the whole pass's, shared
    assert not np.array_equal(layer1.ds_norm["original"], layer0.ds_norm["original"])
    assert np.all(np.isnan(layer1.ds_log["original"]) == (layer1.ds_norm["original"] == 0))
    w.step("intervened")                                     # the same two passes
    assert curves.get(1) is layer1
    w.apply("--clamp f=1")                                   # another intervened pass
    again = curves.get(1)
    assert again is not layer1
    _same_curves(again, both_passes(w, 1))
    w.clear()
    assert curves.get(1) is None
    w.apply("--clamp f=1")                                   # recorded again: not kept
    assert curves.get(1) is not again
    _same_curves(curves.get(1), both_passes(w, 1))
    session.configure(session.config.with_(seed=5))          # a new run: no pass
    assert curves.get(0) is None
    w.apply("--cut h")
    _same_curves(curves.get(0), both_passes(w, 0))
