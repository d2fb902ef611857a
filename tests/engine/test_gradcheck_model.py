"""The stacked model's backward pass against centred finite differences (float64): every
layer, the embedding and the read-out, both variants, each loss."""

import numpy as np
import pytest
from test_model import make_case

from lstm_engine.gradcheck import gradient_check_model


@pytest.mark.parametrize("variant", ["seed", "standard"])
@pytest.mark.parametrize("loss,at,embedding", [
    ("toy", "every", False), ("toy", "every", True), ("mse", "every", False),
    ("mse", "last", True), ("xent", "every", True), ("xent", "last", False)])
def test_every_array_of_the_stacked_model_passes(variant, loss, at, embedding):
    model, inputs, y, _ = make_case(2, embedding, loss, at, variant, T=6, hiddens=[4, 3],
                                    seed=11, scale=0.8)
    result = gradient_check_model(model, inputs, y)
    names = [f"L{n}.{k}" for n in range(2) for k in ("wg", "wi", "wf", "wo",
                                                      "bg", "bi", "bf", "bo")]
    names += ["embedding"] * embedding + ["loss.wy", "loss.by"] * (loss != "toy")
    assert sorted(result.arrays) == sorted(names)
    for name, check in result.arrays.items():
        if name == "embedding":                  # only the rows of tokens that occur
            assert check.checked == len(np.unique(inputs)) * model.inputs
            unused = np.setdiff1d(np.arange(model.vocab), inputs)
            assert not check.analytic[unused].any()
        else:
            assert check.checked == check.analytic.size
        assert check.max_error < 1e-6, name
    assert result.verdict == "correct"


def test_three_layers_of_different_widths_from_a_batch():
    model, _, _, _ = make_case(3, True, "xent", "every", "standard", hiddens=[3, 5, 2])
    rng = np.random.default_rng(2)
    inputs, targets = rng.integers(0, 6, (3, 5)), rng.integers(0, 4, (3, 5))
    result = gradient_check_model(model, inputs, targets, sequence=2)
    assert result.verdict == "correct" and result.max_error < 1e-6
    assert "L2.wo" in result.arrays


def test_the_check_flags_a_wrong_forward_in_a_stacked_model():
    model, inputs, y, _ = make_case(2, True, "mse", "every", "seed", T=5, hiddens=[3, 3])
    result = gradient_check_model(model, inputs, y, forward_variant="standard")
    assert result.verdict == "wrong" and result.max_error > 1e-2


def test_the_check_flags_a_wrong_embedding_gradient(monkeypatch):
    import lstm_engine.model as model_module

    real = model_module.embedding_grad

    def off_by_one_row(tokens, dx, vocab):       # every step's row one token too far
        return real((tokens + 1) % vocab, dx, vocab)

    monkeypatch.setattr(model_module, "embedding_grad", off_by_one_row)
    model, inputs, y, _ = make_case(2, True, "toy", T=5, hiddens=[3, 3])
    result = gradient_check_model(model, inputs, y)
    assert result.arrays["embedding"].max_error > 1e-2
    assert all(c.max_error < 1e-6 for n, c in result.arrays.items() if n != "embedding")
