"""Gradient flow through time, against direct computations."""

import numpy as np
import pytest

from lstm_engine import init_uniform, record
from lstm_engine.flow import gradient_norms, log10_forget_product, loss_to_cell_gradients


@pytest.fixture(scope="module", params=["seed", "standard"])
def run(request):
    rng = np.random.default_rng(7)
    params = init_uniform(3, 5, rng, -0.8, 0.8)
    x, y = rng.standard_normal((9, 3)), rng.standard_normal(9)
    return params, x, y, record(params, x, y, request.param)


def test_loss_to_cell_gradients_match_a_pass_with_only_that_loss(run):
    params, x, y, trace = run
    sources, M = loss_to_cell_gradients(trace)
    np.testing.assert_array_equal(sources, np.arange(9))
    for k in range(9):
        only_k = trace.h[:, 0].copy()          # targets equal to h: dl/dh = 0 there
        only_k[k] = y[k]
        direct = record(params, x, only_k, trace.variant)
        np.testing.assert_allclose(M[k, : k + 1], np.linalg.norm(direct.ds[: k + 1], axis=1),
                                   rtol=1e-12, atol=1e-15)
        assert np.isnan(M[k, k + 1:]).all()


def test_a_subset_of_sources_gives_the_same_rows(run):
    *_, trace = run
    _, full = loss_to_cell_gradients(trace)
    sources, part = loss_to_cell_gradients(trace, [6, 2, 8])
    np.testing.assert_array_equal(sources, [2, 6, 8])
    np.testing.assert_allclose(part, full[[2, 6, 8]], rtol=1e-13)
    with pytest.raises(ValueError):
        loss_to_cell_gradients(trace, [9])


def test_forget_product_is_the_product_of_later_forget_gates(run):
    *_, trace = run
    got = log10_forget_product(trace)
    for t in range(trace.steps):
        want = np.prod(trace.f[t + 1:], axis=0) if t + 1 < trace.steps else np.ones(5)
        np.testing.assert_allclose(10.0 ** got[t], want, rtol=1e-12)


def test_forget_product_does_not_underflow():
    rng = np.random.default_rng(0)
    params = init_uniform(1, 2, rng, -1e-9, 1e-9)
    params.bf[...] = -20.0                       # f ≈ 2e-9 per step: 400 steps ≈ 1e-3500
    trace = record(params, np.ones((400, 1)), np.zeros(400))
    logp = log10_forget_product(trace)
    assert np.all(np.isfinite(logp)) and logp[0, 0] < -3000


def test_gradient_norms(run):
    *_, trace = run
    norms = gradient_norms(trace)
    np.testing.assert_allclose(norms["ds"], np.sqrt((trace.ds ** 2).sum(axis=1)), rtol=1e-14)
    assert norms["bottom_diff_s"].shape == (9,)
