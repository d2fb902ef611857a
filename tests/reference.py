"""An independent reference LSTM, written in the tests from docs/equations.md.

Deliberately plain: one Python loop per direction, explicit per-step dictionaries, the
sigmoid as 1/(1+exp(-z)), nothing imported from lstm_engine. The engine is held to it.
"""

import numpy as np


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_pass(W: dict, x: np.ndarray, y: np.ndarray, variant: str):
    """W maps wg wi wf wo bg bi bf bo to float64 arrays; loss is sum_t (h_t[0]-y_t)^2."""
    T, X = x.shape
    H = W["bg"].shape[0]
    fwd = []
    h_prev, s_prev = np.zeros(H), np.zeros(H)
    for t in range(T):
        xc = np.concatenate([x[t], h_prev])
        g = np.tanh(W["wg"].dot(xc) + W["bg"])
        i = _sig(W["wi"].dot(xc) + W["bi"])
        f = _sig(W["wf"].dot(xc) + W["bf"])
        o = _sig(W["wo"].dot(xc) + W["bo"])
        s = g * i + s_prev * f
        h = s * o if variant == "seed" else o * np.tanh(s)
        fwd.append(dict(xc=xc, g=g, i=i, f=f, o=o, s=s, h=h, s_prev=s_prev))
        h_prev, s_prev = h, s
    loss = np.array([(st["h"][0] - y[t]) ** 2 for t, st in enumerate(fwd)])
    grads = {k: np.zeros_like(v) for k, v in W.items()}
    bwd = [None] * T
    dh_next, ds_next = np.zeros(H), np.zeros(H)
    for t in reversed(range(T)):
        st = fwd[t]
        dl = np.zeros(H)
        dl[0] = 2.0 * (st["h"][0] - y[t])
        tdh = dl + dh_next
        tds = ds_next
        if variant == "seed":
            ds = st["o"] * tdh + tds
            do = st["s"] * tdh
        else:
            th = np.tanh(st["s"])
            ds = st["o"] * (1.0 - th * th) * tdh + tds
            do = th * tdh
        di, dg, df = st["g"] * ds, st["i"] * ds, st["s_prev"] * ds
        di_in = st["i"] * (1 - st["i"]) * di
        df_in = st["f"] * (1 - st["f"]) * df
        do_in = st["o"] * (1 - st["o"]) * do
        dg_in = (1 - st["g"] ** 2) * dg
        for k, d in (("i", di_in), ("f", df_in), ("o", do_in), ("g", dg_in)):
            grads["w" + k] += np.outer(d, st["xc"])
            grads["b" + k] += d
        dxc = (W["wi"].T.dot(di_in) + W["wf"].T.dot(df_in) + W["wo"].T.dot(do_in)
               + W["wg"].T.dot(dg_in))
        bwd[t] = dict(top_diff_h=tdh, top_diff_s=tds, ds=ds, do=do, di=di, dg=dg, df=df,
                      di_input=di_in, df_input=df_in, do_input=do_in, dg_input=dg_in,
                      dxc=dxc, bottom_diff_s=ds * st["f"], bottom_diff_h=dxc[X:])
        dh_next, ds_next = dxc[X:], ds * st["f"]
    arrays = {k: np.array([st[k] for st in fwd]) for k in ("xc", "g", "i", "f", "o", "s", "h")}
    arrays.update({k: np.array([b[k] for b in bwd]) for k in bwd[0]})
    arrays["loss"] = loss
    arrays.update({f"{k}_diff": v for k, v in grads.items()})
    return arrays
