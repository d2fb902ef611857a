"""Gradient flow through time, against direct computations."""

import numpy as np
import pytest

from lstm_engine import helper as helper_thread
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


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_many_sources_split_between_two_threads_match_a_plain_pass_per_source(
        variant, monkeypatch):
    """Enough sources that each step's GEMM is split with the recorder's helper thread:
    every row still equals ‖ds‖ of the independent reference run with that loss alone."""
    from reference import reference_pass

    from lstm_engine import flow

    split = []
    helper = helper_thread.on_helper

    def counted(fn, WhT, rows, out):
        split.append(rows.shape[1])
        return helper(fn, WhT, rows, out)
    monkeypatch.setattr(helper_thread, "on_helper", counted)
    monkeypatch.setattr(flow, "ALONE_STEPS", 0)            # split every step, however busy
    rng = np.random.default_rng(11)
    T = 2 * flow.SPLIT_COLUMNS + 7
    params = init_uniform(3, 4, rng, -0.9, 0.9)
    x, y = rng.standard_normal((T, 3)), rng.standard_normal(T)
    sources, M = loss_to_cell_gradients(record(params, x, y, variant))
    assert split and max(split) == T // 2                  # half of the T sources, at t=0
    W = params.as_dict()
    h0 = reference_pass(W, x, y, variant)["h"][:, 0]
    for k in sources:
        only_k = h0.copy()                                  # dl(t)/dh = 0 for t != k
        only_k[k] = y[k]
        ds = reference_pass(W, x, only_k, variant)["ds"]
        np.testing.assert_allclose(M[k, :k + 1], np.linalg.norm(ds[:k + 1], axis=1),
                                   rtol=1e-12, atol=1e-15)
        assert np.isnan(M[k, k + 1:]).all()


def test_a_helper_that_lags_is_left_out_for_a_while(monkeypatch):
    """A helper whose half takes far longer than this thread's (a busy machine): the next
    ALONE_STEPS steps run here alone, then the split is tried again; the rows are the
    same as a pass without any split."""
    import time
    from concurrent.futures import Future

    from lstm_engine import flow

    calls = []

    class Late(Future):
        def result(self, timeout=None):
            time.sleep(0.01)                                # the helper's core is busy
            return super().result(timeout)

    def slow(fn, *args):
        calls.append(args[1].shape[1])
        fn(*args)
        done = Late()
        done.set_result(None)
        return done
    monkeypatch.setattr(helper_thread, "on_helper", slow)
    monkeypatch.setattr(flow, "SPLIT_COLUMNS", 2)
    monkeypatch.setattr(flow, "ALONE_STEPS", 5)
    rng = np.random.default_rng(3)
    params = init_uniform(2, 3, rng, -0.9, 0.9)
    T = 20
    trace = record(params, rng.standard_normal((T, 2)), rng.standard_normal(T))
    _, M = loss_to_cell_gradients(trace)
    # n = 2 sources at t = T-2 first splits; then every sixth step (5 alone in between)
    assert len(calls) == len(range(T - 2, -1, -6)) and calls[0] == 1
    monkeypatch.setattr(flow, "SPLIT_COLUMNS", 10**9)       # never split
    np.testing.assert_array_equal(loss_to_cell_gradients(trace)[1], M)
