"""Gradients as of any point of the backward pass, against direct sums of outer products."""

import numpy as np
import pytest

from lstm_engine import helper as helper_thread
from lstm_engine import init_uniform, record
from lstm_engine.live import LiveGradients


@pytest.fixture(scope="module")
def trace():
    rng = np.random.default_rng(4)
    params = init_uniform(5, 6, rng, -0.5, 0.5)
    return record(params, rng.standard_normal((37, 5)), rng.standard_normal(37))


def direct(trace, first):
    out = {}
    for k in "gifo":
        rows = trace[f"d{k}_input"]
        out[f"w{k}_diff"] = sum((np.outer(rows[t], trace.xc[t])
                                 for t in range(first, trace.steps)), np.zeros((6, 11)))
        out[f"b{k}_diff"] = rows[first:].sum(axis=0) if first < trace.steps else np.zeros(6)
    return out


@pytest.mark.parametrize("budget", [1, 10_000, 64 * 2**20])     # stride 37, 8 … 1
def test_accumulated_equals_the_direct_sum_at_every_step_in_any_order(trace, budget):
    live = LiveGradients(trace, budget_bytes=budget)
    order = list(range(trace.steps, -1, -1)) + [5, 30, 0, 37, 12, 11, 13]
    for first in order:
        got, want = live.accumulated(first), direct(trace, first)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} at {first}")


def test_accumulated_from_zero_is_the_summed_gradient(trace):
    got = LiveGradients(trace).accumulated(0)
    for name in ("wi_diff", "wg_diff", "bf_diff", "bo_diff"):
        np.testing.assert_allclose(got[name], trace[name], rtol=1e-12, atol=1e-14)


def test_partial_adds_the_running_step_for_the_named_accumulators_only(trace):
    live = LiveGradients(trace)
    base = live.accumulated(20)
    got = live.accumulated(20, partial={"wi_diff": True, "bi_diff": True})
    contrib = live.contribution(19)
    np.testing.assert_allclose(got["wi_diff"], base["wi_diff"] + contrib["wi_diff"], rtol=1e-14)
    np.testing.assert_allclose(got["bi_diff"], base["bi_diff"] + contrib["bi_diff"], rtol=1e-14)
    np.testing.assert_array_equal(got["wf_diff"], base["wf_diff"])
    np.testing.assert_allclose(contrib["wi_diff"], np.outer(trace.di_input[19], trace.xc[19]))


def test_checkpoints_respect_the_memory_budget(trace):
    live = LiveGradients(trace, budget_bytes=24 * 11 * 8 * 4)      # room for four
    live.accumulated(3)
    assert live.stride == 10
    assert len(live._checkpoints) <= 5                              # four plus the empty sum


@pytest.mark.parametrize(("steps", "budget"), [(1, 10**9), (7, 1), (50, 3 * 4 * 5 * 8 * 4),
                                                (50, 10**9), (33, 5000)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_live_bytes_is_what_a_used_live_gradients_holds(steps, budget, dtype):
    from lstm_engine.live import live_bytes

    rng = np.random.default_rng(4)
    tr = record(init_uniform(3, 4, rng), rng.standard_normal((steps, 3)),
                rng.standard_normal(steps), dtype=dtype)
    live = LiveGradients(tr, budget_bytes=budget)
    live.accumulated(steps // 2)                       # builds the checkpoints
    held = live._checkpoints.nbytes + live._bias_suffix.nbytes
    assert live_bytes(steps, 3, 4, dtype, budget) == held


def test_partial_is_the_sum_and_the_step_bit_for_bit(trace):
    """The running step's outer product has the sum added into it (one array made): the
    same bits as the sum plus the step, as the plain per-step reference adds them."""
    live = LiveGradients(trace)
    base = {n: np.array(a) for n, a in live.accumulated(9).items()}
    got = live.accumulated(9, partial=dict.fromkeys(("wi_diff", "wf_diff", "wo_diff",
                                                     "wg_diff"), True))
    for k in "ifog":
        step = np.outer(trace[f"d{k}_input"][8], trace.xc[8])
        np.testing.assert_array_equal(got[f"w{k}_diff"], base[f"w{k}_diff"] + step)
        np.testing.assert_allclose(got[f"w{k}_diff"], direct(trace, 8)[f"w{k}_diff"],
                                   rtol=1e-12, atol=1e-14)


def test_the_checkpoints_hold_a_quarter_of_a_big_trace_and_64_mib_of_a_small_one():
    """The seek row of issue 16 (T=10,000, H=512, X=128, float32, a 454 MiB trace): the
    budget is a quarter of the trace, so the checkpoints come every 455 steps (834 with
    64 MiB: twice the GEMM of a random seek); a 233 MiB trace keeps 64 MiB (the app's
    memory target is 1.5 x the trace + 250 MiB)."""
    from lstm_engine.live import BUDGET, budget_for, checkpoint_stride, live_bytes
    from lstm_engine.memory import trace_bytes

    per = 4 * 512 * (128 + 512) * 4                      # one checkpoint, 4H x (X+H)
    budget = budget_for(10_000, 128, 512, "float32")
    assert budget == trace_bytes(10_000, 128, 512, "float32") // 4 > BUDGET
    count = budget // per                                # checkpoints that fit: 22
    stride = checkpoint_stride(10_000, per, budget)
    assert stride == -(-10_000 // count) == 455
    assert checkpoint_stride(10_000, per, BUDGET) == 834
    # the checkpoints and the empty sum, and the bias suffix sums (T+1) x 4H
    assert live_bytes(10_000, 128, 512, "float32") == \
        (-(-10_000 // stride) + 1) * per + 10_001 * 4 * 512 * 4
    assert budget_for(10_000, 128, 256, "float32") == BUDGET


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_query_shared_with_the_helper_thread_is_the_same_to_the_bit(monkeypatch, dtype):
    """Split by rows (live.SPLIT_ROWS) between this thread and the helper, a query's GEMM
    gives the sums a whole GEMM gives, bit for bit (SPLIT_BYTES is read per query)."""
    import lstm_engine.live as live

    rng = np.random.default_rng(9)
    params = init_uniform(12, 40, rng, -0.5, 0.5)             # 4H = 160 rows
    tr = record(params, rng.standard_normal((90, 12)), rng.standard_normal(90), dtype=dtype)
    calls = []
    helper = helper_thread.on_helper
    monkeypatch.setattr(helper_thread, "on_helper", lambda *a: calls.append(1) or helper(*a))
    monkeypatch.setattr(live, "SPLIT_BYTES", 0)               # split every GEMM,
    monkeypatch.setattr(live, "ALONE_QUERIES", 0)             # however small
    shared = LiveGradients(tr, budget_bytes=1)                 # one checkpoint: long GEMMs
    whole = LiveGradients(tr, budget_bytes=1)
    for first in (0, 33, 61, 88):
        got = shared.accumulated(first)
        monkeypatch.setattr(live, "SPLIT_BYTES", float("inf"))
        want = whole.accumulated(first)
        monkeypatch.setattr(live, "SPLIT_BYTES", 0)
        for name in got:
            np.testing.assert_array_equal(got[name], want[name])
    assert len(calls) == 3                      # each query with a GEMM was split (not 0)


def test_after_the_helper_lagged_queries_are_done_alone(monkeypatch):
    import time

    import lstm_engine.live as live

    rng = np.random.default_rng(2)
    params = init_uniform(12, 40, rng, -0.5, 0.5)
    tr = record(params, rng.standard_normal((90, 12)), rng.standard_normal(90))
    calls = []
    helper = helper_thread.on_helper

    def slow(fn, *args):                                        # its core is busy
        calls.append(1)
        return helper(lambda: (time.sleep(0.05), fn(*args))[1])

    monkeypatch.setattr(helper_thread, "on_helper", slow)
    monkeypatch.setattr(live, "SPLIT_BYTES", 0)
    g = LiveGradients(tr, budget_bytes=1)
    firsts = [5, 40, 70, 20, 60, 10, 50, 30, 80, 15, 45, 75, 25, 55, 35, 65, 85]
    assert len(firsts) == 1 + live.ALONE_QUERIES
    for first in firsts:
        g.accumulated(first)
    assert len(calls) == 1                       # the first lagged: the next ones alone
    g.accumulated(2)
    assert len(calls) == 2                       # ALONE_QUERIES later: shared again
