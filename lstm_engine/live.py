"""Parameter gradients as of any point of the backward pass, computed on demand.

The backward pass visits t = T-1 … 0 and adds, at step t,

    wk_diff += outer(dk_input[t], xc[t])      bk_diff += dk_input[t]      (k = i, f, o, g)

so after the steps T-1 … t are done each accumulator holds the suffix sum over k >= t.
Storing one (H, X+H) matrix per step is out of the question (31 GB at T=10,000, H=256,
X=128), so suffix sums are kept at checkpoints every ``stride`` steps (one stacked array within a
memory budget) and a query adds at most ``stride - 1`` steps to the nearest later
checkpoint with one GEMM. The bias sums are small and kept for every step. The last
answer is cached, so stepping one step further back (T-1 towards 0, the direction the
backward pass runs) costs one outer product; any other move costs one small GEMM.
"""

from __future__ import annotations

import numpy as np

from .helper import Sharing
from .memory import trace_bytes
from .trace import GATE_ORDER, Trace

WEIGHT_DIFFS = tuple(f"w{k}_diff" for k in GATE_ORDER)
BIAS_DIFFS = tuple(f"b{k}_diff" for k in GATE_ORDER)


# Bytes of weight-gradient checkpoints at most: BUDGET, or a quarter of the trace's own
# bytes when that is more. A random seek's GEMM adds stride/2 steps on average: at
# T=10,000, H=512, X=128 float32 (a 5.2 MB checkpoint, a 460 MB trace) a quarter gives
# a stride of 477 steps, about 4 ms of GEMM on one core (64 MiB: 834 steps, ~8 ms, a
# fifth of the whole seek, issue 16). Kept in proportion to the trace, what showing it
# adds stays within the app's memory target (1.5 x the trace + 250 MiB): a flat 128 MiB
# took a T=10,000, H=256 float32 trace to 1.03x of it.
BUDGET = 64 * 2**20
TRACE_SHARE = 4                 # the checkpoints may hold 1/TRACE_SHARE of the trace


# A query's GEMM is split by rows between this thread and the engine's helper thread
# (helper.Sharing; BLAS releases the GIL) from SPLIT_BYTES of operand traffic on:
# multiply-adds times the item size, as one core here does about 70 G float32 and 32 G
# float64 multiply-adds a second, about the same in bytes. Below it, handing half over
# (~0.1 ms) costs more than it saves. Split at a multiple of SPLIT_ROWS, each half is the
# same blocked GEMM on its rows, so the sum is the same to the bit
# (tests/engine/test_live.py). After a query where the helper lagged, the next
# ALONE_QUERIES are done here alone.
SPLIT_BYTES = 64e6
SPLIT_ROWS = 64
ALONE_QUERIES = 16


def budget_for(steps: int, inputs: int, hidden: int, dtype) -> int:
    """The checkpoint budget of a trace of these sizes (see BUDGET)."""
    return max(BUDGET, trace_bytes(steps, inputs, hidden, dtype) // TRACE_SHARE)


def checkpoint_stride(steps: int, checkpoint_bytes: int, budget_bytes: int) -> int:
    """Steps between two checkpoints: enough checkpoints to fill the budget, but never
    more than one per step."""
    count = max(1, min(steps, budget_bytes // checkpoint_bytes))
    return max(1, -(-steps // count))


def live_bytes(steps: int, inputs: int, hidden: int, dtype="float64",
               budget_bytes: int | None = None) -> int:
    """Bytes a LiveGradients of a trace of these sizes holds once used: its checkpoints
    (one more than the strides, the last all zeros) and the bias suffix sums."""
    if budget_bytes is None:
        budget_bytes = budget_for(steps, inputs, hidden, dtype)
    item = np.dtype(dtype).itemsize
    per = 4 * hidden * (inputs + hidden) * item
    stride = checkpoint_stride(steps, per, budget_bytes)
    return (-(-steps // stride) + 1) * per + (steps + 1) * 4 * hidden * item


class LiveGradients:
    """Suffix sums of the weight gradients of one Trace, for random access."""

    def __init__(self, trace: Trace, budget_bytes: int | None = None):
        self.trace = trace
        self.dz = trace.dz                                  # (T, 4H), rows i, f, o, g (GATE_ORDER)
        self.xc = trace.xc                                  # (T, X+H)
        T, H = trace.steps, trace.hidden
        per = self.dz.shape[1] * self.xc.shape[1] * self.dz.itemsize
        if budget_bytes is None:
            budget_bytes = budget_for(T, trace.inputs, H, self.dz.dtype)
        self.stride = checkpoint_stride(T, per, budget_bytes)
        self._checkpoints: np.ndarray | None = None        # (T/stride + 1, 4H, X+H)
        # Bias suffix sums for every k (tiny): bias_suffix[k] = sum_{j >= k} dz[j].
        bias = np.zeros((T + 1, 4 * H), self.dz.dtype)
        np.cumsum(self.dz[::-1], axis=0, out=bias[T - 1::-1])
        self._bias_suffix = bias
        self._cache: tuple[int, np.ndarray] | None = None
        self._sharing = Sharing(ALONE_QUERIES)

    def _build(self) -> np.ndarray:
        """``ckpt[c]`` = the suffix sum from step ``min(c * stride, T)``."""
        T, s = self.trace.steps, self.stride
        n = -(-T // s)
        ckpt = np.empty((n + 1, self.dz.shape[1], self.xc.shape[1]), self.dz.dtype)
        ckpt[n] = 0.0
        for c in range(n - 1, -1, -1):
            lo, hi = c * s, min((c + 1) * s, T)
            np.matmul(self.dz[lo:hi].T, self.xc[lo:hi], out=ckpt[c])
            ckpt[c] += ckpt[c + 1]
        return ckpt

    def _suffix(self, first: int) -> np.ndarray:
        """sum_{k >= first} outer(dz[k], xc[k]) as a (4H, X+H) array (do not modify)."""
        T = self.trace.steps
        first = min(max(first, 0), T)
        if self._cache is not None:
            at, value = self._cache
            if at == first:
                return value
            if at == first + 1:                             # one step further back
                step = np.outer(self.dz[first], self.xc[first])
                step += value                               # a + b = b + a, bit for bit:
                return self._remember(first, step)          # one (4H, X+H) array made
        if self._checkpoints is None:
            self._checkpoints = self._build()
        c = -(-first // self.stride)                        # the next checkpoint at or after
        above = min(T, c * self.stride)
        value = self._checkpoints[c]
        if above > first:
            steps = self._product(first, above)
            steps += value                                  # in place: no second array
            value = steps
        return self._remember(first, value)

    def _product(self, lo: int, hi: int) -> np.ndarray:
        """``dz[lo:hi].T @ xc[lo:hi]``, its rows shared with the helper thread when it is
        big enough (SPLIT_BYTES)."""
        a, b = self.dz[lo:hi].T, self.xc[lo:hi]
        rows = a.shape[0]
        m = rows // 2 // SPLIT_ROWS * SPLIT_ROWS            # the helper's rows
        big = a.size * b.shape[1] * a.itemsize >= SPLIT_BYTES
        if not (self._sharing.wanted() and big and m):
            return a @ b
        out = np.empty((rows, b.shape[1]), np.result_type(a, b))
        self._sharing.split(np.matmul, (a[:m], b, out[:m]), (a[m:], b, out[m:]))
        return out

    def _remember(self, first: int, value: np.ndarray) -> np.ndarray:
        value.flags.writeable = False                       # callers get views of the cache
        self._cache = (first, value)
        return value

    def accumulated(self, first: int, partial: dict[str, bool] | None = None) -> dict:
        """The accumulators after the steps T-1 … ``first`` are done.

        ``partial`` names accumulators whose update at step ``first - 1`` has also run
        (the statement-level view inside a step): ``{"wi_diff": True}``.
        Returns ``{"wi_diff": (H, X+H), …, "bi_diff": (H,), …}``.
        """
        H = self.trace.hidden
        w = self._suffix(first)
        b = self._bias_suffix[min(max(first, 0), self.trace.steps)]
        running = first - 1 if partial and first > 0 else None     # the step under way
        partial = partial or {}
        out = {}
        for n, k in enumerate(GATE_ORDER):
            rows = slice(n * H, (n + 1) * H)
            wk, bk = w[rows], b[rows]
            if running is not None and partial.get(f"w{k}_diff"):
                # the step's outer product, then the sum added into it: a + b = b + a
                # bit for bit, and one (H, X+H) array made instead of two
                step = np.outer(self.dz[running, rows], self.xc[running])
                step += wk
                wk = step
            if running is not None and partial.get(f"b{k}_diff"):
                bk = bk + self.dz[running, rows]
            out[f"w{k}_diff"], out[f"b{k}_diff"] = wk, bk
        return out

    def bias_suffixes(self, name: str) -> np.ndarray:
        """Every suffix sum of bias accumulator ``name`` (``bi_diff`` …), (T+1, H): row k
        is its value after the steps T-1 … k are done (row T: none, zeros). A view."""
        n, H = BIAS_DIFFS.index(name), self.trace.hidden
        return self._bias_suffix[:, n * H:(n + 1) * H]

    def contribution(self, t: int) -> dict:
        """Step t's own contribution to each accumulator."""
        H = self.trace.hidden
        out = {}
        for n, k in enumerate(GATE_ORDER):
            rows = slice(n * H, (n + 1) * H)
            out[f"w{k}_diff"] = np.outer(self.dz[t, rows], self.xc[t])
            out[f"b{k}_diff"] = np.array(self.dz[t, rows])
        return out
