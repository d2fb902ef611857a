"""Interventions (docs/equations.md §10): each against a plain reference written from its
equation (tests/reference.py), the gradient check by centred differences, the cuts against
their definitions, and the carousel identity of the issue."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_intervened_pass

from lstm_engine import (
    GRAD_NAMES,
    STEP_NAMES,
    Model,
    init_uniform,
    record,
    record_model,
    run_model_stepwise,
    run_stepwise,
)
from lstm_engine.gradcheck import gradient_check, gradient_check_model
from lstm_engine.interventions import Interventions
from lstm_engine.losses import make_loss

T, X, H0, H1 = 8, 3, 4, 5
COMPARED = [n for n in STEP_NAMES if n != "dl_dh"] + list(GRAD_NAMES)
EVERY = list(range(T))


def make(layers: int, seed: int = 0, scale: float = 0.8):
    rng = np.random.default_rng(seed)
    ps = [init_uniform(X, H0, rng, -scale, scale)]
    if layers == 2:
        ps.append(init_uniform(H0, H1, rng, -scale, scale))
    return ps, rng.standard_normal((T, X)), rng.standard_normal(T)


# (name, the engine's options, the same in the reference's plain terms). Without /L an
# intervention applies to every layer: the plain form lists each layer (here 0 and 1).
def both(layers, f):
    return [f(n) for n in layers]


CASES = [
    ("clamp", dict(clamp=["f=1@1:5#1:3", "o=0.25#0", "g=-0.5@6/L0"]),
     lambda L: dict(clamp=both(L, lambda n: (n, "f", 1.0, [1, 2, 3, 4], [1, 2]))
                    + both(L, lambda n: (n, "o", 0.25, EVERY, [0]))
                    + [(0, "g", -0.5, [6], [0, 1, 2, 3])])),
    ("clamp over clamp", dict(clamp=["i=0.5#2", "i=0@3:#2"]),
     lambda L: dict(clamp=both(L, lambda n: (n, "i", 0.5, EVERY, [2]))
                    + both(L, lambda n: (n, "i", 0.0, list(range(3, T)), [2])))),
    ("knockout", dict(knockout=["1@3:", "0,3@5"]),
     lambda L: dict(knock=both(L, lambda n: (n, list(range(3, T)), [1]))
                    + both(L, lambda n: (n, [5], [0, 3])))),
    ("edit input", dict(edit_input=["zero@2", "set=0.75@4#1", "add=-0.5@4:#0:2"]),
     lambda L: dict(edit=[("zero", 0.0, [2], [0, 1, 2]), ("set", 0.75, [4], [1]),
                          ("add", -0.5, list(range(4, T)), [0, 1])])),
    ("scale", dict(scale=["f.h=0.5#2", "i.x=1.5", "o.h=-2/L0"]),
     lambda L: dict(scale=both(L, lambda n: (n, "f", "h", 0.5, [2]))
                    + both(L, lambda n: (n, "i", "x", 1.5, [0, 1, 2, 3]))
                    + [(0, "o", "h", -2.0, [0, 1, 2, 3])])),
    ("cut h", dict(cut=["h@4:"]),
     lambda L: dict(cut=both(L, lambda n: (n, "h", list(range(4, T)), list(range(4)))))),
    ("cut s", dict(cut=["s@2,6#1:3"]),
     lambda L: dict(cut=both(L, lambda n: (n, "s", [2, 6], [1, 2])))),
    ("truncate", dict(truncate=3),
     lambda L: dict(cut=[(n, p, [3, 6], list(range(4))) for n in L for p in "hs"])),
    ("everything", dict(clamp=["f=0.9@2:"], knockout=["2@5:"], edit_input=["zero@1"],
                        scale=["g.h=0.5"], cut=["h@6", "s@3#0"]),
     lambda L: dict(clamp=both(L, lambda n: (n, "f", 0.9, list(range(2, T)), [0, 1, 2, 3])),
                    knock=both(L, lambda n: (n, [5, 6, 7], [2])),
                    edit=[("zero", 0.0, [1], [0, 1, 2])],
                    scale=both(L, lambda n: (n, "g", "h", 0.5, [0, 1, 2, 3])),
                    cut=both(L, lambda n: (n, "h", [6], [0, 1, 2, 3]))
                    + both(L, lambda n: (n, "s", [3], [0]))))]


def _restrict_units(changes: dict, layers: int) -> dict:
    """Plain changes whose 'every unit' lists were written for H0 = 4: in layer 1 (H1 = 5)
    'every unit' covers unit 4 too."""
    out = {}
    for kind, items in changes.items():
        fixed = []
        for item in items:
            if kind != "edit" and item[0] == 1 and list(item[-1]) == list(range(H0)):
                item = (*item[:-1], list(range(H1)))
            fixed.append(item)
        out[kind] = fixed
    return out


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("name, options, plain", CASES, ids=[c[0] for c in CASES])
def test_each_intervention_matches_the_plain_reference(name, options, plain, layers, variant):
    ps, x, y = make(layers)
    iv = Interventions.parse(**options)
    changes = _restrict_units(plain(list(range(layers))), layers)
    ref = reference_intervened_pass([p.as_dict() for p in ps], x, y, variant, changes)
    model = Model(tuple(ps), variant)
    traces = [record_model(model, x, y, interventions=iv),
              run_model_stepwise(model, x, y, interventions=iv)]
    if layers == 1:
        traces += [record(ps[0], x, y, variant, interventions=iv),
                   run_stepwise(ps[0], x, y, variant, interventions=iv)]
    for trace in traces:
        layer_traces = getattr(trace, "layers", [trace])
        assert layer_traces[0].interventions == iv
        for n, tr in enumerate(layer_traces):
            for key in COMPARED:
                np.testing.assert_allclose(tr[key], ref[n][key], rtol=1e-10, atol=1e-13,
                                           err_msg=f"{name}: layer {n} {key}")


def test_the_interventions_change_the_pass_where_they_say():
    """Spot checks of the equations themselves, on the fast recorder's arrays."""
    (p,), x, y = make(1)
    edited = record(p, x, y, interventions=Interventions.parse(edit_input=["set=2@0#2"]))
    iv = Interventions.parse(clamp=["f=1@2:5#1"], knockout=["3@4:"],
                             edit_input=["set=2@0#2"])
    tr = record(p, x, y, interventions=iv)
    np.testing.assert_array_equal(tr.f[:2], edited.f[:2])   # before the clamp: the same
    assert np.all(tr.f[2:5, 1] == 1.0) and tr.f[5, 1] != 1.0
    assert np.all(tr.df_input[2:5, 1] == 0.0) and tr.df_input[1, 1] != 0.0   # s(-1) = 0
    assert np.all(tr.s[4:, 3] == 0.0) and np.all(tr.h[4:, 3] == 0.0)
    assert np.all(tr.ds[4:, 3] == 0.0) and np.all(tr.bottom_diff_s[4:, 3] == 0.0)
    assert np.all(tr.s[:4, 3] != 0.0)
    assert tr.x[0, 2] == 2.0 and tr.xc[0, 2] == 2.0 and tr.x[0, 0] == x[0, 0]


def test_no_interventions_is_the_ordinary_pass_bit_for_bit():
    (p,), x, y = make(1)
    a, b = record(p, x, y), record(p, x, y, interventions=Interventions())
    for key in STEP_NAMES + GRAD_NAMES:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert not b.interventions


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("options", [
    dict(clamp=["f=1@1:6#0:2", "i=0.3#3", "g=0.2@4"]),
    dict(knockout=["1@3:", "2@0:2"]),
    dict(edit_input=["zero@2", "set=0.5@3#1", "add=1@5:"]),
    dict(scale=["f.h=0.5#1", "g.x=-1.5", "o.h=3#0"]),
    dict(clamp=["o=0.5@2:"], knockout=["0@6:"], edit_input=["add=-0.25"],
         scale=["i.h=2"]),
], ids=["clamp", "knockout", "edit", "scale", "all"])
def test_forward_interventions_pass_the_gradient_check(options, variant):
    iv = Interventions.parse(**options)
    (p,), x, y = make(1, seed=3)
    result = gradient_check(p, x, y, variant, interventions=iv)
    assert result.verdict == "correct", {n: a.max_error for n, a in result.arrays.items()}
    assert result.cut_note is None
    ps, x, y = make(2, seed=4)
    per_layer = Interventions.parse(**{k: [t + "/L1" if "/L" not in t and k != "edit_input"
                                           else t for t in v] for k, v in options.items()})
    for ivm in (iv, per_layer):
        result = gradient_check_model(Model(tuple(ps), variant), x, y, interventions=ivm)
        assert result.verdict == "correct", {n: a.max_error for n, a in result.arrays.items()}


def test_an_edited_input_passes_the_gradient_check_through_an_embedding():
    """dE collects dL/dx(t) only where no edit replaced x(t)'s entry."""
    rng = np.random.default_rng(5)
    E = rng.uniform(-1, 1, (6, X))
    p = init_uniform(X, H0, rng, -0.8, 0.8)
    wy, by = rng.uniform(-1, 1, (3, H0)), rng.uniform(-1, 1, 3)
    model = Model((p,), "standard", make_loss({"name": "xent", "at": "every"},
                                              {"wy": wy, "by": by}), E)
    tokens, targets = rng.integers(0, 6, T), rng.integers(0, 3, T)
    iv = Interventions.parse(edit_input=["zero@2", "set=0.5@3#1", "add=1@5:"],
                             clamp=["f=1#0"])
    result = gradient_check_model(model, tokens, targets, interventions=iv)
    assert result.verdict == "correct", {n: a.max_error for n, a in result.arrays.items()}
    a = record_model(model, tokens, targets, interventions=iv)
    b = run_model_stepwise(model, tokens, targets, interventions=iv)
    np.testing.assert_allclose(a.dE, b.dE, rtol=1e-12, atol=1e-15)
    plain = record_model(model, tokens, targets)
    assert not np.allclose(a.dE, plain.dE)


# ---- cuts: definitions, not gradients ------------------------------------------------

@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_a_cut_sets_what_passes_back_to_zero_and_nothing_else_changes_at_that_node(variant):
    (p,), x, y = make(1, seed=6)
    tr = record(p, x, y, variant, interventions=Interventions.parse(cut=["h@5:#1:3",
                                                                         "s@3"]))
    assert np.all(tr.bottom_diff_h[5:, 1:3] == 0.0) and np.all(tr.dxc[5:, X + 1:X + 3] == 0)
    assert np.all(tr.bottom_diff_h[:5, 1:3] != 0.0)
    assert np.all(tr.bottom_diff_s[3] == 0.0) and np.all(tr.bottom_diff_s[2] != 0.0)
    # what a node receives is still what the next one sent: the cut is on the edge
    np.testing.assert_array_equal(tr.top_diff_h[:-1], tr.dl_dh[:-1] + tr.bottom_diff_h[1:])
    np.testing.assert_array_equal(tr.top_diff_s[:-1], tr.bottom_diff_s[1:])
    # the forward is untouched
    plain = record(p, x, y, variant)
    for key in ("g", "i", "f", "o", "s", "h", "loss"):
        np.testing.assert_array_equal(tr[key], plain[key])


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_truncation_keeps_each_chunk_to_its_own_losses(variant):
    """--truncate K: ds in the chunk [jK, (j+1)K) depends on the losses of that chunk
    alone (the state detached every K steps); the untruncated ds does not."""
    (p,), x, y = make(1, seed=7)
    iv = Interventions(truncate=3)
    a = record(p, x, y, variant, interventions=iv)
    y2 = y.copy()
    y2[6:] += 1.0                                   # change the last chunk's targets only
    b = record(p, x, y2, variant, interventions=iv)
    np.testing.assert_array_equal(a.ds[:6], b.ds[:6])
    assert not np.allclose(a.ds[6:], b.ds[6:])
    plain_a, plain_b = record(p, x, y, variant), record(p, x, y2, variant)
    assert not np.allclose(plain_a.ds[:6], plain_b.ds[:6])


def test_the_gradient_check_says_a_cut_is_a_definition_instead_of_failing():
    (p,), x, y = make(1, seed=8)
    iv = Interventions.parse(clamp=["f=1"], cut=["h"])
    result = gradient_check(p, x, y, interventions=iv)
    assert result.verdict == "correct"                       # the forward interventions
    assert "--cut h" in result.cut_note and "definitions, not gradients" in result.cut_note
    assert max(result.cut_errors.values()) > 1e-3            # the cut pass is not dL/dθ
    with_cut = record(p, x, y, interventions=iv)
    checked = {n: a.analytic for n, a in result.arrays.items()}
    assert not np.allclose(checked["wi"], with_cut.wi_diff)


# ---- the issue's identity --------------------------------------------------------------

@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_with_f_held_at_1_and_the_h_path_cut_the_carousel_carries_ds_unchanged(variant,
                                                                               layers):
    """f = 1 and bottom_diff_h := 0: top_diff_h(t) = dl(t)/dh(t) and top_diff_s(t) =
    ds(t+1), so ds(t) = Σ_{k≥t} A(k)·dl(k)/dh(k), A = o in the seed variant (the issue's
    form exactly) and o·(1 − tanh²(s)) in the standard one. In a stacked model the same
    holds per layer with dl_dh what arrives from above."""
    ps, x, y = make(layers, seed=9)
    iv = Interventions.parse(clamp=["f=1"], cut=["h"])
    trace = record_model(Model(tuple(ps), variant), x, y, interventions=iv)
    for tr in trace.layers:
        o, s, dl = tr.o, tr.s, tr.dl_dh
        A = o if variant == "seed" else o * (1.0 - np.tanh(s) ** 2)
        expected = np.cumsum((A * dl)[::-1], axis=0)[::-1]
        np.testing.assert_allclose(tr.ds, expected, rtol=1e-12, atol=1e-15)
        issue_form = np.cumsum((o * dl)[::-1], axis=0)[::-1]
        if variant == "seed":
            np.testing.assert_allclose(tr.ds, issue_form, rtol=1e-12, atol=1e-15)
        else:
            assert not np.allclose(tr.ds, issue_form)
    # toy loss, top layer: dl(k)/dh(k) = [2(h(k)[0] − y(k)), 0, …], so only unit 0 has ds
    top = trace.layers[-1]
    assert np.all(top.ds[:, 1:] == 0.0)


def test_the_gradient_check_would_catch_a_backward_that_forgets_a_clamp(monkeypatch):
    """The control: the readable cell with its clamp's backward line undone (the held
    gate's pre-activation given the ordinary gradient) disagrees with centred
    differences of the intervened L, which the recorded gradient matches."""
    from lstm_engine.gradcheck import stencil_derivative
    from lstm_engine.interventions import StepPlan
    from lstm_engine.recorder import forward_loss

    (p,), x, y = make(1, seed=10)
    iv = Interventions.parse(clamp=["f=0.5@1:"])

    def loss_at(d):
        q = p.copy()
        q.bf[1] += d
        return forward_loss(q, x, y, interventions=iv)

    numeric = stencil_derivative(loss_at, 1e-3)
    assert record(p, x, y, interventions=iv).bf_diff[1] == pytest.approx(numeric, rel=1e-7)
    monkeypatch.setattr(StepPlan, "gate_input_grad", lambda self, gate, grad: grad)
    forgot = run_stepwise(p, x, y, interventions=iv).bf_diff[1]
    assert abs(forgot - numeric) > 1e-3 * abs(numeric)



@st.composite
def random_interventions(draw):
    T, X, hs = draw(st.integers(1, 7)), draw(st.integers(1, 3)), draw(
        st.lists(st.integers(1, 4), min_size=1, max_size=2))

    def sel(n):
        a = draw(st.integers(0, n - 1))
        b = draw(st.one_of(st.none(), st.integers(a + 1, n)))
        return f"{a}:{'' if b is None else b}"

    def layer():
        return draw(st.sampled_from(["", *(f"/L{n}" for n in range(len(hs)))]))

    H = min(hs)
    texts = {
        "clamp": [f"{draw(st.sampled_from('ifo'))}={draw(st.sampled_from(['0', '0.5', '1']))}"
                  f"@{sel(T)}#{sel(H)}{layer()}" for _ in range(draw(st.integers(0, 2)))],
        "knockout": [f"{sel(H)}@{sel(T)}{layer()}" for _ in range(draw(st.integers(0, 1)))],
        "edit_input": [f"{draw(st.sampled_from(['zero', 'set=0.5', 'add=-1']))}@{sel(T)}"
                       f"#{sel(X)}" for _ in range(draw(st.integers(0, 1)))],
        "scale": [f"{draw(st.sampled_from('ifog'))}.{draw(st.sampled_from('xh'))}="
                  f"{draw(st.sampled_from(['0', '0.5', '-2']))}{layer()}"
                  for _ in range(draw(st.integers(0, 1)))],
        "cut": [f"{draw(st.sampled_from('hs'))}@{sel(T)}#{sel(H)}{layer()}"
                for _ in range(draw(st.integers(0, 1)))],
    }
    truncate = draw(st.one_of(st.none(), st.integers(1, 4)))
    return T, X, hs, Interventions.parse(**texts, truncate=truncate), draw(
        st.sampled_from(["seed", "standard"])), draw(st.integers(0, 2**16))


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(random_interventions())
def test_any_interventions_give_the_same_pass_fast_and_readable(case):
    T_, X_, hs, iv, variant, seed = case
    rng = np.random.default_rng(seed)
    widths = [X_, *hs]
    model = Model(tuple(init_uniform(widths[n], hs[n], rng, -1, 1) for n in range(len(hs))),
                  variant)
    x, y = rng.standard_normal((T_, X_)), rng.standard_normal(T_)
    fast, slow = (record_model(model, x, y, interventions=iv),
                  run_model_stepwise(model, x, y, interventions=iv))
    for a, b in zip(fast.layers, slow.layers, strict=True):
        for key in STEP_NAMES + GRAD_NAMES:
            scale = max(float(np.max(np.abs(b[key]), initial=0.0)), 1e-300)
            assert np.max(np.abs(a[key] - b[key]), initial=0.0) <= 1e-12 * scale, key
