"""The readable LSTM cell: one time step forward and one step backward.

This is the code the debugger displays and steps through, one statement per line, in
the source document's order and with its names. The fast recorder (``recorder.py``)
computes the same quantities for whole sequences and is held to this code by tests.

Forward, with ``xc = [x, h_prev]`` (x first)::

    g = tanh(Wg xc + bg)   i = sigmoid(Wi xc + bi)   f = sigmoid(Wf xc + bf)
    o = sigmoid(Wo xc + bo)
    s = g*i + s_prev*f                    # the constant error carousel
    h = s*o            (variant "seed")   h = o*tanh(s)   (variant "standard")

Backward, given ``top_diff_h`` = dL/dh(t) in total and ``top_diff_s`` = dL(t+1)/ds(t)::

    ds = o*top_diff_h + top_diff_s        (standard: o*(1-tanh(s)^2)*top_diff_h + top_diff_s)
    do = s*top_diff_h                     (standard: tanh(s)*top_diff_h)
    di = g*ds   dg = i*ds   df = s_prev*ds
    di_input = i(1-i) di   df_input = f(1-f) df   do_input = o(1-o) do   dg_input = (1-g^2) dg
    wk_diff += outer(dk_input, xc)   bk_diff += dk_input          for k in i, f, o, g
    dxc = Wi^T di_input + Wf^T df_input + Wo^T do_input + Wg^T dg_input
    bottom_diff_s = ds*f                  bottom_diff_h = dxc[X:]

An intervened pass (docs/equations.md §10) hands each step its ``fix``
(``interventions.StepPlan``): clamped gates are held (and pass no gradient to their
pre-activations), knocked-out units have s = 0 (so h = 0) and pass no ds back.
"""

from __future__ import annotations

import numpy as np

from .params import Params

VARIANTS = ("seed", "standard")

# The statements of each function below, in execution order: the debugger's sub-frames.
FORWARD_STATEMENTS = ("xc", "g", "i", "f", "o", "s", "h")
BACKWARD_STATEMENTS = (
    "ds", "do", "di", "dg", "df",
    "di_input", "df_input", "do_input", "dg_input",
    "wi_diff", "wf_diff", "wo_diff", "wg_diff",
    "bi_diff", "bf_diff", "bo_diff", "bg_diff",
    "dxc", "bottom_diff_s", "bottom_diff_h",
)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function 1/(1+e^-z); exp(-z) overflowing to inf gives the right limit 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant


def cell_forward(p: Params, x, s_prev, h_prev, variant: str = "seed", fix=None) -> dict:
    """One forward step; returns every quantity it computed, by the seed's name.
    ``fix``: this step's interventions (None for an ordinary pass)."""
    seed = check_variant(variant) == "seed"
    xc = np.hstack((x, h_prev))
    g = np.tanh(p.wg @ xc + p.bg)
    i = sigmoid(p.wi @ xc + p.bi)
    f = sigmoid(p.wf @ xc + p.bf)
    o = sigmoid(p.wo @ xc + p.bo)
    if fix is not None:                              # clamped gates hold their values
        g, i, f, o = (fix.gate(k, v) for k, v in (("g", g), ("i", i), ("f", f), ("o", o)))
    s = g * i + s_prev * f
    if fix is not None:
        s = fix.knock(s)                             # knocked-out units: s = 0, so h = 0
    h = s * o if seed else o * np.tanh(s)
    return dict(xc=xc, g=g, i=i, f=f, o=o, s=s, h=h, s_prev=s_prev, h_prev=h_prev)


def cell_backward(p: Params, fwd: dict, top_diff_h, top_diff_s, diff: Params,
                  variant: str = "seed", fix=None) -> dict:
    """One backward step in the seed's order; adds this step's gradients into ``diff``.

    ``fwd`` is what ``cell_forward`` returned for this step. Returns every quantity
    the step computed, by the seed's name. ``fix``: this step's interventions, as
    ``cell_forward`` had them.
    """
    seed = check_variant(variant) == "seed"
    xc, g, i, f, o, s, s_prev = (fwd[k] for k in ("xc", "g", "i", "f", "o", "s", "s_prev"))
    ds = (o if seed else o * (1 - np.tanh(s) ** 2)) * top_diff_h + top_diff_s
    if fix is not None:
        ds = fix.knock(ds)                           # a knocked-out s passes nothing back
    do = (s if seed else np.tanh(s)) * top_diff_h
    di = g * ds
    dg = i * ds
    df = s_prev * ds
    di_input = (1.0 - i) * i * di
    df_input = (1.0 - f) * f * df
    do_input = (1.0 - o) * o * do
    dg_input = (1.0 - g**2) * dg
    if fix is not None:                              # a held gate: no gradient to its input
        di_input, df_input, do_input, dg_input = (fix.gate_input_grad(k, d) for k, d in (
            ("i", di_input), ("f", df_input), ("o", do_input), ("g", dg_input)))
    diff.wi += np.outer(di_input, xc)
    diff.wf += np.outer(df_input, xc)
    diff.wo += np.outer(do_input, xc)
    diff.wg += np.outer(dg_input, xc)
    diff.bi += di_input
    diff.bf += df_input
    diff.bo += do_input
    diff.bg += dg_input
    dxc = p.wi.T @ di_input + p.wf.T @ df_input + p.wo.T @ do_input + p.wg.T @ dg_input
    bottom_diff_s = ds * f
    bottom_diff_h = dxc[len(xc) - len(s):]
    return dict(
        top_diff_h=top_diff_h, top_diff_s=top_diff_s, ds=ds, do=do, di=di, dg=dg, df=df,
        di_input=di_input, df_input=df_input, do_input=do_input, dg_input=dg_input,
        dxc=dxc, bottom_diff_s=bottom_diff_s, bottom_diff_h=bottom_diff_h,
    )
