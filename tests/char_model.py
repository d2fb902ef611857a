"""A small model of the researcher's shape for tests: token ids through an embedding, two
LSTM layers, a cross-entropy read-out (the sizes below), drawn from a seeded generator."""

import numpy as np

from lstm_engine import Model, ReadoutCrossEntropy, init_uniform

V, X, H, K, T, B = 6, 3, 4, 6, 5, 4


def char_model(seed=0) -> Model:
    """An embedding (V, X), two layers of H, a cross-entropy read-out over K classes."""
    rng = np.random.default_rng(seed)
    cells = [init_uniform(X, H, rng, -0.5, 0.5), init_uniform(H, H, rng, -0.5, 0.5)]
    loss = ReadoutCrossEntropy(rng.normal(0, 0.5, (K, H)), rng.normal(0, 0.2, K), "every")
    return Model(cells, "standard", loss, rng.normal(0, 0.7, (V, X)))
