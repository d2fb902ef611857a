"""A character model, trained the ordinary way: python train_char.py CORPUS.txt [STEPS]

Embedding(76, 32) -> LSTM(32, 128, num_layers=2) -> Linear(128, 76), cross-entropy over
batches of 32 windows of 100 characters, Adam. Writes model.pt (the state dict),
vocab.json (the character of each token id), tokens.npy and next.npy (one batch to look
at: the characters and the next character at every step), and prints PyTorch's loss of
the batch's sequence 3, summed over its steps, in float64.
"""
import json
import string
import sys

import numpy as np
import torch
from torch import nn

ALPHABET = string.ascii_letters + string.digits + " \n.,;:!?'\"()-&"     # 76 characters


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(76, 32)
        self.lstm = nn.LSTM(32, 128, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(128, 76)

    def forward(self, tokens):                          # (B, T) -> logits (B, T, 76)
        out, _ = self.lstm(self.embed(tokens))
        return self.decoder(out)


def batch(codes, rng, size=32, length=100):
    """32 windows of 100 characters and, for each, the next character at every step."""
    starts = rng.integers(0, len(codes) - length - 1, size)
    x = np.stack([codes[s:s + length] for s in starts])
    y = np.stack([codes[s + 1:s + length + 1] for s in starts])
    return torch.from_numpy(x), torch.from_numpy(y)


text = open(sys.argv[1], encoding="utf-8").read()
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
codes = np.array([ALPHABET.index(c) for c in text if c in ALPHABET], dtype=np.int64)
torch.manual_seed(0)
rng = np.random.default_rng(0)
model = CharModel()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(steps):
    x, y = batch(codes, rng)
    loss = nn.functional.cross_entropy(model(x).reshape(-1, 76), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0 or step == steps - 1:
        print(f"step {step}: loss {loss.item():.4f}")

torch.save(model.state_dict(), "model.pt")
with open("vocab.json", "w", encoding="utf-8") as f:   # token id -> its character
    json.dump(list(ALPHABET), f)
x, y = batch(codes, rng)                                # a batch to look at
np.save("tokens.npy", x.numpy())
np.save("next.npy", y.numpy())
with torch.no_grad():                                   # sequence 3's loss, summed, in float64
    logits = model.double()(x[3:4])[0]
    print("PyTorch, sequence 3:", nn.functional.cross_entropy(logits, y[3], reduction="sum").item())
