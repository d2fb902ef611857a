"""Whole PyTorch models (nn.Embedding → nn.LSTM of any depth → nn.Linear) in and out of the
engine. The key finding, the mapping and the refusals are tested on numpy state dicts
always; parity with PyTorch's autograd only where torch is installed."""

import subprocess
import sys

import numpy as np
import pytest

from lstm_engine import Model, ReadoutCrossEntropy, ReadoutMSE, init_uniform, record_model
from lstm_engine.errors import UserError
from lstm_engine.torch_io import (
    load_torch_model,
    model_from_torch_state,
    model_to_torch_state,
    save_torch_model,
)

V, X, H, K, T = 7, 3, 4, 5, 6


def lstm_state(prefix="lstm.", layers=2, x=X, h=H, seed=0, bias=True):
    """An nn.LSTM(x, h, num_layers=layers) state dict with random numpy arrays."""
    rng = np.random.default_rng(seed)
    out = {}
    for n in range(layers):
        width = x if n == 0 else h
        out[f"{prefix}weight_ih_l{n}"] = rng.normal(0, 0.5, (4 * h, width))
        out[f"{prefix}weight_hh_l{n}"] = rng.normal(0, 0.5, (4 * h, h))
        if bias:
            out[f"{prefix}bias_ih_l{n}"] = rng.normal(0, 0.3, 4 * h)
            out[f"{prefix}bias_hh_l{n}"] = rng.normal(0, 0.3, 4 * h)
    return out


def char_model_state(seed=0, emb="embed", dec="decoder", layers=2):
    rng = np.random.default_rng(seed + 100)
    return {f"{emb}.weight": rng.normal(0, 1, (V, X)), **lstm_state(layers=layers, seed=seed),
            f"{dec}.weight": rng.normal(0, 0.5, (K, H)), f"{dec}.bias": rng.normal(0, 0.1, K)}


def torch_equations(state, tokens, layers=2, emb="embed.weight"):
    """PyTorch's documented nn.LSTM equations on the raw arrays: every layer's h and c."""
    def sig(z):
        return 1 / (1 + np.exp(-z))
    inp = state[emb][tokens]
    hs, cs = [], []
    for n in range(layers):
        h, c, h_out, c_out = np.zeros(H), np.zeros(H), [], []
        for xt in inp:
            gates = (state[f"lstm.weight_ih_l{n}"] @ xt + state[f"lstm.bias_ih_l{n}"]
                     + state[f"lstm.weight_hh_l{n}"] @ h + state[f"lstm.bias_hh_l{n}"])
            i, f, g, o = (gates[k * H:(k + 1) * H] for k in range(4))
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
            h_out.append(h)
            c_out.append(c)
        hs.append(np.array(h_out))
        cs.append(np.array(c_out))
        inp = hs[-1]
    return hs, cs


def test_a_character_model_is_imported_whole_and_follows_torchs_equations():
    state = char_model_state()
    model, report = model_from_torch_state(state)
    assert model.num_layers == 2 and model.variant == "standard"
    assert model.vocab == V and model.loss.name == "xent" and model.loss.at == "every"
    np.testing.assert_array_equal(model.embedding, state["embed.weight"])
    np.testing.assert_array_equal(model.loss.wy, state["decoder.weight"])
    np.testing.assert_array_equal(model.loss.by, state["decoder.bias"])
    for n in range(2):
        for k, gate in enumerate("ifgo"):
            rows = slice(k * H, (k + 1) * H)
            p = model.layers[n]
            np.testing.assert_array_equal(getattr(p, f"w{gate}"), np.hstack(
                [state[f"lstm.weight_ih_l{n}"][rows], state[f"lstm.weight_hh_l{n}"][rows]]))
            np.testing.assert_array_equal(getattr(p, f"b{gate}"), state[f"lstm.bias_ih_l{n}"][rows]
                                          + state[f"lstm.bias_hh_l{n}"][rows])
    assert set(report.used) == set(state) and not report.ignored
    assert report.used["embed.weight"] == "embedding (7×3)"
    assert report.used["decoder.weight"].startswith("loss.wy")
    assert report.used["lstm.weight_hh_l1"].startswith("L1.")
    tokens = np.random.default_rng(1).integers(0, V, T)
    trace = record_model(model, tokens, np.zeros(T, int))
    hs, cs = torch_equations(state, tokens)
    for n in range(2):
        np.testing.assert_allclose(trace.layers[n].h, hs[n], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(trace.layers[n].s, cs[n], rtol=1e-12, atol=1e-14)


def test_unrelated_and_unusable_keys_are_reported_as_ignored():
    state = {**char_model_state(), "bn.num_batches_tracked": np.array(3),
             "step": np.array(7.0), "mask": np.ones(3, bool)}
    model, report = model_from_torch_state(state)
    assert set(report.ignored) == {"bn.num_batches_tracked", "step", "mask"}
    lines = report.lines()
    assert "  embed.weight -> embedding (7×3)" in lines and "  mask: ignored" in lines


@pytest.mark.parametrize("emb,dec", [("emb", "fc"), ("tok_embeddings", "lm_head"),
                                     ("char_embedding", "my_decoder"), ("encoder", "decoder")])
def test_the_usual_module_names_are_found(emb, dec):
    model, report = model_from_torch_state(char_model_state(emb=emb, dec=dec))
    assert report.used[f"{emb}.weight"].startswith("embedding")
    assert report.used[f"{dec}.weight"].startswith("loss.wy")


def test_unnamed_parts_are_found_by_shape_and_ambiguity_asks_for_a_name():
    state = char_model_state(emb="a", dec="b")                      # names say nothing
    model, report = model_from_torch_state(state)
    assert report.used["a.weight"].startswith("embedding")
    assert report.used["b.weight"].startswith("loss.wy")
    state["c.weight"] = np.ones((9, X))                              # a second (., X) matrix
    with pytest.raises(UserError, match=r"several candidates for the embedding \(a.weight, "
                                        r"c.weight\); name one with embedding_key"):
        model_from_torch_state(state)
    model, report = model_from_torch_state(state, embedding_key="c.weight")
    assert model.vocab == 9 and "a.weight" in report.ignored


def test_tied_weights_are_told_apart_by_name():
    """word_language_model with tie_weights: encoder and decoder weights have one shape."""
    state = lstm_state(x=H, h=H)
    rng = np.random.default_rng(4)
    state.update({"encoder.weight": rng.normal(size=(V, H)), "decoder.weight":
                  rng.normal(size=(V, H)), "decoder.bias": np.zeros(V)})
    model, report = model_from_torch_state(state)
    np.testing.assert_array_equal(model.embedding, state["encoder.weight"])
    np.testing.assert_array_equal(model.loss.wy, state["decoder.weight"])


def test_parts_can_be_left_out_and_the_loss_chosen():
    state = char_model_state()
    model, report = model_from_torch_state(state, embedding_key="", decoder_key="")
    assert model.embedding is None and model.loss.name == "toy"
    assert {"embed.weight", "decoder.weight", "decoder.bias"} <= set(report.ignored)
    model, _ = model_from_torch_state(state, loss="mse", at="last")
    assert isinstance(model.loss, ReadoutMSE) and model.loss.at == "last"
    model, report = model_from_torch_state(state, loss="toy")
    assert model.loss.name == "toy" and "decoder.weight" in report.ignored
    assert any("not used by the toy loss" in n for n in report.notes)
    no_decoder = {k: v for k, v in state.items() if not k.startswith("decoder")}
    with pytest.raises(UserError, match="the xent loss needs a decoder"):
        model_from_torch_state(no_decoder, loss="xent")


def test_an_lstm_without_biases_and_a_decoder_without_bias():
    state = lstm_state(bias=False, layers=3)
    state["head.weight"] = np.ones((K, H))
    model, report = model_from_torch_state(state)
    assert model.num_layers == 3 and not model.layers[2].bi.any()
    assert not model.loss.by.any()
    assert any("bias=False" in n for n in report.notes)


def test_a_checkpoint_with_a_nested_state_dict():
    ckpt = {"epoch": 3, "model_state_dict": char_model_state(), "optimizer_state_dict": {}}
    model, report = model_from_torch_state(ckpt)
    assert model.num_layers == 2
    assert "epoch" in report.ignored and any("model_state_dict" in n for n in report.notes)


@pytest.mark.parametrize("change,message", [
    (lambda s: s.update({"lstm.weight_ih_l0_reverse": s["lstm.weight_ih_l0"]}), "bidirectional"),
    (lambda s: s.update({"lstm.weight_hr_l0": np.ones((2, H))}), "projected (proj_size > 0)"),
    (lambda s: s.pop("lstm.weight_hh_l1"), "no lstm.weight_hh_l1"),
    (lambda s: s.update({"lstm.weight_ih_l3": np.ones((4 * H, H))}), "layers [0, 1, 3]"),
    (lambda s: s.pop("lstm.bias_hh_l0"), "lstm.bias_ih_l0 without lstm.bias_hh_l0"),
    (lambda s: s.update({"lstm.weight_ih_l1": np.ones((4 * H, H + 1))}),
     "lstm.weight_ih_l1 must have shape (16, 4)"),
    (lambda s: s.update({"lstm.weight_hh_l0": np.ones((4 * H, H), np.int64)}),
     "lstm.weight_hh_l0 has dtype int64, expected floating point"),
    (lambda s: s.update({"lstm.bias_hh_l1": np.full(4 * H, np.inf)}), "NaN or Inf"),
    (lambda s: s.update({"other.weight_ih_l0": np.ones((4 * H, X))}), "several LSTMs"),
    (lambda s: [s.pop(k) for k in list(s) if k.startswith("lstm.")], "no nn.LSTM weights"),
    (lambda s: s.update({"lstm.weight_ih_l0": [1.0, [2.0, 3.0]]}),
     "lstm.weight_ih_l0 is a list, not a tensor"),
])
def test_what_one_lstm_cannot_be_is_refused_in_one_line(change, message):
    state = char_model_state()
    change(state)
    with pytest.raises(UserError) as info:
        model_from_torch_state(state, what="m.pt")
    assert str(info.value).startswith("m.pt: ") and "\n" not in str(info.value)
    assert message in str(info.value), str(info.value)


def test_export_round_trip_and_what_cannot_be_exported():
    model, _ = model_from_torch_state(char_model_state(3))
    state = model_to_torch_state(model)
    assert sorted(state) == sorted(char_model_state(3, emb="embedding"))
    assert not state["lstm.bias_hh_l1"].any()
    again, report = model_from_torch_state(state)
    for name, a in model.arrays().items():
        np.testing.assert_array_equal(again.arrays()[name], a, err_msg=name)
    seed = Model(model.layers, "seed", model.loss, model.embedding)
    with pytest.raises(UserError, match="variant is seed; PyTorch's nn.LSTM computes"):
        model_to_torch_state(seed)
    rng = np.random.default_rng(0)
    narrow = Model([init_uniform(X, 5, rng), init_uniform(5, 3, rng)], "standard")
    with pytest.raises(UserError, match=r"different widths \(5, 3\)"):
        model_to_torch_state(narrow)


def test_npz_files_of_whole_models(tmp_path):
    state = char_model_state(5)
    labels = np.array([{"not": "read"}], dtype=object)              # never unpickled
    np.savez(tmp_path / "m.npz", **state, labels=labels)
    model, report = load_torch_model(tmp_path / "m.npz", at="last")
    assert model.loss.at == "last" and model.num_layers == 2
    save_torch_model(tmp_path / "out.npz", model, embedding="embed")
    back, _ = load_torch_model(tmp_path / "out.npz")
    np.testing.assert_array_equal(back.embedding, state["embed.weight"])
    with pytest.raises(UserError, match="absent.npz"):
        load_torch_model(tmp_path / "absent.npz")


# ---- against torch itself -----------------------------------------------------------

torch_reason = "PyTorch is not installed (optional extra: pip install 'lstm-viz[torch]')"


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason=torch_reason)


class CharModel:
    """The researcher's model, float64: Embedding(V, X) → LSTM(X, H, 2) → Linear(H, K)."""

    def __init__(self, torch, seed=0, K=K):
        torch.manual_seed(seed)
        self.embed = torch.nn.Embedding(V, X, dtype=torch.float64)
        self.lstm = torch.nn.LSTM(X, H, num_layers=2, batch_first=True, dtype=torch.float64)
        self.decoder = torch.nn.Linear(H, K, dtype=torch.float64)
        with torch.no_grad():                         # livelier gates than the default init
            for p in self.lstm.parameters():
                p.mul_(3.0)

    def state_dict(self):
        out = {f"embed.{k}": v for k, v in self.embed.state_dict().items()}
        out.update({f"lstm.{k}": v for k, v in self.lstm.state_dict().items()})
        out.update({f"decoder.{k}": v for k, v in self.decoder.state_dict().items()})
        return out


def stepwise_torch(torch, net, tokens):
    """The same forward as net.lstm, step by step from its weights with torch ops, keeping
    every layer's h(t) and c(t) as graph nodes whose .grad is dL/dh(t), dL/dc(t)."""
    x = net.embed(torch.as_tensor(tokens))
    hs, cs = [[], []], [[], []]
    for t in range(len(tokens)):
        inp = x[t]
        for n in range(2):
            w_ih, w_hh = getattr(net.lstm, f"weight_ih_l{n}"), getattr(net.lstm, f"weight_hh_l{n}")
            b = getattr(net.lstm, f"bias_ih_l{n}") + getattr(net.lstm, f"bias_hh_l{n}")
            h_prev = hs[n][-1] if t else torch.zeros(H, dtype=torch.float64)
            c_prev = cs[n][-1] if t else torch.zeros(H, dtype=torch.float64)
            i, f, g, o = (w_ih @ inp + w_hh @ h_prev + b).chunk(4)
            c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            for v in (h, c):
                v.retain_grad()
            hs[n].append(h)
            cs[n].append(c)
            inp = h
    return hs, cs


def engine_grads_in_torch_layout(trace, n):
    w = np.vstack([trace.layers[n][f"w{g}_diff"] for g in "ifgo"])
    b = np.concatenate([trace.layers[n][f"b{g}_diff"] for g in "ifgo"])
    width = trace.layers[n].inputs
    return {f"weight_ih_l{n}": w[:, :width], f"weight_hh_l{n}": w[:, width:],
            f"bias_ih_l{n}": b, f"bias_hh_l{n}": b}


def rel_close(a, b, name, rtol=1e-10):
    a, b = np.asarray(a), np.asarray(b)
    assert np.max(np.abs(a - b)) <= rtol * max(np.max(np.abs(b)), 1e-300), name


@pytest.mark.parametrize("loss,at", [("xent", "every"), ("xent", "last"), ("mse", "every")])
def test_parity_with_pytorch_autograd(torch, loss, at):
    net = CharModel(torch, seed={"every": 1, "last": 2}[at] + (loss == "mse"))
    rng = np.random.default_rng(7)
    tokens = rng.integers(0, V, T)
    targets = rng.integers(0, K, T) if loss == "xent" else rng.standard_normal((T, K))

    # PyTorch, the ordinary way: the modules, summed loss (the engine's L = sum_t l(t))
    out, _ = net.lstm(net.embed(torch.as_tensor(tokens))[None])     # (1, T, H)
    logits = net.decoder(out[0])
    scored = slice(None) if at == "every" else slice(T - 1, T)
    if loss == "xent":
        L = torch.nn.functional.cross_entropy(logits[scored], torch.as_tensor(targets)[scored],
                                              reduction="sum")
    else:                         # the engine's MSE: the mean over the K outputs, per step
        L = ((logits[scored] - torch.as_tensor(targets)[scored]) ** 2).mean(dim=1).sum()
    L.backward()
    grads = {k: v.grad.numpy().copy() for k, v in net.lstm.named_parameters()}
    emb_grad = net.embed.weight.grad.numpy().copy()
    dec_grads = (net.decoder.weight.grad.numpy().copy(), net.decoder.bias.grad.numpy().copy())

    # the same weights step by step, for every layer's h(t), c(t) and dL/dh(t), dL/dc(t)
    for p in (*net.lstm.parameters(), net.embed.weight, *net.decoder.parameters()):
        p.grad = None
    hs, cs = stepwise_torch(torch, net, tokens)
    h_top = torch.stack(hs[1])
    rel_close(h_top.detach().numpy(), out[0].detach().numpy(), "stepwise torch = nn.LSTM", 1e-13)
    logits2 = net.decoder(h_top)
    if loss == "xent":
        L2 = torch.nn.functional.cross_entropy(logits2[scored],
                                               torch.as_tensor(targets)[scored], reduction="sum")
    else:
        L2 = ((logits2[scored] - torch.as_tensor(targets)[scored]) ** 2).mean(dim=1).sum()
    L2.backward()

    model, _ = model_from_torch_state(net.state_dict(), loss=loss, at=at)
    trace = record_model(model, tokens, targets)
    assert trace.total_loss == pytest.approx(L.item(), rel=1e-12)
    for n in range(2):
        tr = trace.layers[n]
        rel_close(tr.h, torch.stack(hs[n]).detach().numpy(), f"L{n} h")
        rel_close(tr.s, torch.stack(cs[n]).detach().numpy(), f"L{n} s = c")
        rel_close(tr.top_diff_h, np.array([h.grad.numpy() for h in hs[n]]),
                  f"L{n} dL/dh(t) = top_diff_h")
        rel_close(tr.ds, np.array([c.grad.numpy() for c in cs[n]]), f"L{n} dL/dc(t) = ds")
        for key, g in engine_grads_in_torch_layout(trace, n).items():
            rel_close(g, grads[key], key)
    rel_close(trace.dE, emb_grad, "embedding grad")
    rel_close(trace.wy_diff, dec_grads[0], "decoder.weight grad")
    rel_close(trace.by_diff, dec_grads[1], "decoder.bias grad")
    # what the read-out computed, per step
    name = "logits" if loss == "xent" else "y_hat"
    rel_close(trace.outputs[name], logits.detach().numpy(), name)


def test_modules_of_a_training_script_and_a_batch_sequence(torch):
    net = CharModel(torch, seed=4)
    from lstm_engine.torch_io import model_from_torch_modules

    model = model_from_torch_modules(net.lstm, net.embed, net.decoder, loss="xent", at="last")
    assert isinstance(model.loss, ReadoutCrossEntropy) and model.loss.at == "last"
    rng = np.random.default_rng(2)
    batch, next_char = rng.integers(0, V, (3, T)), rng.integers(0, K, 3)
    out, _ = net.lstm(net.embed(torch.as_tensor(batch)))               # (B, T, H)
    per_seq = torch.nn.functional.cross_entropy(net.decoder(out[:, -1]),
                                                torch.as_tensor(next_char), reduction="none")
    per_seq[1].backward()                                  # sequence 1's gradients alone
    trace = record_model(model, batch, next_char, sequence=1)
    assert trace.total_loss == pytest.approx(per_seq[1].item(), rel=1e-12)
    rel_close(trace.dE, net.embed.weight.grad.numpy(), "embedding grad")
    for key, g in engine_grads_in_torch_layout(trace, 1).items():
        rel_close(g, getattr(net.lstm, key).grad.numpy(), key)


def test_exported_state_dict_loads_into_the_modules(torch, tmp_path):
    model, _ = model_from_torch_state(char_model_state(6), at="every")
    save_torch_model(tmp_path / "out.pt", model, embedding="embed")
    net = CharModel(torch)
    loaded = torch.load(tmp_path / "out.pt", weights_only=True)
    net.embed.load_state_dict({"weight": loaded["embed.weight"]})
    net.lstm.load_state_dict({k[5:]: v for k, v in loaded.items() if k.startswith("lstm.")})
    net.decoder.load_state_dict({k[8:]: v for k, v in loaded.items() if k.startswith("decoder.")})
    tokens = np.random.default_rng(0).integers(0, V, T)
    out, _ = net.lstm(net.embed(torch.as_tensor(tokens))[None])
    trace = record_model(model, tokens, np.zeros(T, int))
    rel_close(trace.layers[1].h, out[0].detach().numpy(), "h", 1e-12)
    again, _ = load_torch_model(tmp_path / "out.pt")
    for name, a in model.arrays().items():
        np.testing.assert_array_equal(again.arrays()[name], a, err_msg=name)


def test_a_float32_pt_imports_exactly_as_float64_or_stays_float32(torch, tmp_path):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(X, H, num_layers=2)
    torch.save({f"rnn.{k}": v for k, v in lstm.state_dict().items()}, tmp_path / "m.pt")
    model, report = load_torch_model(tmp_path / "m.pt")
    assert model.dtype == np.float64 and model.loss.name == "toy"
    rows = slice(0, H)                                     # gate i; the bias sum is exact
    want = lstm.bias_ih_l1.double()[rows] + lstm.bias_hh_l1.double()[rows]
    np.testing.assert_array_equal(model.layers[1].bi, want.detach().numpy())
    np.testing.assert_array_equal(model.layers[0].wf[:, :X],
                                  lstm.weight_ih_l0.double()[H:2 * H].detach().numpy())
    small, _ = load_torch_model(tmp_path / "m.pt", dtype=None)
    assert small.dtype == np.float32


@pytest.mark.filterwarnings("ignore::UserWarning")      # torch: quantized tensors deprecated
@pytest.mark.parametrize("make,message", [
    (lambda t, s: s.update({"lstm.weight_hh_l0": s["lstm.weight_hh_l0"].to_sparse()}),
     "lstm.weight_hh_l0 is a sparse tensor"),
    (lambda t, s: s.update({"lstm.bias_ih_l1": t.quantize_per_tensor(
        s["lstm.bias_ih_l1"].float(), 0.1, 0, t.quint8)}), "lstm.bias_ih_l1 is a quantized"),
    (lambda t, s: s.update({"lstm.weight_ih_l0": [t.zeros(2), t.zeros(3)]}),
     "lstm.weight_ih_l0 is a list, not a tensor"),
    (lambda t, s: s.update({"embed.weight": t.zeros(1, dtype=t.float64).expand(V, X)}),
     "embed.weight declares 21 values in 8 bytes"),
])
def test_unusable_tensors_in_a_pt_are_named_in_one_line(torch, tmp_path, make, message):
    state = {k: torch.from_numpy(v) for k, v in char_model_state().items()}
    make(torch, state)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(UserError) as info:
        load_torch_model(tmp_path / "bad.pt", embedding_key="embed.weight")
    assert str(info.value).startswith(f"{tmp_path / 'bad.pt'}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


MEMORY_CHILD = """
import resource, sys
import torch
from lstm_engine.errors import UserError
from lstm_engine.torch_io import load_torch, load_torch_model
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for load in (load_torch, load_torch_model):
    try:
        load(sys.argv[1])
    except UserError as err:
        print(err)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_small_pt_declaring_huge_tensors_is_refused_without_allocating_them(torch, tmp_path):
    """A 4 KB file whose LSTM declares 2 × 20000 × 80000 float32 (12.8 GB) through expanded
    views, with shapes that fit together: refused before anything is materialised."""
    big = 20000
    lstm = {f"weight_{k}_l0": torch.zeros(1).expand(4 * big, big) for k in ("ih", "hh")}
    lstm.update({f"bias_{k}_l0": torch.zeros(1).expand(4 * big) for k in ("ih", "hh")})
    torch.save(lstm, tmp_path / "huge.pt")
    assert (tmp_path / "huge.pt").stat().st_size < 10_000
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(tmp_path / "huge.pt")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == 3 and all("expanded view" in line for line in out[:2]), out
    assert int(out[2]) < 100, f"loading took {out[2]} MB more"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("write,message", [
    (lambda t, p: t.save(t.nn.LSTM(X, H), p),
     "cannot load (it holds Python objects (torch.nn.modules.rnn.LSTM), not only tensors; "
     "save model.state_dict())"),
    (lambda t, p: t.save([t.zeros(2), t.zeros(3)], p), "expected a state dict, got list"),
    (lambda t, p: p.write_bytes(b"not a zip, not a pickle"),
     "cannot load (damaged, or not a file torch.save wrote)"),
])
def test_pt_files_that_are_not_state_dicts_get_one_line(torch, tmp_path, write, message):
    path = tmp_path / "m.pt"
    write(torch, path)
    with pytest.raises(UserError) as info:
        load_torch_model(path)
    assert str(info.value) == f"{path}: {message}"
