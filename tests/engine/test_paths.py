"""The path decomposition of ds (docs/equations.md §11): its two parts sum to ds, each is
what its definition says, and the interventions that isolate a path leave only that
part."""

import numpy as np
import pytest

from lstm_engine import Model, init_uniform, record, record_model
from lstm_engine.interventions import Interventions
from lstm_engine.paths import model_path_split, path_norms, path_split


def make(layers=1, seed=0, T=40, X=3, H=6, scale=1.0):
    rng = np.random.default_rng(seed)
    ps = [init_uniform(X, H, rng, -scale, scale)]
    for _ in range(layers - 1):
        ps.append(init_uniform(H, H + 1, rng, -scale, scale))
    return Model(tuple(ps)), rng.standard_normal((T, X)), rng.standard_normal(T)


def plain_carousel(o, s, f, dl_dh, variant):
    """Σ_{k≥t} (Π_{j=t+1..k} f(j)) A(k) dl_dh(k), written as the double sum it is."""
    T = o.shape[0]
    A = o if variant == "seed" else o * (1.0 - np.tanh(s) ** 2)
    out = np.zeros_like(o)
    for t in range(T):
        for k in range(t, T):
            out[t] += np.prod(f[t + 1:k + 1], axis=0) * A[k] * dl_dh[k]
    return out


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("layers", [1, 2])
def test_the_parts_sum_to_ds_and_the_carousel_part_is_its_definition(variant, layers):
    model, x, y = make(layers, seed=layers)
    model = Model(model.layers, variant)
    trace = record_model(model, x, y)
    splits = model_path_split(trace)
    assert len(splits) == layers
    for tr, sp in zip(trace.layers, splits, strict=True):
        scale = np.max(np.abs(tr.ds))
        assert np.max(np.abs(sp.carousel + sp.through_h - tr.ds)) <= 1e-12 * scale
        assert sp.carousel.shape == sp.through_h.shape == tr.ds.shape
        np.testing.assert_allclose(sp.carousel, plain_carousel(tr.o, tr.s, tr.f, tr.dl_dh,
                                                               variant),
                                   rtol=1e-10, atol=1e-14 * scale)
        assert np.max(np.abs(sp.through_h)) > 1e-3 * scale          # both paths carry some
        np.testing.assert_allclose(sp.ds_norm, np.linalg.norm(tr.ds, axis=1))
        c, h = sp.shares()
        np.testing.assert_allclose(c + h, 1.0)
        assert sp.carousel_norm.shape == sp.h_norm.shape == (x.shape[0],)


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_with_the_h_path_cut_everything_arrived_along_the_carousel(variant):
    model, x, y = make(seed=3)
    tr = record(model.layers[0], x, y, variant, interventions=Interventions.parse(cut=["h"]))
    sp = path_split(tr)
    assert np.all(sp.through_h == 0.0)
    np.testing.assert_allclose(sp.carousel, tr.ds, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_with_the_carousel_cut_ds_is_what_arrives_at_the_step_itself(variant):
    """bottom_diff_s := 0 everywhere: ds(t) = A(t)·(dl_dh(t) + bottom_diff_h(t+1)), each
    source's part taken at its own step."""
    model, x, y = make(seed=4)
    tr = record(model.layers[0], x, y, variant, interventions=Interventions.parse(cut=["s"]))
    sp = path_split(tr)
    A = tr.o if variant == "seed" else tr.o * (1.0 - np.tanh(tr.s) ** 2)
    np.testing.assert_allclose(sp.carousel, A * tr.dl_dh, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(sp.through_h[:-1], A[:-1] * tr.bottom_diff_h[1:], rtol=1e-12,
                               atol=1e-300)
    assert np.max(np.abs(sp.carousel + sp.through_h - tr.ds)) <= 1e-12 * np.max(np.abs(tr.ds))


def test_knocked_out_units_have_no_part_and_the_parts_still_sum_to_ds():
    model, x, y = make(seed=5)
    iv = Interventions.parse(knockout=["1,4@10:"], clamp=["f=0.95@20:"], cut=["s@30#2"])
    tr = record(model.layers[0], x, y, interventions=iv)
    sp = path_split(tr)
    assert np.all(sp.carousel[10:, [1, 4]] == 0.0) and np.all(sp.through_h[10:, [1, 4]] == 0.0)
    assert np.max(np.abs(sp.carousel + sp.through_h - tr.ds)) <= 1e-12 * np.max(np.abs(tr.ds))


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("what", ["plain", "knockout", "cut carousel", "float32"])
def test_path_norms_are_the_norms_of_the_split_without_its_arrays(variant, what):
    """``path_norms`` (what the picture keeps) is ``path_split``'s norms per step, for an
    ordinary, knocked-out and cut pass, and for a float32 trace (computed in float64)."""
    model, x, y = make(seed=5, T=30)
    iv = {"plain": None, "float32": None,
          "knockout": Interventions.parse(knockout=["2,4@5:20"]),
          "cut carousel": Interventions.parse(cut=["s"])}[what]
    dtype = np.float32 if what == "float32" else np.float64
    tr = record(model.layers[0].astype(dtype) if what == "float32" else model.layers[0],
                x.astype(dtype), y.astype(dtype), variant, dtype=dtype, interventions=iv)
    sp, norms = path_split(tr), path_norms(tr)
    assert norms.carousel_norm.dtype == norms.h_norm.dtype == norms.ds_norm.dtype == np.float64
    np.testing.assert_allclose(norms.carousel_norm, sp.carousel_norm, rtol=1e-12)
    np.testing.assert_allclose(norms.h_norm, sp.h_norm, rtol=1e-12)
    np.testing.assert_allclose(norms.ds_norm, sp.ds_norm, rtol=1e-12)
    for a, b in zip(norms.shares(), sp.shares(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
