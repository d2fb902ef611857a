"""A trace read from a file holds each recorded value once, as the recorder's trace does:
the gate gradients in one (T, 4H) buffer, xc / h / x in one buffer and bottom_diff_h a
view of dxc, where the file's copies hold exactly those bits; a file whose copies differ
shows what it recorded."""

import numpy as np
import pytest

from lstm_engine import GRAD_NAMES, STEP_NAMES, init_uniform, io, record
from lstm_engine.model import Model, record_model


def recorded(dtype="float64", T=7, X=3, H=5):
    rng = np.random.default_rng(1)
    return record(init_uniform(X, H, rng), rng.standard_normal((T, X)), rng.standard_normal(T),
                  "seed", dtype=dtype)


def bits(a):
    a = np.asarray(a)
    return a.view(f"u{a.itemsize}")


def same_trace(back, tr):
    for name in STEP_NAMES + GRAD_NAMES:
        np.testing.assert_array_equal(bits(back[name]), bits(tr[name]), err_msg=name)
    np.testing.assert_array_equal(bits(back.x), bits(tr.x))
    np.testing.assert_array_equal(bits(back.dz), bits(tr.dz))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_loaded_trace_holds_what_the_recorded_one_holds(tmp_path, dtype):
    tr = recorded(dtype)
    io.save_trace(tmp_path / "t.npz", tr)
    back = io.load_trace(tmp_path / "t.npz")
    same_trace(back, tr)
    # one buffer each: the gate gradients are views of dz (no second copy on first use)
    for k in "ifog":
        assert np.shares_memory(back[f"d{k}_input"], back.dz)
    assert np.shares_memory(back.xc, back.h) and np.shares_memory(back.xc, back.x)
    assert np.shares_memory(back.bottom_diff_h, back.dxc)
    assert back.nbytes <= tr.nbytes                    # no more than the recorder holds


def test_a_file_whose_copies_differ_shows_what_it_recorded(tmp_path):
    tr = recorded()
    io.save_trace(tmp_path / "t.npz", tr)
    arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
    arrays["xc"] = np.array(arrays["xc"])
    arrays["xc"][3, -1] += 1.0                       # h(2) as xc holds it differs from h
    arrays["xc"][0, -2] = -0.0                       # the sign of a zero is a difference too
    arrays["bottom_diff_h"] = np.array(arrays["bottom_diff_h"])
    arrays["bottom_diff_h"][1, 0] = np.nan
    io.save_npz_atomic(tmp_path / "t.npz", arrays)
    back = io.load_trace(tmp_path / "t.npz")
    np.testing.assert_array_equal(bits(back.xc), bits(arrays["xc"]))
    np.testing.assert_array_equal(bits(back.h), bits(tr.h))
    assert np.isnan(back.bottom_diff_h[1, 0]) and not np.isnan(back.dxc[1, tr.inputs])
    assert not np.shares_memory(back.xc, back.h)
    assert not np.shares_memory(back.bottom_diff_h, back.dxc)


def test_a_format_2_trace_shares_its_gate_gradients(tmp_path):
    rng = np.random.default_rng(2)
    m = Model([init_uniform(3, 4, rng), init_uniform(4, 4, rng)])
    mt = record_model(m, rng.standard_normal((6, 3)), rng.standard_normal(6))
    io.save_model_trace(tmp_path / "m.npz", mt)
    back = io.load_model_trace(tmp_path / "m.npz")
    for layer, want in zip(back.layers, mt.layers, strict=True):
        same_trace(layer, want)
        assert all(np.shares_memory(layer[f"d{k}_input"], layer.dz) for k in "ifog")


@pytest.mark.parametrize("dtype", ["float64", "float32", ">f8"])
def test_a_trace_is_read_into_its_buffers_and_not_copied_together_after(tmp_path, monkeypatch,
                                                                         dtype):
    """The gate gradients and xc are read straight into the buffers the trace keeps
    (``place_trace_v1``): no (T, 4H) concatenation and no second xc buffer afterwards (a
    transient copy of them stayed in the process's resident memory), big-endian files
    too."""
    tr = recorded("float64" if dtype == ">f8" else dtype)
    io.save_trace(tmp_path / "t.npz", tr)
    if dtype == ">f8":                              # the same file, written big-endian
        arrays = io.read_npz(tmp_path / "t.npz", kinds={"meta": "U"})
        io.save_npz_atomic(tmp_path / "t.npz", {k: v.astype(v.dtype.newbyteorder(">"))
                                                if v.dtype.kind == "f" else v
                                                for k, v in arrays.items()})
    placed = {}
    real = io.place_trace_v1

    def spy(headers):
        placed.update(real(headers))
        return placed

    def no_stacking(_):
        raise AssertionError("the gate gradients were copied together after reading")
    monkeypatch.setattr(io, "place_trace_v1", spy)
    monkeypatch.setattr(io, "stack_gate_gradients", no_stacking)
    for load in (io.load_trace, lambda p: io.load_model_trace(p).layers[0]):
        placed.clear()
        back = load(tmp_path / "t.npz")
        same_trace(back, tr)
        assert np.shares_memory(back.dz, placed["di_input"])
        assert np.shares_memory(back.h, placed["xc"]) and np.shares_memory(back.x, placed["xc"])
