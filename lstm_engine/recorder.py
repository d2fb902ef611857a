"""Run forward + backward over a whole sequence and record every intermediate.

Two implementations of the same pass:

``record``    the fast recorder. GEMMs project all inputs, one recurrent mat-vec per step
              runs forward; the backward loop keeps only the recurrence (top_diff_h, ds,
              the gate gradients and one mat-vec per step); everything else is computed
              over blocks of steps, as soon as the loops have made a block's inputs, by
              a helper thread while the loops go on: the input projections ahead of the
              forward loop, the backward's coefficients behind it, and behind the
              backward loop the weight gradients, the x part of dxc and the products
              that only read ds and top_diff_h.
``run_stepwise``  the readable cell of ``cell.py`` called step by step, as the seed does.

Tests hold the two to 1e-12 of each other and to an independent reference.

Both take ``interventions`` (``interventions.py``; the equations in docs/equations.md
§10): the recorder turns them into per-layer masks (a ``LayerPlan``) that its loops
consult at the few places an intervention acts; with none, the plan is None and the
loops run exactly as before.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from .blas import single_threaded
from .cell import check_variant
from .helper import Blocks
from .interventions import NONE, Interventions, LayerPlan
from .losses import ToyLoss
from .params import PARAM_NAMES, Params
from .trace import BACKWARD_NAMES, FORWARD_NAMES, GATE_ORDER, Trace


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


def backward_coefficients(i, f, o, g, s, s_before, variant: str, out=None):
    """The per-step factors that make one backward step two multiplications and a mat-vec.

    ``ds = A*top_diff_h + top_diff_s`` with A = o (seed) or o*(1-tanh(s)^2) (standard), and
    the gate pre-activation gradients stacked in GATE_ORDER are ``dz = C * [ds, ds,
    top_diff_h, ds]``. Also returns ``s_out``, what o multiplies: s (seed) or tanh(s).
    For the seed A and s_out are o and s themselves. ``out``: arrays (A, C, s_out) to
    write into, e.g. a block of a pass's rows (A and s_out unused for the seed).
    """
    T, H = s.shape
    seed = variant == "seed"
    if out is None:
        out = (None if seed else np.empty_like(s), np.empty((T, 4 * H), s.dtype),
               None if seed else np.empty_like(s))
    A, C, s_out = (o, out[1], s) if seed else out
    if not seed:
        np.tanh(s, out=s_out)
        np.multiply(s_out, s_out, out=A)
        np.subtract(1.0, A, out=A)
        A *= o                                              # o (1 - tanh(s)^2)
    ci, cf, co, cg = (C[:, k] for k in gate_slices(H))
    for c, gate, factor in ((ci, i, g), (cf, f, s_before), (co, o, s_out)):
        np.subtract(1.0, gate, out=c)                       # d i_input / ds = i(1-i) * g
        c *= gate                                           # d f_input / ds = f(1-f) * s_prev
        c *= factor                                         # d o_input / dh = o(1-o) * s_out
    np.multiply(g, g, out=cg)
    np.subtract(1.0, cg, out=cg)
    cg *= i                                                 # d g_input / ds = (1-g^2) * i
    return A, C, s_out


_NEVER = np.zeros(0, bool)          # the steps of a mask that is None: never indexed


def _steps_acting(mask: np.ndarray | None) -> np.ndarray:
    """(T,) bool: the steps where a (T, n) mask selects anything (``_NEVER`` for None)."""
    return _NEVER if mask is None else np.asarray(mask.any(axis=1))


@dataclass(frozen=True)
class ForwardPass:
    """One layer's forward pass over all steps: ``W`` (4H, X+H) stacked in GATE_ORDER
    (the weights the pass computed with: scaled blocks scaled), ``xc_buf`` (T+1, X+H)
    with h(t) in row t+1, ``gates`` (T, 4H) in GATE_ORDER, ``s_buf`` (T+1, H) with s(t)
    in row t+1, the layer's interventions ``plan`` (None: none), and for the backward
    its ``coefficients`` (A, C, s_out of ``backward_coefficients``, computed block by
    block by ``blocks``), and on the way ``WhT``, the recurrent weights transposed (H, 4H)
    for its mat-vec, and the ``buffers`` of ``_backward_buffers`` (all None for a forward
    alone)."""

    params: Params
    variant: str
    W: np.ndarray
    xc_buf: np.ndarray
    gates: np.ndarray
    s_buf: np.ndarray
    plan: LayerPlan | None = None
    coefficients: tuple | None = None
    WhT: Future | None = None
    buffers: Future | None = None
    blocks: Blocks | None = None

    @property
    def h(self) -> np.ndarray:
        """h (T, H): a view of ``xc_buf``, the next layer's input."""
        return self.xc_buf[1:, self.params.inputs:]

    @property
    def s(self) -> np.ndarray:
        return self.s_buf[1:]

    @property
    def s_before(self) -> np.ndarray:
        """s(t-1) (T, H), zero at t=0: a view of ``s_buf``."""
        return self.s_buf[:-1]


def _forward(p: Params, x: np.ndarray, variant: str,  # noqa: C901, PLR0915 - the hot loop, read top to bottom; an intervention acts inline where it changes the step
             plan: LayerPlan | None = None, backward: bool = True) -> ForwardPass:
    """The forward pass of one layer over all steps of x (T, X), h(-1) = s(-1) = 0,
    with the layer's interventions ``plan``: scaled weight blocks, gates held at their
    clamped values, knocked-out units' s (and so h) set to 0. ``backward``: also prepare
    what the backward needs on the helper thread: its coefficients, block by block as
    the loop leaves each block, Wh^T and the arrays its loop writes."""
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
    Wx = W[:, :X] * sign
    Wh = W[:, X:] * sign                                    # contiguous: the loop's mat-vec
    b = np.concatenate([p.bi, p.bf, p.bo, p.bg]) * sign[:, 0]
    sig, tan = slice(0, 3 * H), slice(3 * H, 4 * H)
    gi, gf, go, gg = gate_slices(H)

    # xc(t) = [x(t), h(t-1)]: h(t) is written straight into row t+1, so h is a view; the
    # same for s, so that s(t-1) is a view too.
    xc_buf = np.empty((T + 1, X + H), dt)
    xc_buf[T, :X] = 0.0
    xc_buf[0, X:] = 0.0
    h = xc_buf[:, X:]                                       # h(t) in row t+1
    s = np.empty((T + 1, H), dt)                            # s(t) in row t+1
    s[0] = 0.0
    gates = np.empty((T, 4 * H), dt)
    a_sig, a_tan = gates[:, sig], gates[:, tan]
    i, f, o, g = (gates[:, k] for k in (gi, gf, go, gg))
    rec = np.empty(4 * H, dt)
    tmp = np.empty(H, dt)

    # All input projections, one GEMM per block of steps on the helper thread, written
    # where the gates go (the loop turns each row into its gates in place), with x into
    # xc: the loop waits only for the first block, then finds each next one done, its
    # fresh pages already faulted in by the helper (about 1 us per 4 KiB page).
    def project(lo: int, hi: int) -> None:
        np.matmul(x[lo:hi], Wx.T, out=gates[lo:hi])
        gates[lo:hi] += b
        xc_buf[lo:hi, :X] = x[lo:hi]

    blocks = Blocks(T)
    projected = [blocks.submit(project, lo, hi) for lo, hi in blocks.ranges]
    # For the backward, meanwhile: Wh^T, unnegated (its mat-vec reads it row by row), and
    # the arrays its loop writes, their pages faulted in here rather than there.
    WhT = blocks.submit(np.ascontiguousarray, W[:, X:].T) if backward else None
    buffers = blocks.submit(_backward_buffers, T, X, H, dt) if backward else None

    # The backward's coefficients (``backward_coefficients``) of each block of steps, on
    # the helper as the loop leaves the block; A and s_out are o and s themselves for the
    # seed variant.
    held = None if plan is None else plan.clamped
    coefficients = ((o if seed else np.empty((T, H), dt)), np.empty((T, 4 * H), dt),
                    (s[1:] if seed else np.empty((T, H), dt))) if backward else None

    def coefficients_of(lo: int, hi: int) -> None:
        assert coefficients is not None                     # asked for: ``backward``
        A, C, s_out = coefficients
        backward_coefficients(i[lo:hi], f[lo:hi], o[lo:hi], g[lo:hi], s[lo + 1:hi + 1],
                              s[lo:hi], variant, out=(A[lo:hi], C[lo:hi], s_out[lo:hi]))
        if held is not None:
            C[lo:hi][held[lo:hi]] = 0.0                     # a held gate: d gate/d z = 0

    def forward_steps(lo: int, hi: int) -> None:
        """Steps lo … hi-1 of the recurrence (a block's projections are in its gates)."""
        for t in range(lo, hi):
            at, st = gates[t], s[t + 1]
            np.dot(Wh, h[t], out=rec)                       # the recurrent mat-vec
            at += rec                                       # z = Wx x + b + Wh h(t-1)
            ai, ag = a_sig[t], a_tan[t]
            np.exp(ai, out=ai)                              # i, f, o = 1 / (1 + exp(-z))
            np.add(ai, 1.0, out=ai)
            np.reciprocal(ai, out=ai)
            np.tanh(ag, out=ag)                             # g = tanh(z)
            if clamped is not None and clamp_at[t]:         # gate := its clamped value
                np.copyto(gates[t], clamp_value[t], where=clamped[t])
            np.multiply(g[t], i[t], out=st)                 # s = g*i + s_prev*f
            np.multiply(s[t], f[t], out=tmp)
            st += tmp
            if knocked is not None and knock_at[t]:         # s_j := 0 (and so h_j = 0)
                st[knocked[t]] = 0.0
            ht = h[t + 1]
            if seed:
                np.multiply(st, o[t], out=ht)               # h = s*o
            else:
                np.tanh(st, out=ht)                         # h = o*tanh(s)
                ht *= o[t]

    for (lo, hi), block_projected in zip(blocks.ranges, projected, strict=True):
        block_projected.result()                            # this block's projections
        with np.errstate(over="ignore"):                    # exp(-z) -> inf gives sigmoid 0
            forward_steps(lo, hi)
        if backward:
            blocks.submit(coefficients_of, lo, hi)
    return ForwardPass(p, variant, W, xc_buf, gates, s, plan, coefficients, WhT, buffers,
                       blocks)


def _backward_buffers(T: int, X: int, H: int, dt) -> tuple[np.ndarray, ...]:
    """The arrays the backward loop writes: top_diff_h, ds, bottom_diff_s (T, H), dz (T, 4H)
    and dxc (T, X+H), written once here (zeros) so that whoever runs this, not the loop,
    pays for their fresh pages."""
    return tuple(np.full(shape, 0.0, dt) for shape in
                 ((T, H), (T, H), (T, H), (T, 4 * H), (T, X + H)))


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
    out = loss.evaluate(_forward(p, x, variant, plan, backward=False).h, y)
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
    p, W, xc_buf, gates, s, s_before = (fwd.params, fwd.W, fwd.xc_buf, fwd.gates, fwd.s,
                                        fwd.s_before)
    assert fwd.blocks is not None and fwd.coefficients is not None, "a forward alone"
    assert fwd.WhT is not None and fwd.buffers is not None
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

    # ---- the recurrence only ---------------------------------------------------------
    top_diff_h, ds, bottom_diff_s, dz, dxc = fwd.buffers.result()
    dz4 = dz.reshape(T, 4, H)
    A, C, s_out = fwd.coefficients
    C4 = C.reshape(T, 4, H)                                 # views, never copies
    blocks = fwd.blocks
    blocks.wait()                                           # the forward's coefficients
    WhT = fwd.WhT.result()                                  # (H, 4H), unnegated

    # ---- behind it, block by block: everything that only reads what it made ----------
    top_diff_s = np.empty((T, H), dt)
    top_diff_s[-1] = 0.0
    do, di, dg, df = (np.empty((T, H), dt) for _ in range(4))
    Wx = W[:, :X]
    wdiff, part = np.zeros((4 * H, X + H), dt), np.empty((4 * H, X + H), dt)
    bdiff = np.zeros(4 * H, dt)

    def behind(lo: int, hi: int) -> None:
        """Steps lo … hi-1, whose recurrence is done (and so is that of every later step)."""
        dzb, dsb = dz[lo:hi], ds[lo:hi]
        np.matmul(dzb, Wx, out=dxc[lo:hi, :X])              # dxc[:X] = Wx^T dz
        np.matmul(dzb.T, xc[lo:hi], out=part)               # sum_t outer(dz[t], xc[t])
        np.add(wdiff, part, out=wdiff)
        np.add(bdiff, dzb.sum(axis=0), out=bdiff)
        end = min(hi, T - 1)                                # top_diff_s(T-1) = 0
        top_diff_s[lo:end] = bottom_diff_s[lo + 1:end + 1]
        np.multiply(s_out[lo:hi], top_diff_h[lo:hi], out=do[lo:hi])
        np.multiply(g[lo:hi], dsb, out=di[lo:hi])
        np.multiply(i[lo:hi], dsb, out=dg[lo:hi])
        np.multiply(s_before[lo:hi], dsb, out=df[lo:hi])

    def backward_steps(lo: int, hi: int) -> None:
        """Steps hi-1 … lo of the recurrence (every later step is done)."""
        carry_h = dxc[hi, X:] if hi < T else np.zeros(H, dt)     # dL(t+1)/dh(t)
        carry_s = bottom_diff_s[hi] if hi < T else np.zeros(H, dt)  # dL(t+1)/ds(t)
        for t in range(hi - 1, lo - 1, -1):
            tdh, dst = top_diff_h[t], ds[t]
            np.add(dl_dh[t], carry_h, out=tdh)
            np.multiply(A[t], tdh, out=dst)
            dst += carry_s
            if knocked is not None and knock_at[t]:         # s_j(t) := 0 passes nothing
                dst[knocked[t]] = 0.0
            np.multiply(C4[t], dst, out=dz4[t])             # i, f, g rows from ds …
            np.multiply(C4[t, 2], tdh, out=dz4[t, 2])       # … the o row from top_diff_h
            carry_s = bottom_diff_s[t]
            np.multiply(dst, f[t], out=carry_s)
            carry_h = dxc[t, X:]
            np.dot(WhT, dz[t], out=carry_h)
            if cut_s is not None and cut_s_at[t]:           # bottom_diff_s := 0 (cut)
                carry_s[cut_s[t]] = 0.0
            if cut_h is not None and cut_h_at[t]:           # bottom_diff_h := 0 (cut)
                carry_h[cut_h[t]] = 0.0

    for lo, hi in reversed(blocks.ranges):
        backward_steps(lo, hi)
        blocks.submit(behind, lo, hi)
    blocks.wait()
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
