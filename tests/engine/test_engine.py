"""The engine against the independent reference, its own readable cell, and the seed."""

import numpy as np
import pytest
from reference import reference_pass

from lstm_engine import (
    GRAD_NAMES,
    PARAM_NAMES,
    STEP_NAMES,
    init_published,
    init_uniform,
    published_example,
    record,
    run_stepwise,
)

SIZES = [(1, 1, 1), (3, 4, 5), (7, 5, 9), (16, 32, 20)]
COMPARED = [n for n in STEP_NAMES if n != "dl_dh"] + list(GRAD_NAMES)


def make_run(X, H, T, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    params = init_uniform(X, H, rng, -scale, scale)
    return params, rng.standard_normal((T, X)), rng.standard_normal(T)


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("seed", [0, 1])
def test_recorder_matches_independent_reference(variant, size, seed):
    params, x, y = make_run(*size, seed)
    ref = reference_pass(params.as_dict(), x, y, variant)
    for trace in (record(params, x, y, variant), run_stepwise(params, x, y, variant)):
        for name in COMPARED:
            np.testing.assert_allclose(trace[name], ref[name], rtol=1e-10, atol=1e-13,
                                       err_msg=name)


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_fast_recorder_and_readable_cell_agree_to_1e_12(variant):
    params, x, y = make_run(9, 12, 40, seed=5, scale=1.0)
    fast, slow = record(params, x, y, variant), run_stepwise(params, x, y, variant)
    for name in STEP_NAMES + GRAD_NAMES:
        scale = max(np.max(np.abs(slow[name])), 1e-300)
        assert np.max(np.abs(fast[name] - slow[name])) <= 1e-12 * scale, name


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("extra", [37, 0, -1])
@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_long_passes_sum_their_gradients_in_blocks_on_the_helper_and_agree(
        monkeypatch, dtype, tol, extra, variant):
    """T >= 2 * BLOCK: the input projections, the backward's coefficients, the weight
    gradients, dxc's x part and the products behind the backward loop come from the helper
    thread, block by block (a partial last block included); a shorter pass does each as
    one block inline; and every array still equals the readable cell's."""
    from lstm_engine import helper

    blocks = []
    submit = helper.Blocks.submit

    def counted(self, fn, *args):
        blocks.append((fn.__name__, *args, self.threaded))
        return submit(self, fn, *args)
    monkeypatch.setattr(helper.Blocks, "submit", counted)
    T = 2 * helper.BLOCK + extra          # a partial last block, whole blocks, inline
    params, x, y = make_run(3, 5, T, seed=2, scale=1.0)
    fast = record(params, x, y, variant, dtype=dtype)
    slow = run_stepwise(params, x, y, variant)
    B = helper.BLOCK
    threaded = T >= 2 * B
    ranges = [(lo, min(lo + B, T)) for lo in range(0, T, B)] if threaded else [(0, T)]
    for job in ("project", "coefficients_of", "behind"):      # each block, once each
        assert sorted(b[1:] for b in blocks if b[0] == job) == [(*r, threaded) for r in ranges]
    assert len(blocks) == 3 * len(ranges) + 2        # and, once each, Wh^T and the buffers
    assert [b[0] for b in blocks].count("ascontiguousarray") == 1
    assert [b[0] for b in blocks].count("_backward_buffers") == 1
    for name in STEP_NAMES + GRAD_NAMES:
        scale = max(np.max(np.abs(slow[name])), 1e-300)
        assert np.max(np.abs(fast[name] - slow[name])) <= tol * scale, name


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_a_long_intervened_pass_computes_its_blocks_on_the_helper_and_agrees(variant):
    """The threaded path with every intervention the backward's blocks honour: a held
    gate's coefficient zeroed in the block that holds it, knocked-out units, cuts, and a
    scaled block, across block boundaries."""
    from lstm_engine.helper import BLOCK as B
    from lstm_engine.interventions import Interventions

    T = 2 * B + 9
    iv = Interventions.parse(clamp=[f"f=0.9@{B - 3}:{B + 4}", "o=0.25@5#1"],
                             knockout=[f"2@{2 * B - 1}:"], scale=["g.h=0.5"],
                             cut=[f"h@{B}", f"s@{B - 1}#0"])
    params, x, y = make_run(3, 5, T, seed=6, scale=1.0)
    fast = record(params, x, y, variant, interventions=iv)
    slow = run_stepwise(params, x, y, variant, interventions=iv)
    for name in STEP_NAMES + GRAD_NAMES:
        scale = max(np.max(np.abs(slow[name])), 1e-300)
        assert np.max(np.abs(fast[name] - slow[name])) <= 1e-12 * scale, name
    assert np.all(fast.f[B - 3:B + 4] == 0.9) and np.all(fast.df_input[B - 3:B + 4] == 0)


def test_variants_differ_only_where_tanh_enters():
    params, x, y = make_run(3, 4, 6, seed=2)
    a, b = record(params, x, y, "seed"), record(params, x, y, "standard")
    np.testing.assert_array_equal(a.g[0], b.g[0])        # step 0 sees h(-1) = 0 in both
    np.testing.assert_array_equal(a.s[0], b.s[0])
    assert not np.allclose(a.h[0], b.h[0])
    np.testing.assert_allclose(b.h, b.o * np.tanh(b.s), rtol=1e-15)
    np.testing.assert_allclose(a.h, a.o * a.s, rtol=1e-15)


def test_trace_arrays_are_read_only_time_major_with_seed_shapes():
    params, x, y = make_run(3, 4, 6, seed=2)
    trace = record(params, x, y)
    assert trace.xc.shape == trace.dxc.shape == (6, 7)
    assert trace.ds.shape == trace.top_diff_h.shape == (6, 4)
    assert trace.loss.shape == (6,)
    for name in STEP_NAMES + GRAD_NAMES:
        with pytest.raises(ValueError):
            trace[name][...] = 0.0
    np.testing.assert_array_equal(trace.xc[1:, 3:], trace.h[:-1])   # xc = [x, h_prev]
    np.testing.assert_array_equal(trace.top_diff_s[-1], 0.0)
    np.testing.assert_array_equal(trace.top_diff_s[:-1], trace.bottom_diff_s[1:])
    np.testing.assert_array_equal(trace.bottom_diff_h, trace.dxc[:, 3:])


def test_float32_is_close_to_float64_and_half_the_memory():
    params, x, y = make_run(16, 32, 50, seed=3)
    t64 = record(params, x, y)
    t32 = record(params, x, y, dtype="float32")
    assert t32.ds.dtype == np.float32 and t32.wi_diff.dtype == np.float32
    for name in ("h", "ds", "wi_diff", "dxc"):
        scale = np.max(np.abs(t64[name]))
        assert np.max(np.abs(t32[name] - t64[name])) < 1e-5 * scale, name
    assert t32.nbytes * 2 == pytest.approx(t64.nbytes, rel=0.01)


def test_bad_inputs_are_refused_with_a_message():
    params, x, y = make_run(3, 4, 5, seed=0)
    with pytest.raises(ValueError, match="X=2"):
        record(params, x[:, :2], y)
    with pytest.raises(ValueError, match="one target per step"):
        record(params, x, y[:3])
    with pytest.raises(ValueError, match="NaN"):
        record(params, np.where(x > 1, np.nan, x), y)
    with pytest.raises(ValueError, match="unknown variant"):
        record(params, x, y, "peephole")


# ---- the published example (docs/equations.md) --------------------------------------

def test_published_init_really_has_four_identical_gates():
    p = init_published()
    assert p.wg.shape == (100, 150)
    for name in ("wi", "wf", "wo"):
        np.testing.assert_array_equal(getattr(p, name), p.wg)
    for name in ("bi", "bf", "bo"):
        np.testing.assert_array_equal(getattr(p, name), p.bg)
    # Each array restarts numpy's seed-0 stream, scaled to [-0.1, 0.1).
    np.testing.assert_array_equal(p.bg, np.random.RandomState(0).rand(100) * 0.2 - 0.1)
    assert p.wg.min() >= -0.1 and p.wg.max() < 0.1


def test_published_run_matches_the_golden_figures():
    params, x, y = published_example()
    assert x.shape == (4, 50)
    np.testing.assert_array_equal(x[0], np.random.RandomState(0).random_sample(300)[100:150])
    first = record(params, x, y)
    np.testing.assert_allclose(first.total_loss, 0.753483886253, rtol=1e-6)
    np.testing.assert_allclose(first.h[:, 0], [0.04135, 0.06930, 0.11699, 0.16562], atol=5e-6)
    params.apply_diff(first.grads, 0.1)
    second = record(params, x, y)
    np.testing.assert_allclose(second.total_loss, 0.599065083953, rtol=1e-6)


def test_sgd_step_is_the_seeds_rule():
    params, x, y = make_run(3, 4, 5, seed=1)
    before = params.copy()
    trace = record(params, x, y)
    params.apply_diff(trace.grads, 0.25)
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(params, name),
                                      getattr(before, name) - 0.25 * trace[f"{name}_diff"])


# ---- the constant error carousel ----------------------------------------------------

def _carousel_run(forget_bias, T=30):
    """Weights ~1e-9 (so every gate but f sits at 0.5 and the h path carries almost
    nothing), the forget gate set by its bias alone, and a loss at the last step only
    (targets elsewhere equal to h, so dl/dh = 0 there): ds flows back along s."""
    X, H = 1, 3
    rng = np.random.default_rng(0)
    params = init_uniform(X, H, rng, -1e-9, 1e-9)
    params.wf[...] = 0.0
    params.bf[...] = forget_bias
    x = np.ones((T, X))
    trace = record(params, x, np.zeros(T))
    y = trace.h[:, 0].copy()
    y[-1] += 1.0                                   # a non-zero error at the last step only
    return record(params, x, y)


def test_saturated_forget_gate_carries_ds_back_through_time():
    trace = _carousel_run(forget_bias=30.0)        # f = sigmoid(30) = 1 - 9e-14
    norms = np.linalg.norm(trace.ds, axis=1)
    assert norms[-1] > 0
    np.testing.assert_allclose(norms[0] / norms[-1], 1.0, rtol=1e-6)


def test_half_open_forget_gate_halves_ds_per_step_along_s():
    trace = _carousel_run(forget_bias=0.0)         # f = 0.5 exactly
    np.testing.assert_array_equal(trace.f, 0.5)
    # Along the s path alone: top_diff_s(t) = ds(t+1) * f = ds(t+1) / 2.
    np.testing.assert_allclose(trace.top_diff_s[:-1], 0.5 * trace.ds[1:], rtol=1e-15)
    # With the recurrent weights ~1e-9 the h path adds almost nothing: ds halves per step.
    ratio = np.linalg.norm(trace.ds[:-1], axis=1) / np.linalg.norm(trace.ds[1:], axis=1)
    np.testing.assert_allclose(ratio, 0.5, rtol=1e-6)


def test_trace_keeps_its_own_parameters_when_the_caller_trains_on():
    params, x, y = make_run(3, 4, 5, seed=1)
    trace = record(params, x, y)
    kept = np.array(trace.params.wi)
    params.apply_diff(trace.grads, 1.0)
    np.testing.assert_array_equal(trace.params.wi, kept)
    with pytest.raises(ValueError):
        trace.params.wi[0, 0] = 1.0


@pytest.mark.parametrize("variant", ["seed", "standard"])
def test_forward_loss_is_the_recorded_total_loss(variant):
    from lstm_engine.recorder import forward_loss

    params, x, y = make_run(5, 6, 9, seed=4)
    assert forward_loss(params, x, y, variant) == record(params, x, y, variant).total_loss


def test_record_runs_blas_on_one_thread_and_restores_it(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return {m["num_threads"] for m in threadpoolctl.threadpool_info()
                if m["user_api"] == "blas"}

    before = blas_threads()
    seen = []
    real_dot = np.dot

    def spying_dot(*args, **kwargs):          # the recurrent mat-vecs call np.dot
        seen.append(blas_threads())
        return real_dot(*args, **kwargs)

    monkeypatch.setattr(np, "dot", spying_dot)
    rng = np.random.default_rng(0)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):   # as on a two-core machine
        outside = blas_threads()
        record(init_uniform(3, 4, rng), rng.uniform(size=(3, 3)), rng.uniform(size=3))
        after = blas_threads()
    monkeypatch.undo()
    assert outside == after == {2}
    assert len(seen) == 6 and all(s == {1} for s in seen)      # inside record: one thread
    assert blas_threads() == before


def test_records_in_two_threads_at_once_share_one_blas_limit(monkeypatch):
    """Thread A enters record, then B; A leaves first, B last. The limit must be set once
    (by A) and the count restored once, after B has left: restoring per call would let A
    put two threads back under B, and B then 'restore' the one thread it found. (Checked
    on a stand-in controller: OpenBLAS's own reading of its count from other threads is
    not something a test can rely on.)"""
    import threading

    from lstm_engine import blas, recorder

    calls, a_left = [], threading.Event()

    class Limiter:
        def restore_original_limits(self):
            calls.append(("restore", threading.current_thread().name))

    class Controller:
        def limit(self, limits, user_api):
            calls.append(("limit", threading.current_thread().name, limits, user_api))
            return Limiter()

    monkeypatch.setattr(blas, "ThreadpoolController", Controller)
    monkeypatch.setattr(blas, "_controller", None)
    both_in = threading.Barrier(2)
    prepare = recorder._prepare

    def synchronised(*args, **kwargs):       # runs inside record's BLAS context
        both_in.wait(timeout=10)
        if threading.current_thread().name == "B":
            assert a_left.wait(timeout=10)
        return prepare(*args, **kwargs)
    monkeypatch.setattr(recorder, "_prepare", synchronised)

    rng = np.random.default_rng(1)
    run = (init_uniform(3, 4, rng), rng.uniform(size=(5, 3)), rng.uniform(size=5))

    def a():
        record(*run)
        calls.append(("A left",))
        a_left.set()
    threads = [threading.Thread(target=a, name="A"),
               threading.Thread(target=record, args=run, name="B")]
    threads[0].start()
    threads[1].start()
    for th in threads:
        th.join(timeout=20)
    assert [c[0] for c in calls] == ["limit", "A left", "restore"]
    assert calls[0][2:] == (1, "blas") and calls[-1] == ("restore", "B")
    assert blas._depth == 0


def test_a_record_run_on_the_helper_thread_or_after_its_shutdown_does_its_blocks_itself(
        monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from lstm_engine import helper

    params, x, y = make_run(3, 5, 2 * helper.BLOCK + 5, seed=3, scale=1.0)
    want = record(params, x, y)
    on_helper = helper._helper_thread().submit(record, params, x, y).result(timeout=60)
    closed = ThreadPoolExecutor(max_workers=1, thread_name_prefix="closed")
    closed.shutdown()
    monkeypatch.setattr(helper, "_helper", closed)            # as at interpreter exit
    after_shutdown = record(params, x, y)
    for got in (on_helper, after_shutdown):
        for name in STEP_NAMES + GRAD_NAMES:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-300)
