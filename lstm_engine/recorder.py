"""Run forward + backward over a whole sequence and record every intermediate.

Two implementations of the same pass:

``record``    the fast recorder. GEMMs project all inputs, one recurrent mat-vec per step
              runs forward; the backward loop keeps only the recurrence (top_diff_h, ds,
              the gate gradients and one mat-vec per step); everything else is computed
              for all steps at once. The input projections, the weight gradients and the
              x part of dxc are GEMMs over blocks of steps that a helper thread runs while
              the loops go on.
``run_stepwise``  the readable cell of ``cell.py`` called step by step, as the seed does.

Tests hold the two to 1e-12 of each other and to an independent reference.

Both take ``interventions`` (``interventions.py``; the equations in docs/equations.md
§10): the recorder turns them into per-layer masks (a ``LayerPlan``) that its loops
consult at the few places an intervention acts; with none, the plan is None and the
loops run exactly as before.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .blas import single_threaded
from .cell import check_variant
from .interventions import NONE, Interventions, LayerPlan
from .losses import ToyLoss
from .params import PARAM_NAMES, Params
from .trace import BACKWARD_NAMES, FORWARD_NAMES, GATE_ORDER, Trace

# The GEMMs around the loops are split into blocks of BLOCK steps for a helper thread: the
# input projections ahead of the forward loop, and the backward's (sum_t outer(dz[t],
# xc[t]) and dz @ Wx), which need dz only, each block as soon as the recurrence (from the
# last step down) has filled it. On a machine with a free core they cost nothing; on a
# busy one what they would have. Ordinary Python threads, not BLAS's own: numpy releases
# the GIL inside BLAS, and BLAS stays on one thread (blas.py), whose idle workers would
# otherwise spin against the loop on a busy machine. Shorter passes do it all inline.
BLOCK = 128
_HELPER_NAME = "lstm-engine-gemm"
_helper: ThreadPoolExecutor | None = None


def _helper_thread() -> ThreadPoolExecutor:
    global _helper
    if _helper is None:
        _helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_HELPER_NAME)
    return _helper


def _on_helper(fn, *args) -> Future:
    """``fn(*args)`` on the helper thread; done here and now instead when this is the
    helper itself (a record run on it would wait for itself) or when the interpreter is
    shutting down (the helper takes no more work). The helper runs ``fn`` in the caller's
    context, so numpy's error settings (``np.errstate``, a context variable) hold there too:
    a caller that ignores overflow in an exploding pass hears no warning from the helper."""
    if not threading.current_thread().name.startswith(_HELPER_NAME):
        try:
            return _helper_thread().submit(contextvars.copy_context().run, fn, *args)
        except RuntimeError:                                # shut down
            pass
    done: Future = Future()
    try:
        done.set_result(fn(*args))
    except Exception as err:                                # noqa: BLE001 - re-raised by result()
        done.set_exception(err)
    return done


class _BlockGradients:
    """wdiff = sum_t outer(dz[t], xc[t]) and dxc[:, :X] = dz @ Wx, block by block on the
    helper thread (one thread, blocks in submission order: the same sums every run), or
    as one block here for a short pass."""

    def __init__(self, dz, xc, W, dxc, X):
        self.dz, self.xc, self.Wx, self.dxc, self.X = dz, xc, W[:, :X], dxc, X
        self.wdiff = self.part = None             # made by the first block
        self.jobs = []

    def submit(self, lo: int, hi: int) -> None:
        self.jobs.append(_on_helper(self.block, lo, hi))

    def block(self, lo: int, hi: int) -> None:
        dz = self.dz[lo:hi]
        self.dxc[lo:hi, :self.X] = dz @ self.Wx
        if self.wdiff is None:                    # the first (for a short pass, the only)
            self.wdiff = dz.T @ self.xc[lo:hi]
            return
        if self.part is None:
            self.part = np.empty_like(self.wdiff)
        np.matmul(dz.T, self.xc[lo:hi], out=self.part)
        self.wdiff += self.part

    def result(self) -> np.ndarray:
        for job in self.jobs:
            job.result()                                    # re-raises a failure
        assert self.wdiff is not None                       # the first block made it
        return self.wdiff


def _prepare(params: Params, x, y, loss, dtype):
    dtype = np.dtype(dtype or params.dtype)
    if dtype.name not in ("float64", "float32"):
        raise ValueError(f"dtype must be float64 or float32, got {dtype}")
    p = params.astype(dtype)          # the trace keeps its own copy: callers update theirs
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"inputs must have shape (T, X) with T >= 1, got {x.shape}")
    if x.shape[1] != p.inputs:
        raise ValueError(f"inputs have X={x.shape[1]} but the parameters expect X={p.inputs}")
    if x.dtype.kind not in "fiu":
        raise ValueError(f"inputs must be real numbers, got dtype {x.dtype}")
    x = np.ascontiguousarray(x, dtype=dtype)
    if not np.all(np.isfinite(x)):
        raise ValueError("inputs contain NaN or Inf")
    loss = loss if loss is not None else ToyLoss()
    y = np.array(y)                   # the trace keeps its own copy of the targets too
    if y.dtype.kind == "f":
        y = y.astype(dtype, copy=False)
    loss.check_targets(y, x.shape[0])
    return p, x, y, loss


def stacked_weights(p: Params) -> np.ndarray:
    """The four weight matrices stacked (4H, X+H) in GATE_ORDER."""
    return np.concatenate([getattr(p, f"w{k}") for k in GATE_ORDER])


def gate_slices(H: int) -> tuple[slice, slice, slice, slice]:
    """The rows of gates i, f, o, g in arrays stacked (…, 4H) in GATE_ORDER."""
    i, f, o, g = (slice(k * H, (k + 1) * H) for k in range(len(GATE_ORDER)))
    return i, f, o, g


def backward_coefficients(i, f, o, g, s, s_before, variant: str):
    """The per-step factors that make one backward step two multiplications and a mat-vec.

    ``ds = A*top_diff_h + top_diff_s`` with A = o (seed) or o*(1-tanh(s)^2) (standard), and
    the gate pre-activation gradients stacked in GATE_ORDER are ``dz = C * [ds, ds,
    top_diff_h, ds]``. Also returns ``s_out``, what o multiplies: s (seed) or tanh(s).
    """
    T, H = s.shape
    tanh_s = None if variant == "seed" else np.tanh(s)
    s_out = s if tanh_s is None else tanh_s
    A = o.copy() if tanh_s is None else o * (1.0 - tanh_s * tanh_s)
    C = np.empty((T, 4 * H), s.dtype)
    gi, gf, go, gg = gate_slices(H)
    np.multiply(i * (1.0 - i), g, out=C[:, gi])             # d i_input / ds = i(1-i) * g
    np.multiply(f * (1.0 - f), s_before, out=C[:, gf])      # d f_input / ds = f(1-f) * s_prev
    np.multiply(o * (1.0 - o), s_out, out=C[:, go])         # d o_input / dh = o(1-o) * s_out
    np.multiply(1.0 - g * g, i, out=C[:, gg])               # d g_input / ds = (1-g^2) * i
    return A, C, s_out


_NEVER = np.zeros(0, bool)          # the steps of a mask that is None: never indexed


def _steps_acting(mask: np.ndarray | None) -> np.ndarray:
    """(T,) bool: the steps where a (T, n) mask selects anything (``_NEVER`` for None)."""
    return _NEVER if mask is None else np.asarray(mask.any(axis=1))


@dataclass(frozen=True)
class ForwardPass:
    """One layer's forward pass over all steps: ``W`` (4H, X+H) stacked in GATE_ORDER
    (the weights the pass computed with: scaled blocks scaled), ``xc_buf`` (T+1, X+H)
    with h(t) in row t+1, ``gates`` (T, 4H) in GATE_ORDER, ``s``, and the layer's
    interventions ``plan`` (None: none)."""

    params: Params
    variant: str
    W: np.ndarray
    xc_buf: np.ndarray
    gates: np.ndarray
    s: np.ndarray
    plan: LayerPlan | None = None

    @property
    def h(self) -> np.ndarray:
        """h (T, H): a view of ``xc_buf``, the next layer's input."""
        return self.xc_buf[1:, self.params.inputs:]


def _forward(p: Params, x: np.ndarray, variant: str,  # noqa: PLR0915 - the hot loop, read top to bottom; an intervention acts inline where it changes the step
             plan: LayerPlan | None = None) -> ForwardPass:
    """The forward pass of one layer over all steps of x (T, X), h(-1) = s(-1) = 0,
    with the layer's interventions ``plan``: scaled weight blocks, gates held at their
    clamped values, knocked-out units' s (and so h) set to 0."""
    dt = p.dtype
    T, X, H = x.shape[0], p.inputs, p.hidden
    seed = variant == "seed"
    # Gates stacked in GATE_ORDER = i, f, o, g: one exp for the three sigmoids, one tanh.
    # The sigmoid rows are negated so that the loop computes exp(-z) without a negation.
    W = stacked_weights(p)                                  # (4H, X+H)
    clamped = knocked = None
    clamp_value = clamp_at = knock_at = _NEVER
    if plan is not None:
        if plan.scale is not None:
            W = W * plan.scale                              # the weights the pass uses
        if plan.clamped is not None and plan.clamp_value is not None:
            clamped, clamp_value = plan.clamped, plan.clamp_value
        knocked = plan.knocked
        clamp_at, knock_at = _steps_acting(clamped), _steps_acting(knocked)
    sign = np.ones((4 * H, 1), dt)
    sign[: 3 * H] = -1.0
    Wneg = W * sign
    Wx, Wh = Wneg[:, :X], np.ascontiguousarray(Wneg[:, X:])
    b = np.concatenate([p.bi, p.bf, p.bo, p.bg]) * sign[:, 0]
    sig, tan = slice(0, 3 * H), slice(3 * H, 4 * H)
    gi, gf, go, gg = gate_slices(H)

    # All input projections, one GEMM per block of steps on the helper thread: the loop
    # waits only for the first block, then finds each next one done.
    z = np.empty((T, 4 * H), dt)

    def project(lo: int, hi: int) -> None:
        np.matmul(x[lo:hi], Wx.T, out=z[lo:hi])
        z[lo:hi] += b

    if T >= 2 * BLOCK:
        jobs = [_on_helper(project, lo, min(lo + BLOCK, T))
                for lo in range(0, T, BLOCK)]
    else:
        project(0, T)
        jobs = None
    # xc(t) = [x(t), h(t-1)]: h(t) is written straight into row t+1, so h is a view.
    xc_buf = np.empty((T + 1, X + H), dt)
    xc_buf[:T, :X] = x
    xc_buf[T, :X] = 0.0
    xc_buf[0, X:] = 0.0
    h = xc_buf[1:, X:]
    gates = np.empty((T, 4 * H), dt)
    s = np.empty((T, H), dt)
    s_prev = np.zeros(H, dt)
    rec = np.empty(4 * H, dt)
    tmp = np.empty(H, dt)
    with np.errstate(over="ignore"):                        # exp(-z) -> inf gives sigmoid 0
        for t in range(T):
            if jobs is not None and t % BLOCK == 0:
                jobs[t // BLOCK].result()                   # this block's projections
            zt, at, st, ht = z[t], gates[t], s[t], h[t]
            np.dot(Wh, xc_buf[t, X:], out=rec)              # the recurrent mat-vec
            zt += rec
            np.exp(zt[sig], out=at[sig])                    # i, f, o = 1 / (1 + exp(-z))
            at[sig] += 1.0
            np.reciprocal(at[sig], out=at[sig])
            np.tanh(zt[tan], out=at[tan])                   # g = tanh(z)
            if clamped is not None and clamp_at[t]:         # gate := its clamped value
                np.copyto(at, clamp_value[t], where=clamped[t])
            np.multiply(at[gg], at[gi], out=st)             # s = g*i + s_prev*f
            np.multiply(s_prev, at[gf], out=tmp)
            st += tmp
            if knocked is not None and knock_at[t]:         # s_j := 0 (and so h_j = 0)
                st[knocked[t]] = 0.0
            if seed:
                np.multiply(st, at[go], out=ht)             # h = s*o
            else:
                np.tanh(st, out=ht)                         # h = o*tanh(s)
                ht *= at[go]
            s_prev = st
    return ForwardPass(p, variant, W, xc_buf, gates, s, plan)


def check_interventions(interventions, hiddens, inputs: int, steps: int) -> Interventions:
    """``interventions`` (None: none) checked against the model's sizes and the pass's
    length; a one-line ValueError names the one that does not fit."""
    iv = NONE if interventions is None else interventions
    if not isinstance(iv, Interventions):
        raise ValueError(f"interventions must be an Interventions, got {type(iv).__name__}")
    iv.check(hiddens, inputs, steps)
    return iv


def _cell_plan(iv: Interventions, p: Params, x: np.ndarray):
    """(x edited, dx_edited/dx or None, the cell's LayerPlan or None) of a single cell."""
    x, keep = iv.input_edit(x)
    return x, keep, iv.layer_plan(0, x.shape[0], p.inputs, p.hidden, p.dtype)


@single_threaded
def forward_loss(params: Params, x, y, variant: str = "seed", loss=None, dtype=None,
                 interventions: Interventions | None = None) -> float:
    """L = sum_t l(t) from the forward pass alone (what finite differences need)."""
    check_variant(variant)
    p, x, y, loss = _prepare(params, x, y, loss, dtype)
    iv = check_interventions(interventions, (p.hidden,), p.inputs, x.shape[0])
    x, _, plan = _cell_plan(iv, p, x)
    out = loss.evaluate(_forward(p, x, variant, plan).h, y)
    return float(np.sum(out.loss, dtype=np.float64))


@single_threaded
def record(params: Params, x, y, variant: str = "seed", loss=None, dtype=None,
           interventions: Interventions | None = None) -> Trace:
    """Forward and backward through time over x (T, X) with targets y; returns the Trace.

    ``dtype`` (float64 or float32) defaults to the parameters' dtype. ``interventions``
    (``interventions.py``) are applied exactly; the Trace's ``x`` is then the input as
    edited, what the cell read.
    """
    check_variant(variant)
    p, x, y, loss = _prepare(params, x, y, loss, dtype)
    iv = check_interventions(interventions, (p.hidden,), p.inputs, x.shape[0])
    x, _, plan = _cell_plan(iv, p, x) if iv else (x, None, None)
    pass_ = _forward(p, x, variant, plan)
    out = loss.evaluate(pass_.h, y)
    dl_dh = np.ascontiguousarray(out.dl_dh, dtype=p.dtype)
    arrays, dz = _backward(pass_, dl_dh)
    arrays.update(loss=out.loss, dl_dh=dl_dh)
    return Trace(p, x, y, arrays, variant, loss, out.param_grads, dz=dz, interventions=iv)


def _backward(fwd: ForwardPass, dl_dh: np.ndarray) -> tuple[dict, np.ndarray]:  # noqa: PLR0915 - as _forward
    """The backward pass of one layer over all steps, given ``dl_dh`` (T, H): the share of
    dL/dh(t) that arrives from outside the layer at each step (the loss's, or the layer
    above's ``dxc[:, :X]``); the layer adds its own carry dL(t+1)/dh(t). Returns the
    Trace's backward arrays and gradients by name, and ``dz`` (T, 4H) in GATE_ORDER.

    The forward's interventions act here too: a clamped gate's pre-activation gets no
    gradient, a knocked-out unit's ds is 0, a cut sets bottom_diff_h or bottom_diff_s to
    0 where it acts, and a scaled block's gradient is the factor times the gradient of
    the scaled weights the pass used (docs/equations.md §10)."""
    p, variant, W, xc_buf, gates, s = (fwd.params, fwd.variant, fwd.W, fwd.xc_buf,
                                       fwd.gates, fwd.s)
    plan = fwd.plan
    knocked = cut_h = cut_s = None
    knock_at = cut_h_at = cut_s_at = _NEVER
    if plan is not None:                    # each mask with the steps where it acts at all
        knocked, cut_h, cut_s = plan.knocked, plan.cut_h, plan.cut_s
        knock_at, cut_h_at, cut_s_at = map(_steps_acting, (knocked, cut_h, cut_s))
    dt = p.dtype
    T, X, H = s.shape[0], p.inputs, p.hidden
    gi, gf, go, gg = gate_slices(H)
    xc = xc_buf[:T]
    i, f, o, g = (gates[:, sl] for sl in (gi, gf, go, gg))
    s_before = np.empty_like(s)                             # s(t-1), zero at t=0
    s_before[0] = 0.0
    s_before[1:] = s[:-1]

    # ---- the recurrence only ---------------------------------------------------------
    A, C, s_out = backward_coefficients(i, f, o, g, s, s_before, variant)
    if plan is not None and plan.clamped is not None:
        C[plan.clamped] = 0.0                               # a held gate: d gate/d z = 0
    C4 = C.reshape(T, 4, H)                                 # views, never copies

    WhT = W[:, X:].T.copy()                                 # (H, 4H), unnegated
    top_diff_h = np.empty((T, H), dt)
    ds = np.empty((T, H), dt)
    bottom_diff_s = np.empty((T, H), dt)
    dz = np.empty((T, 4 * H), dt)
    dz4 = dz.reshape(T, 4, H)
    dxc = np.empty((T, X + H), dt)
    carry_h = np.zeros(H, dt)                               # dL(t+1)/dh(t)
    carry_s = np.zeros(H, dt)                               # dL(t+1)/ds(t)
    blocks = _BlockGradients(dz, xc, W, dxc, X)
    threaded = T >= 2 * BLOCK
    for t in range(T - 1, -1, -1):
        tdh, dst = top_diff_h[t], ds[t]
        np.add(dl_dh[t], carry_h, out=tdh)
        np.multiply(A[t], tdh, out=dst)
        dst += carry_s
        if knocked is not None and knock_at[t]:             # s_j(t) := 0 passes nothing
            dst[knocked[t]] = 0.0
        np.multiply(C4[t], dst, out=dz4[t])                 # i, f, g rows from ds …
        np.multiply(C4[t, 2], tdh, out=dz4[t, 2])           # … the o row from top_diff_h
        carry_s = bottom_diff_s[t]
        np.multiply(dst, f[t], out=carry_s)
        carry_h = dxc[t, X:]
        np.dot(WhT, dz[t], out=carry_h)
        if cut_s is not None and cut_s_at[t]:               # bottom_diff_s := 0 (cut)
            carry_s[cut_s[t]] = 0.0
        if cut_h is not None and cut_h_at[t]:               # bottom_diff_h := 0 (cut)
            carry_h[cut_h[t]] = 0.0
        if threaded and t % BLOCK == 0:                     # steps t … t+BLOCK-1 are done
            blocks.submit(t, min(t + BLOCK, T))
    del A, C, C4

    # ---- everything that is not recurrent, for all steps at once ---------------------
    top_diff_s = np.empty((T, H), dt)
    top_diff_s[-1] = 0.0
    top_diff_s[:-1] = bottom_diff_s[1:]
    do = np.multiply(s_out, top_diff_h)
    di = g * ds
    dg = i * ds
    df = np.multiply(s_before, ds, out=s_before)
    bdiff = dz.sum(axis=0)
    if not threaded:
        blocks.block(0, T)
    wdiff = blocks.result()                                 # sum_t outer(dz[t], xc[t])
    if plan is not None and plan.scale is not None:
        wdiff = wdiff * plan.scale                          # dL/dW = c * dL/d(cW)
    arrays = dict(
        xc=xc, g=g, i=i, f=f, o=o, s=s, h=fwd.h,
        top_diff_h=top_diff_h, top_diff_s=top_diff_s, ds=ds, do=do, di=di, dg=dg, df=df,
        di_input=dz[:, gi], df_input=dz[:, gf], do_input=dz[:, go], dg_input=dz[:, gg],
        dxc=dxc, bottom_diff_s=bottom_diff_s, bottom_diff_h=dxc[:, X:],
    )
    for k, sl in zip(GATE_ORDER, (gi, gf, go, gg), strict=True):
        arrays[f"w{k}_diff"] = wdiff[sl]
        arrays[f"b{k}_diff"] = bdiff[sl]
    return arrays, dz


@single_threaded
def run_stepwise(params: Params, x, y, variant: str = "seed", loss=None, dtype=None,
                 forward_variant: str | None = None,
                 interventions: Interventions | None = None) -> Trace:
    """The same pass through the readable cell, one step at a time, as the seed runs it.

    ``forward_variant`` (default: ``variant``) lets the forward and backward cells differ:
    used to build the deliberately wrong backward that the gradient check must catch.
    ``interventions`` as for ``record``: each step's cell gets its ``fix``, the cuts act
    on what a step sends back, scaled blocks are the weights the cell computes with.
    """
    from .cell import cell_backward, cell_forward

    check_variant(variant)
    fwd_variant = check_variant(forward_variant or variant)
    p, x, y, loss = _prepare(params, x, y, loss, dtype)
    iv = check_interventions(interventions, (p.hidden,), p.inputs, x.shape[0])
    x, _, plan = _cell_plan(iv, p, x)
    T, H = x.shape[0], p.hidden
    pw = p if plan is None else plan.scaled(p)              # the weights computed with
    s_prev = np.zeros(H, p.dtype)
    h_prev = np.zeros(H, p.dtype)
    states = []
    for t in range(T):
        fix = None if plan is None else plan.at(t)
        st = cell_forward(pw, x[t], s_prev, h_prev, fwd_variant, fix)
        states.append(st)
        s_prev, h_prev = st["s"], st["h"]
    h = np.array([st["h"] for st in states])
    out = loss.evaluate(h, y)
    diff = p.zeros_like()
    steps: list[dict] = [{}] * T                            # each filled in below
    top_diff_s = np.zeros(H, p.dtype)
    bottom_diff_h = np.zeros(H, p.dtype)
    for t in range(T - 1, -1, -1):
        top_diff_h = out.dl_dh[t] + bottom_diff_h
        fix = None if plan is None else plan.at(t)
        steps[t] = cell_backward(pw, states[t], top_diff_h, top_diff_s, diff, variant, fix)
        if plan is not None:                                # the cuts: := 0 where they act
            plan.cut(t, steps[t]["bottom_diff_s"], steps[t]["bottom_diff_h"])
        top_diff_s, bottom_diff_h = steps[t]["bottom_diff_s"], steps[t]["bottom_diff_h"]
    arrays = {n: np.array([st[n] for st in states]) for n in FORWARD_NAMES}
    arrays.update({n: np.array([st[n] for st in steps]) for n in BACKWARD_NAMES})
    arrays.update(loss=out.loss, dl_dh=out.dl_dh)
    if plan is not None:
        diff = plan.unscaled_grads(diff)                    # dL/dW = c * dL/d(cW)
    arrays.update({f"{n}_diff": getattr(diff, n) for n in PARAM_NAMES})
    return Trace(p, x, y, arrays, variant, loss, out.param_grads, interventions=iv)
