"""nn.LSTM weights in and out of the ``standard`` variant.

The .npz path and an independent numpy rendering of PyTorch's documented LSTM equations
are tested always; the comparison with torch itself only where torch is installed.
"""

import sys

import numpy as np
import pytest

from lstm_engine import PARAM_NAMES, record
from lstm_engine.cli import main
from lstm_engine.errors import UserError
from lstm_engine.io import load_params, save_params
from lstm_engine.losses import ReadoutMSE, ToyLoss
from lstm_engine.torch_io import (
    TORCH_KEYS,
    load_torch,
    params_from_torch,
    params_to_torch,
    save_torch,
)

X, H, T = 3, 4, 7


def _torch_layout(seed=0, prefix=""):
    rng = np.random.default_rng(seed)
    return {prefix + "weight_ih_l0": rng.normal(0, 0.5, (4 * H, X)),
            prefix + "weight_hh_l0": rng.normal(0, 0.5, (4 * H, H)),
            prefix + "bias_ih_l0": rng.normal(0, 0.3, 4 * H),
            prefix + "bias_hh_l0": rng.normal(0, 0.3, 4 * H)}


def _torch_equations(a, x):
    """PyTorch's nn.LSTM as its documentation writes it, from the raw arrays."""
    def sig(z):
        return 1 / (1 + np.exp(-z))
    h, c, out = np.zeros(H), np.zeros(H), []
    for xt in x:
        gates = a["weight_ih_l0"] @ xt + a["bias_ih_l0"] + a["weight_hh_l0"] @ h + a["bias_hh_l0"]
        i, f, g, o = (gates[k * H:(k + 1) * H] for k in range(4))
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def test_import_maps_gates_i_f_g_o_and_sums_the_biases(tmp_path):
    a = _torch_layout()
    np.savez(tmp_path / "m.npz", **a)
    p = load_torch(tmp_path / "m.npz")
    assert (p.inputs, p.hidden) == (X, H)
    for k, gate in enumerate("ifgo"):
        rows = slice(k * H, (k + 1) * H)
        np.testing.assert_array_equal(getattr(p, f"w{gate}"),
                                      np.hstack([a["weight_ih_l0"][rows], a["weight_hh_l0"][rows]]))
        np.testing.assert_array_equal(getattr(p, f"b{gate}"),
                                      a["bias_ih_l0"][rows] + a["bias_hh_l0"][rows])


def test_standard_variant_with_imported_weights_follows_torchs_equations():
    a = _torch_layout(1)
    x = np.random.default_rng(2).standard_normal((T, X))
    trace = record(params_from_torch(a), x, np.zeros(T), "standard")
    np.testing.assert_allclose(trace.h, _torch_equations(a, x), rtol=1e-12, atol=1e-14)


def test_export_round_trip_through_npz(tmp_path):
    p = params_from_torch(_torch_layout(3))
    save_torch(tmp_path / "out.npz", p)
    with np.load(tmp_path / "out.npz", allow_pickle=False) as f:
        assert sorted(f.files) == sorted(TORCH_KEYS)
        assert np.all(f["bias_hh_l0"] == 0)
        np.testing.assert_array_equal(f["bias_ih_l0"], np.concatenate([p.bi, p.bf, p.bg, p.bo]))
    again = load_torch(tmp_path / "out.npz")
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(again, name), getattr(p, name))


def test_a_prefixed_state_dict_and_float32_are_accepted():
    a = {k: v.astype(np.float32) for k, v in _torch_layout(prefix="encoder.lstm.").items()}
    a["decoder.weight"] = np.zeros((2, H), np.float32)
    p = params_from_torch(a)
    assert p.dtype == np.float32 and p.hidden == H
    assert params_to_torch(p)["weight_hh_l0"].shape == (4 * H, H)


def _with_unrelated_entries(a):
    """A larger model's state dict: the LSTM beside entries that only look related."""
    return {**a, "bn.num_batches_tracked": np.array(7, np.int64),
            "bn.running_mean": np.zeros(H, np.float32), "mask": np.ones(3, bool),
            "conv_l1.weight": np.ones((2, 2)), "head_reverse.bias": np.zeros(2),
            "my_weight_hr_l0_copy": np.zeros(2), "rotation": np.ones(2, np.complex128)}


def test_unrelated_entries_of_any_dtype_are_ignored_in_an_npz(tmp_path):
    a = _torch_layout(prefix="enc.")
    pickled = np.array([{"label": 1}, None], dtype=object)    # never read, never unpickled
    np.savez(tmp_path / "m.npz", **_with_unrelated_entries(a), labels=pickled)
    p = load_torch(tmp_path / "m.npz")
    np.testing.assert_array_equal(p.wi, params_from_torch(a).wi)


def test_the_lstms_own_arrays_must_be_floating_point(tmp_path):
    a = _torch_layout()
    a["weight_hh_l0"] = np.ones((4 * H, H), np.int64)
    np.savez(tmp_path / "m.npz", **a)
    with pytest.raises(UserError, match="weight_hh_l0 has dtype int64, expected floating point"):
        load_torch(tmp_path / "m.npz")


@pytest.mark.parametrize("change,message", [
    (lambda a: a.pop("bias_hh_l0"), "no bias_hh_l0"),
    (lambda a: a.update(weight_ih_l1=a["weight_ih_l0"]), "more than one layer"),
    (lambda a: a.update({"lstm.weight_hh_l3": a["weight_hh_l0"]}), "more than one layer"),
    (lambda a: a.update(weight_ih_l0_reverse=a["weight_ih_l0"]), "bidirectional"),
    (lambda a: a.update(weight_hr_l0=np.zeros((H, 2))), "a projection"),
    (lambda a: a.update(weight_hh_l0=np.zeros((4 * H, H + 1))), "(4H, H)"),
    (lambda a: a.update(bias_ih_l0=np.zeros(3)), "bias_ih_l0 must have shape"),
    (lambda a: a.update(weight_ih_l0=np.full((4 * H, X), np.nan)), "NaN"),
])
def test_what_is_not_a_single_layer_lstm_is_refused(tmp_path, change, message):
    a = _torch_layout()
    change(a)
    np.savez(tmp_path / "bad.npz", **a)
    with pytest.raises(UserError) as info:
        load_torch(tmp_path / "bad.npz")
    assert message in str(info.value) and "bad.npz" in str(info.value)
    assert "\n" not in str(info.value)


def test_pt_files_without_torch_get_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)     # makes "import torch" fail
    (tmp_path / "m.pt").write_bytes(b"")
    with pytest.raises(UserError, match="needs PyTorch.*npz"):
        load_torch(tmp_path / "m.pt")
    with pytest.raises(UserError, match="needs PyTorch"):
        save_torch(tmp_path / "out.pt", params_from_torch(_torch_layout()))
    with pytest.raises(UserError, match="expected a .pt"):
        load_torch(tmp_path / "m.h5")


def test_import_and_export_commands(tmp_path, capsys):
    np.savez(tmp_path / "m.npz", **_torch_layout(4))
    assert main(["import-torch", str(tmp_path / "m.npz"), "-o", str(tmp_path / "p.npz")]) == 0
    p = load_params(tmp_path / "p.npz")
    np.testing.assert_array_equal(p.wf, load_torch(tmp_path / "m.npz").wf)
    save_params(tmp_path / "p2.npz", p)
    assert main(["export-torch", str(tmp_path / "p2.npz"), "-o", str(tmp_path / "b.npz")]) == 0
    np.testing.assert_array_equal(load_torch(tmp_path / "b.npz").bg, p.bg)
    assert main(["import-torch", str(tmp_path / "absent.npz"), "-o", "x.npz"]) == 2
    assert "absent.npz" in capsys.readouterr().err


# ---- against torch itself ------------------------------------------------------------

torch_reason = "PyTorch is not installed (optional extra: pip install 'lstm-viz[torch]')"


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason=torch_reason)


def _torch_lstm(torch, seed=0):
    torch.manual_seed(seed)
    return torch.nn.LSTM(X, H, dtype=torch.float64)


def _engine_grads_in_torch_layout(trace):
    w = np.vstack([trace[f"w{g}_diff"] for g in "ifgo"])
    b = np.concatenate([trace[f"b{g}_diff"] for g in "ifgo"])
    return {"weight_ih_l0": w[:, :X], "weight_hh_l0": w[:, X:], "bias_ih_l0": b,
            "bias_hh_l0": b}


def test_engine_reproduces_nn_lstm_outputs_and_gradients(torch, tmp_path):
    lstm = _torch_lstm(torch)
    torch.save(lstm.state_dict(), tmp_path / "m.pt")
    params = load_torch(tmp_path / "m.pt")
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((T, X)), rng.standard_normal(T)

    h, _ = lstm(torch.from_numpy(x))                    # unbatched (T, X) -> (T, H)
    loss = ((h[:, 0] - torch.from_numpy(y)) ** 2).sum()   # the seed's toy loss
    loss.backward()
    trace = record(params, x, y, "standard", ToyLoss())
    np.testing.assert_allclose(trace.h, h.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert trace.total_loss == pytest.approx(loss.item(), rel=1e-12)
    for key, g in _engine_grads_in_torch_layout(trace).items():
        np.testing.assert_allclose(g, getattr(lstm, key).grad.numpy(), rtol=1e-10, atol=1e-13)


def test_readout_gradients_match_a_torch_linear_layer(torch):
    lstm = _torch_lstm(torch, 1)
    head = torch.nn.Linear(H, 2, dtype=torch.float64)
    params = params_from_torch(lstm.state_dict())
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((T, X)), rng.standard_normal(2)
    h, _ = lstm(torch.from_numpy(x))
    loss = ((head(h[-1]) - torch.from_numpy(y)) ** 2).mean()   # mse at the last step
    loss.backward()
    readout = ReadoutMSE(head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy(),
                         "last")
    trace = record(params, x, y, "standard", readout)
    assert trace.total_loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(trace.loss_grads["wy_diff"], head.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(trace.loss_grads["by_diff"], head.bias.grad.numpy(), rtol=1e-10)
    for key, g in _engine_grads_in_torch_layout(trace).items():
        np.testing.assert_allclose(g, getattr(lstm, key).grad.numpy(), rtol=1e-10, atol=1e-13)


def test_pt_and_npz_accept_and_refuse_the_same_state_dicts(torch, tmp_path):
    a = _with_unrelated_entries(_torch_layout(9, prefix="enc."))
    np.savez(tmp_path / "m.npz", **a)
    torch.save({k: torch.from_numpy(v) for k, v in a.items()}, tmp_path / "m.pt")
    from_npz, from_pt = load_torch(tmp_path / "m.npz"), load_torch(tmp_path / "m.pt")
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(from_pt, name), getattr(from_npz, name))
    a["enc.bias_ih_l0"] = np.ones(4 * H, np.int64)            # the LSTM's own: refused
    np.savez(tmp_path / "bad.npz", **a)
    torch.save({k: torch.from_numpy(v) for k, v in a.items()}, tmp_path / "bad.pt")
    for name in ("bad.npz", "bad.pt"):
        with pytest.raises(UserError, match=f"{name}: bias_ih_l0 has dtype int64, expected"):
            load_torch(tmp_path / name)


def test_exported_pt_loads_into_nn_lstm(torch, tmp_path):
    params = params_from_torch(_torch_layout(7))
    save_torch(tmp_path / "out.pt", params)
    lstm = torch.nn.LSTM(X, H, dtype=torch.float64)
    lstm.load_state_dict(torch.load(tmp_path / "out.pt", weights_only=True))
    x = np.random.default_rng(8).standard_normal((T, X))
    h, _ = lstm(torch.from_numpy(x))
    trace = record(params, x, np.zeros(T), "standard")
    np.testing.assert_allclose(trace.h, h.detach().numpy(), rtol=1e-12, atol=1e-14)
