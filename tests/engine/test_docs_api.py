"""The Python API as docs/equations.md shows it runs as written (where torch is installed)."""

import re
from pathlib import Path

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "equations.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_documented_training_script_path_records_pytorchs_loss(capsys, tmp_path,
                                                                    monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(76, 32)
            self.lstm = torch.nn.LSTM(32, 128, num_layers=2, batch_first=True)
            self.decoder = torch.nn.Linear(128, 76)

    torch.manual_seed(0)
    net = Net()
    rng = np.random.default_rng(0)
    batch_x = torch.as_tensor(rng.integers(0, 76, (4, 20)))
    batch_y = torch.as_tensor(rng.integers(0, 76, (4, 20)))
    from_modules, from_file = python_blocks()[:2]
    monkeypatch.chdir(tmp_path)
    exec(from_modules, {"net": net, "batch_x": batch_x, "batch_y": batch_y})
    printed = float(capsys.readouterr().out)
    with torch.no_grad():
        net64 = net.double()
        out, _ = net64.lstm(net64.embed(batch_x[:1]))
        want = torch.nn.functional.cross_entropy(net64.decoder(out[0]), batch_y[0],
                                                 reduction="sum").item()
    assert printed == pytest.approx(want, rel=1e-12)
    from lstm_engine.io import load_model_trace
    saved = load_model_trace(tmp_path / "trace.npz")      # the file the block wrote
    assert saved.total_loss == printed and saved.sequence == 0 and saved.batch == 4
    assert saved.num_layers == 2 and saved.dE.shape == (76, 32)

    torch.save(net.state_dict(), tmp_path / "model.pt")
    exec(from_file, {})
    lines = capsys.readouterr().out.splitlines()
    assert "  embed.weight -> embedding (76×32)" in lines
    assert any(line.startswith("  lstm.weight_hh_l1 -> L1.") for line in lines)
