"""A baseline written the way the source document's code is: one Python object per time
step holding its own state arrays, ``np.outer`` per step for each weight gradient.

Used only by the benchmarks, to measure the engine against in the same run.
"""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class _State:
    def __init__(self, hidden, xc_len):
        self.g = np.zeros(hidden)
        self.i = np.zeros(hidden)
        self.f = np.zeros(hidden)
        self.o = np.zeros(hidden)
        self.s = np.zeros(hidden)
        self.h = np.zeros(hidden)
        self.bottom_diff_h = np.zeros_like(self.h)
        self.bottom_diff_s = np.zeros_like(self.s)


class _Param:
    def __init__(self, p):
        for name in ("wg", "wi", "wf", "wo", "bg", "bi", "bf", "bo"):
            setattr(self, name, getattr(p, name))
            setattr(self, name + "_diff", np.zeros_like(getattr(p, name)))


class _Node:
    def __init__(self, param, state):
        self.param, self.state = param, state

    def bottom_data_is(self, x, s_prev, h_prev):
        p, st = self.param, self.state
        self.s_prev, self.h_prev = s_prev, h_prev
        xc = np.hstack((x, h_prev))
        st.g = np.tanh(np.dot(p.wg, xc) + p.bg)
        st.i = _sigmoid(np.dot(p.wi, xc) + p.bi)
        st.f = _sigmoid(np.dot(p.wf, xc) + p.bf)
        st.o = _sigmoid(np.dot(p.wo, xc) + p.bo)
        st.s = st.g * st.i + s_prev * st.f
        st.h = st.s * st.o
        self.xc = xc

    def top_diff_is(self, top_diff_h, top_diff_s):
        p, st = self.param, self.state
        ds = st.o * top_diff_h + top_diff_s
        do = st.s * top_diff_h
        di = st.g * ds
        dg = st.i * ds
        df = self.s_prev * ds
        di_input = (1.0 - st.i) * st.i * di
        df_input = (1.0 - st.f) * st.f * df
        do_input = (1.0 - st.o) * st.o * do
        dg_input = (1.0 - st.g ** 2) * dg
        p.wi_diff += np.outer(di_input, self.xc)
        p.wf_diff += np.outer(df_input, self.xc)
        p.wo_diff += np.outer(do_input, self.xc)
        p.wg_diff += np.outer(dg_input, self.xc)
        p.bi_diff += di_input
        p.bf_diff += df_input
        p.bo_diff += do_input
        p.bg_diff += dg_input
        dxc = np.zeros_like(self.xc)
        dxc += np.dot(p.wi.T, di_input)
        dxc += np.dot(p.wf.T, df_input)
        dxc += np.dot(p.wo.T, do_input)
        dxc += np.dot(p.wg.T, dg_input)
        st.bottom_diff_s = ds * st.f
        st.bottom_diff_h = dxc[len(self.xc) - len(st.s):]


def seed_style_pass(params, x, y):
    """Forward and backward over x (T, X) with the toy loss; returns (loss, param holder)."""
    p = _Param(params)
    hidden = params.hidden
    nodes = []
    s_prev = h_prev = np.zeros(hidden)
    for xt in x:
        node = _Node(p, _State(hidden, x.shape[1] + hidden))
        node.bottom_data_is(xt, s_prev, h_prev)
        nodes.append(node)
        s_prev, h_prev = node.state.s, node.state.h
    loss = 0.0
    top_diff_h_next = np.zeros(hidden)
    top_diff_s = np.zeros(hidden)
    for t in range(len(nodes) - 1, -1, -1):
        h = nodes[t].state.h
        loss += (h[0] - y[t]) ** 2
        diff_h = np.zeros_like(h)
        diff_h[0] = 2 * (h[0] - y[t])
        nodes[t].top_diff_is(diff_h + top_diff_h_next, top_diff_s)
        top_diff_h_next = nodes[t].state.bottom_diff_h
        top_diff_s = nodes[t].state.bottom_diff_s
    return loss, p
