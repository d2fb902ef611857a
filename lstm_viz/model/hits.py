"""Where a breakpoint holds in one pass: ``Hits``, the sorted frame indices with the value
that made it hold at each (and, for a stacked model, each hit's layer), and how the hits
of several quantities or layers are merged. No Qt. ``breakpoints.py`` evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EMPTY_I = np.zeros(0, np.int64)
_EMPTY_F = np.zeros(0, np.float64)


@dataclass(frozen=True)
class Hits:
    """Where a breakpoint holds in one pass: sorted frame indices, one value per index and
    (for conditions over several quantities) which one."""

    indices: np.ndarray                  # int64, sorted, unique
    values: np.ndarray                   # float64, aligned with indices
    names: tuple[str, ...] = ()          # names[codes[k]] is what hit at indices[k]
    codes: np.ndarray | None = None
    layers: np.ndarray | None = None     # (stacked models) the layer of each hit

    def __len__(self) -> int:
        return len(self.indices)

    def after(self, index: int) -> int | None:
        """Position in ``indices`` of the first hit after ``index``, or None."""
        k = int(np.searchsorted(self.indices, index, side="right"))
        return k if k < len(self.indices) else None

    def before(self, index: int) -> int | None:
        k = int(np.searchsorted(self.indices, index, side="left")) - 1
        return k if k >= 0 else None

    def at(self, index: int) -> int | None:
        k = int(np.searchsorted(self.indices, index, side="left"))
        return k if k < len(self.indices) and self.indices[k] == index else None

    def name(self, k: int) -> str | None:
        return None if self.codes is None else self.names[int(self.codes[k])]

    def layer(self, k: int) -> int | None:
        return None if self.layers is None else int(self.layers[k])


NO_HITS = Hits(_EMPTY_I, _EMPTY_F)


def _hits(parts: list[tuple[str, np.ndarray, np.ndarray]]) -> Hits:
    """Merge (name, indices, values) parts: sorted by frame, the first part wins a tie."""
    parts = [p for p in parts if len(p[1])]
    if not parts:
        return NO_HITS
    names = tuple(p[0] for p in parts)
    idx = np.concatenate([np.asarray(p[1], np.int64) for p in parts])
    val = np.concatenate([np.asarray(p[2], np.float64) for p in parts])
    code = np.concatenate([np.full(len(p[1]), k, np.int64) for k, p in enumerate(parts)])
    order = np.argsort(idx, kind="stable")
    idx, val, code = idx[order], val[order], code[order]
    keep = np.ones(len(idx), bool)
    keep[1:] = idx[1:] != idx[:-1]
    return Hits(idx[keep], val[keep], names, code[keep])


def merge_layers(found: list[tuple[int, Hits]]) -> Hits:
    """One Hits from each layer's (of a stacked model): sorted by frame, each hit with its
    layer and its own name (layers' frames differ; at the loss frame the first wins)."""
    found = [(layer, h) for layer, h in found if len(h)]
    if not found:
        return NO_HITS
    names: list[str] = []
    idx, val, code, lay = [], [], [], []
    for layer, h in found:
        codes = np.zeros(len(h), np.int64) if h.codes is None else h.codes
        idx.append(h.indices)
        val.append(h.values)
        code.append(codes + len(names))
        lay.append(np.full(len(h), layer, np.int64))
        names.extend(h.names or ("",) * (int(np.max(codes)) + 1))
    i, v, c, la = (np.concatenate(a) for a in (idx, val, code, lay))
    order = np.argsort(i, kind="stable")
    i, v, c, la = i[order], v[order], c[order], la[order]
    keep = np.ones(len(i), bool)
    keep[1:] = i[1:] != i[:-1]
    return Hits(i[keep], v[keep], tuple(names), c[keep], la[keep])
