"""An independent reference LSTM and stacked model, written in the tests from the equations
(docs/equations.md §1–§4).

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


def _reference_loss(h_top, y, loss):
    """Per-step loss, dl/dh (T, H) and the read-out's arrays, written from the equations.

    ``loss``: {"name": "toy"} or {"name": "mse"|"xent", "wy": (K, H), "by": (K,),
    "at": "every"|"last"}. "last" takes one target (or a sequence of which the last)."""
    T, H = h_top.shape
    l, dl_dh, extra = np.zeros(T), np.zeros((T, H)), {}
    if loss["name"] == "toy":
        for t in range(T):
            l[t] = (h_top[t, 0] - y[t]) ** 2
            dl_dh[t, 0] = 2.0 * (h_top[t, 0] - y[t])
        return l, dl_dh, extra
    wy, by = loss["wy"], loss["by"]
    K = wy.shape[0]
    scored = list(range(T)) if loss["at"] == "every" else [T - 1]
    z = np.array([wy.dot(h_top[t]) + by for t in range(T)])
    dz = np.zeros((T, K))
    per_step = np.ndim(y) == (2 if loss["name"] == "mse" else 1)   # one target per step
    for t in scored:
        target = y[t] if per_step else y
        if loss["name"] == "mse":
            l[t] = np.sum((z[t] - target) ** 2) / K
            dz[t] = 2.0 * (z[t] - target) / K
        else:
            p = np.exp(z[t] - z[t].max())
            p = p / p.sum()
            l[t] = -np.log(p[int(target)])
            dz[t] = p
            dz[t, int(target)] -= 1.0
        dl_dh[t] = wy.T.dot(dz[t])
    extra["z"], extra["dz"] = z, dz
    extra["wy_diff"] = sum(np.outer(dz[t], h_top[t]) for t in range(T))
    extra["by_diff"] = dz.sum(axis=0)
    return l, dl_dh, extra


def reference_model_pass(layers: list, inputs, y, variant: str, loss: dict, E=None):
    """A stacked model node by node, from the equations (docs/equations.md).

    ``layers``: one dict of float64 arrays (wg … bo) per layer; ``inputs``: x (T, X), or
    token ids (T,) when ``E`` (V, X) is given. Returns (per-layer dicts of arrays with the
    Trace's names, model-level dict: loss, x, dE, z, dz, wy_diff, by_diff)."""
    x = E[np.asarray(inputs)] if E is not None else np.asarray(inputs, dtype=float)
    T, L = x.shape[0], len(layers)
    fwd = [[None] * T for _ in layers]
    h_prev = [np.zeros(W["bg"].shape[0]) for W in layers]
    s_prev = [np.zeros(W["bg"].shape[0]) for W in layers]
    for t in range(T):
        inp = x[t]
        for n, W in enumerate(layers):
            xc = np.concatenate([inp, h_prev[n]])
            g = np.tanh(W["wg"].dot(xc) + W["bg"])
            i = _sig(W["wi"].dot(xc) + W["bi"])
            f = _sig(W["wf"].dot(xc) + W["bf"])
            o = _sig(W["wo"].dot(xc) + W["bo"])
            s = g * i + s_prev[n] * f
            h = s * o if variant == "seed" else o * np.tanh(s)
            fwd[n][t] = dict(xc=xc, g=g, i=i, f=f, o=o, s=s, h=h, s_prev=s_prev[n])
            h_prev[n], s_prev[n] = h, s
            inp = h
    h_top = np.array([fwd[L - 1][t]["h"] for t in range(T)])
    l, dl_top, extra = _reference_loss(h_top, y, loss)
    grads = [{k: np.zeros_like(v) for k, v in W.items()} for W in layers]
    bwd = [[None] * T for _ in layers]
    dh_next = [np.zeros(W["bg"].shape[0]) for W in layers]
    ds_next = [np.zeros(W["bg"].shape[0]) for W in layers]
    dE = None if E is None else np.zeros_like(E)
    for t in reversed(range(T)):
        from_above = dl_top[t]
        for n in reversed(range(L)):
            W, st = layers[n], fwd[n][t]
            X = W["wg"].shape[1] - W["bg"].shape[0]
            tdh = from_above + dh_next[n]
            tds = ds_next[n]
            if variant == "seed":
                ds, do = st["o"] * tdh + tds, st["s"] * tdh
            else:
                th = np.tanh(st["s"])
                ds, do = st["o"] * (1.0 - th * th) * tdh + tds, th * tdh
            di, dg, df = st["g"] * ds, st["i"] * ds, st["s_prev"] * ds
            d = {"i": st["i"] * (1 - st["i"]) * di, "f": st["f"] * (1 - st["f"]) * df,
                 "o": st["o"] * (1 - st["o"]) * do, "g": (1 - st["g"] ** 2) * dg}
            for k, dk in d.items():
                grads[n]["w" + k] += np.outer(dk, st["xc"])
                grads[n]["b" + k] += dk
            dxc = sum(W["w" + k].T.dot(dk) for k, dk in d.items())
            bwd[n][t] = dict(dl_dh=from_above, top_diff_h=tdh, top_diff_s=tds, ds=ds, do=do,
                             di=di, dg=dg, df=df, di_input=d["i"], df_input=d["f"],
                             do_input=d["o"], dg_input=d["g"], dxc=dxc,
                             bottom_diff_s=ds * st["f"], bottom_diff_h=dxc[X:])
            dh_next[n], ds_next[n] = dxc[X:], ds * st["f"]
            from_above = dxc[:X]
        if dE is not None:
            dE[inputs[t]] += from_above
    per_layer = []
    for n in range(L):
        arrays = {k: np.array([st[k] for st in fwd[n]])
                  for k in ("xc", "g", "i", "f", "o", "s", "h")}
        arrays.update({k: np.array([b[k] for b in bwd[n]]) for k in bwd[n][0]})
        arrays["loss"] = l
        arrays.update({f"{k}_diff": v for k, v in grads[n].items()})
        per_layer.append(arrays)
    return per_layer, dict(loss=l, x=x, dE=dE, **extra)


def _edited(x, edits):
    """x(t)_k := 0, := value or += value, in order."""
    x = np.array(x, dtype=float)
    for mode, value, steps, inputs in edits:
        for t in steps:
            for k in inputs:
                x[t, k] = 0.0 if mode == "zero" else (value if mode == "set" else x[t, k] + value)
    return x


def _scale_rows(W: dict, X: int, n: int, scales) -> None:
    """Wk[j, x or h columns] *= factor, in place, for layer n's scalings."""
    for layer, gate, part, factor, units in scales:
        if layer == n:
            cols = slice(0, X) if part == "x" else slice(X, None)
            for j in units:
                W["w" + gate][j, cols] *= factor


def reference_intervened_pass(layers: list, x, y, variant: str, changes: dict):  # noqa: C901, PLR0912, PLR0915 - one plain pass read top to bottom like the equations
    """A stacked model with the toy loss and interventions, node by node from the equations
    of docs/equations.md §10, with nothing from lstm_engine.

    ``changes`` is plain data, every list optional; steps, units and inputs are lists of
    indices, ``layer`` an index:
      clamp: (layer, gate, value, steps, units)        gate(t)_j := value
      knock: (layer, steps, units)                     s_j(t) := 0, h_j(t) := 0
      edit:  (mode, value, steps, inputs)              x(t)_k := 0 / := value / += value
      scale: (layer, gate, part, factor, units)        Wk[j, x or h columns] *= factor
      cut:   (layer, path, steps, units)               bottom_diff_h / _s (t)_j := 0
    Returns per-layer dicts of arrays with the Trace's names (gradients with respect to
    the unscaled weights)."""
    x = _edited(x, changes.get("edit", []))
    T, L = x.shape[0], len(layers)
    Hs = [W["bg"].shape[0] for W in layers]
    Xs = [W["wg"].shape[1] - H for W, H in zip(layers, Hs, strict=True)]
    used = []                                   # the weights each layer computes with
    for n, W in enumerate(layers):
        Wn = {k: v.copy() for k, v in W.items()}
        _scale_rows(Wn, Xs[n], n, changes.get("scale", []))
        used.append(Wn)

    def clamped(n, t, gate):
        out = {}
        for layer, g, value, steps, units in changes.get("clamp", []):
            if layer == n and g == gate and t in steps:
                out.update({j: value for j in units})
        return out

    def knocked(n, t):
        return {j for layer, steps, units in changes.get("knock", [])
                if layer == n and t in steps for j in units}

    def cut(n, t, path):
        return {j for layer, p, steps, units in changes.get("cut", [])
                if layer == n and p == path and t in steps for j in units}

    fwd = [[None] * T for _ in layers]
    h_prev, s_prev = [np.zeros(H) for H in Hs], [np.zeros(H) for H in Hs]
    for t in range(T):
        inp = x[t]
        for n, W in enumerate(used):
            xc = np.concatenate([inp, h_prev[n]])
            gates = {"g": np.tanh(W["wg"].dot(xc) + W["bg"]),
                     "i": _sig(W["wi"].dot(xc) + W["bi"]),
                     "f": _sig(W["wf"].dot(xc) + W["bf"]),
                     "o": _sig(W["wo"].dot(xc) + W["bo"])}
            for k in gates:
                for j, value in clamped(n, t, k).items():
                    gates[k][j] = value
            g, i, f, o = gates["g"], gates["i"], gates["f"], gates["o"]
            s = g * i + s_prev[n] * f
            for j in knocked(n, t):
                s[j] = 0.0
            h = s * o if variant == "seed" else o * np.tanh(s)
            for j in knocked(n, t):
                h[j] = 0.0
            fwd[n][t] = dict(xc=xc, g=g, i=i, f=f, o=o, s=s, h=h, s_prev=s_prev[n])
            h_prev[n], s_prev[n] = h, s
            inp = h
    h_top = np.array([fwd[L - 1][t]["h"] for t in range(T)])
    loss = (h_top[:, 0] - np.asarray(y)) ** 2
    grads = [{k: np.zeros_like(v) for k, v in W.items()} for W in layers]
    bwd = [[None] * T for _ in layers]
    dh_next, ds_next = [np.zeros(H) for H in Hs], [np.zeros(H) for H in Hs]
    for t in reversed(range(T)):
        from_above = np.zeros(Hs[-1])
        from_above[0] = 2.0 * (h_top[t, 0] - y[t])
        for n in reversed(range(L)):
            W, st, X = used[n], fwd[n][t], Xs[n]
            tdh, tds = from_above + dh_next[n], ds_next[n]
            if variant == "seed":
                ds, do = st["o"] * tdh + tds, st["s"] * tdh
            else:
                th = np.tanh(st["s"])
                ds, do = st["o"] * (1.0 - th * th) * tdh + tds, th * tdh
            for j in knocked(n, t):
                ds[j] = 0.0
            di, dg, df = st["g"] * ds, st["i"] * ds, st["s_prev"] * ds
            d = {"i": st["i"] * (1 - st["i"]) * di, "f": st["f"] * (1 - st["f"]) * df,
                 "o": st["o"] * (1 - st["o"]) * do, "g": (1 - st["g"] ** 2) * dg}
            for k in d:
                for j in clamped(n, t, k):
                    d[k][j] = 0.0
            for k, dk in d.items():
                grads[n]["w" + k] += np.outer(dk, st["xc"])
                grads[n]["b" + k] += dk
            dxc = sum(W["w" + k].T.dot(dk) for k, dk in d.items())
            bds, bdh = ds * st["f"], dxc[X:].copy()
            for j in cut(n, t, "s"):
                bds[j] = 0.0
            for j in cut(n, t, "h"):
                bdh[j] = 0.0
            dxc[X:] = bdh
            bwd[n][t] = dict(dl_dh=from_above, top_diff_h=tdh, top_diff_s=tds, ds=ds, do=do,
                             di=di, dg=dg, df=df, di_input=d["i"], df_input=d["f"],
                             do_input=d["o"], dg_input=d["g"], dxc=dxc,
                             bottom_diff_s=bds, bottom_diff_h=bdh)
            dh_next[n], ds_next[n] = bdh, bds
            from_above = dxc[:X]
    for n in range(L):                                       # d(cW)/dW = c
        _scale_rows(grads[n], Xs[n], n, changes.get("scale", []))
    per_layer = []
    for n in range(L):
        arrays = {k: np.array([st[k] for st in fwd[n]])
                  for k in ("xc", "g", "i", "f", "o", "s", "h")}
        arrays.update({k: np.array([b[k] for b in bwd[n]]) for k in bwd[n][0]})
        arrays["loss"] = loss
        arrays.update({f"{k}_diff": v for k, v in grads[n].items()})
        per_layer.append(arrays)
    return per_layer
