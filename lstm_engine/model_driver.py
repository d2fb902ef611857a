"""The readable model: the cells of ``cell.py`` called node by node, as the debugger steps.

Forward ``for t: for l = 0…L−1``, the loss on the top layer's h, then backward ``for t =
T−1…0: for l = L−1…0``. This is the code the debugger shows for the routing between the
layers, the read-out and the embedding; ``record_model`` (``model.py``) computes the same
numbers layer by layer, and tests hold the two to 1e-12. The equations are in
``docs/equations.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .blas import single_threaded
from .cell import cell_backward, cell_forward, check_variant
from .interventions import Interventions
from .model import Model, ModelTrace, _batch_of, _plans, _prepare_model
from .params import PARAM_NAMES
from .recorder import check_interventions
from .trace import BACKWARD_NAMES, FORWARD_NAMES, Trace


@single_threaded
def run_model_stepwise(model: Model, inputs, targets, *, sequence: int | None = None,
                       dtype=None, forward_variant: str | None = None,
                       interventions: Interventions | None = None) -> ModelTrace:
    """The whole model's pass, one cell at a time; returns the same ModelTrace as
    ``record_model``. ``forward_variant`` (default: the model's) lets the forward cells
    differ from the backward ones: the deliberate bug the gradient check must catch.
    ``interventions``: each cell gets its step's ``fix``, the cuts act on what a node
    sends back in time, each layer computes with its scaled weights (docs/equations.md
    §10)."""
    m, tokens, x, y = _prepare_model(model, inputs, targets, sequence, dtype)
    fwd_variant = check_variant(forward_variant or m.variant)
    iv = check_interventions(interventions, m.hiddens, m.inputs, x.shape[0])
    x, keep = iv.input_edit(x)                               # x(t) as edited
    variant, loss = m.variant, m.loss
    T, L = x.shape[0], m.num_layers
    plans = _plans(m, iv, T)                                 # None: nothing in that layer
    layers = [p if plan is None else plan.scaled(p)          # the weights computed with
              for p, plan in zip(m.layers, plans, strict=True)]

    def fix(l: int, t: int):                                 # step t's interventions in layer l
        return None if plans[l] is None else plans[l].at(t)

    X = [p.inputs for p in layers]                           # each layer's input width

    # ---- forward: every time step, every layer bottom-up ---------------------------
    fwd: list[list[dict]] = [[{}] * T for _ in range(L)]     # fwd[l][t]: cell_forward's dict
    s_prev = [np.zeros(p.hidden, m.dtype) for p in layers]   # s(l, t-1), zero at t = 0
    h_prev = [np.zeros(p.hidden, m.dtype) for p in layers]   # h(l, t-1), zero at t = 0
    for t in range(T):
        below = x[t]                                         # layer 0 reads x(t)
        for l in range(L):
            fwd[l][t] = cell_forward(layers[l], below, s_prev[l], h_prev[l], fwd_variant,
                                     fix(l, t))
            s_prev[l] = fwd[l][t]["s"]                       # carried to (l, t+1)
            h_prev[l] = fwd[l][t]["h"]                       # carried to (l, t+1)
            below = fwd[l][t]["h"]                           # read by (l+1, t)

    # ---- the loss, on the top layer's h at every step --------------------------------
    h_top = np.array([fwd[L - 1][t]["h"] for t in range(T)])
    out = loss.evaluate(h_top, y)                            # l(t), dl(t)/dh(t), read-out

    # ---- backward: every time step from the last, every layer top-down ---------------
    bwd: list[list[dict]] = [[{}] * T for _ in range(L)]     # bwd[l][t]: cell_backward's dict
    dl_dh: list[list[Any]] = [[None] * T for _ in range(L)]  # what (l, t) gets from above
    diff = [p.zeros_like() for p in layers]                  # wg_diff … bo_diff per layer
    bottom_diff_h = [np.zeros(p.hidden, m.dtype) for p in layers]   # from (l, t+1)
    bottom_diff_s = [np.zeros(p.hidden, m.dtype) for p in layers]   # from (l, t+1)
    dE = None if tokens is None else np.zeros((m.vocab, X[0]), m.dtype)
    for t in range(T - 1, -1, -1):
        from_above = out.dl_dh[t]                            # top layer: the loss's share
        for l in range(L - 1, -1, -1):
            dl_dh[l][t] = from_above                         # loss (top) or dxc[:X] of (l+1, t)
            top_diff_h = from_above + bottom_diff_h[l]       # + dL(t+1)/dh(l, t), the carry
            top_diff_s = bottom_diff_s[l]                    # dL(t+1)/ds(l, t), the carousel
            bwd[l][t] = cell_backward(layers[l], fwd[l][t], top_diff_h, top_diff_s,
                                      diff[l], variant, fix(l, t))
            if plans[l] is not None:                         # the cuts: := 0 where they act
                plans[l].cut(t, bwd[l][t]["bottom_diff_s"], bwd[l][t]["bottom_diff_h"])
            bottom_diff_h[l] = bwd[l][t]["bottom_diff_h"]    # to (l, t-1)
            bottom_diff_s[l] = bwd[l][t]["bottom_diff_s"]    # to (l, t-1)
            from_above = bwd[l][t]["dxc"][:X[l]]             # to (l-1, t): dL/dx(l, t)
        if dE is not None:                                   # row token(t) of the embedding,
            dE[tokens[t]] += from_above if keep is None else from_above * keep[t]  # unless edited

    traces: list[Trace] = []
    for l in range(L):
        if plans[l] is not None:
            diff[l] = plans[l].unscaled_grads(diff[l])       # dL/dW = c * dL/d(cW)
        arrays = {n: np.array([st[n] for st in fwd[l]]) for n in FORWARD_NAMES}
        arrays.update({n: np.array([st[n] for st in bwd[l]]) for n in BACKWARD_NAMES})
        arrays.update(loss=out.loss, dl_dh=np.array(dl_dh[l]))
        arrays.update({f"{n}_diff": getattr(diff[l], n) for n in PARAM_NAMES})
        x_l = x if l == 0 else traces[l - 1].h
        traces.append(Trace(m.layers[l], x_l, y, arrays, variant, loss, out.param_grads,
                            interventions=iv))
    return ModelTrace(m, traces, tokens, x, y, out.loss, out.outputs, out.param_grads, dE,
                      sequence, _batch_of(model, inputs, sequence), iv)
