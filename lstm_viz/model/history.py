"""The training history: one entry per iteration (its number, the loss of the pass the
update was computed from, that pass's gradient norm, whether it was clipped), kept as
columns. No Qt.

A run appends an entry per iteration and the window redraws the loss curve once per
slice of iterations. Kept as a list of entries, the columns the curve needs were built
anew each slice: O(n) per slice, 0.65 s at 400,000 iterations. Here an entry is written
into arrays that double when full (amortised O(1), 25 bytes per iteration), and
``arrays`` hands out read-only views of the filled part, no copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

COLUMNS = {"iteration": np.int64, "loss": np.float64, "grad_norm": np.float64,
           "clipped": np.bool_}


@dataclass(frozen=True)
class HistoryEntry:
    iteration: int          # the update's number, 0 first
    loss: float             # L of the pass the update was computed from
    grad_norm: float        # global norm of that pass's gradient


class History:
    """Append-only columns ``COLUMNS``; ``len``, indexing and iteration give
    ``HistoryEntry``s, ``arrays`` the columns."""

    FIRST = 256                                   # entries before the first doubling

    def __init__(self) -> None:
        self._n = 0
        self._cols: dict[str, np.ndarray] = {k: np.zeros(self.FIRST, t)
                                             for k, t in COLUMNS.items()}

    @classmethod
    def of(cls, entries: Iterable[HistoryEntry]) -> History:
        """A history of ``entries`` (none clipped)."""
        out = cls()
        for e in entries:
            out.append(e.iteration, e.loss, e.grad_norm)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict) -> History:
        """A history of the columns ``arrays`` (``clipped`` may be absent: none clipped),
        each a vector of one length (checked by the caller reading a file)."""
        n = len(arrays["iteration"])
        out = cls()
        out._grow(n)
        for k in COLUMNS:
            out._cols[k][:n] = arrays[k] if k in arrays else False
        out._n = n
        return out

    def append(self, iteration: int, loss: float, grad_norm: float,
               clipped: bool = False) -> None:
        if self._n == len(self._cols["iteration"]):
            self._grow(2 * self._n)
        n = self._n
        row = {"iteration": iteration, "loss": loss, "grad_norm": grad_norm, "clipped": clipped}
        for k, col in self._cols.items():
            col[n] = row[k]
        self._n = n + 1

    def _grow(self, size: int) -> None:
        # A new buffer for each column: views handed out earlier keep the old one, whose
        # filled part never changes.
        if size > len(self._cols["iteration"]):
            for k, col in self._cols.items():
                new = np.zeros(size, col.dtype)
                new[:self._n] = col[:self._n]
                self._cols[k] = new

    def arrays(self) -> dict[str, np.ndarray]:
        """Each column's filled part: read-only views, valid for good (a later entry is
        written past them, never into them)."""
        out = {}
        for k, col in self._cols.items():
            view = col[:self._n]
            view.flags.writeable = False
            out[k] = view
        return out

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k: int) -> HistoryEntry:
        if not -self._n <= k < self._n:
            raise IndexError(f"history entry {k} of {self._n}")
        k %= self._n
        c = self._cols
        return HistoryEntry(int(c["iteration"][k]), float(c["loss"][k]),
                            float(c["grad_norm"][k]))

    def entries(self) -> tuple[HistoryEntry, ...]:
        c = self.arrays()
        return tuple(HistoryEntry(int(i), float(lo), float(g)) for i, lo, g in
                     zip(c["iteration"], c["loss"], c["grad_norm"], strict=True))

    def same_as(self, other: History) -> bool:
        """The same entries (a NaN loss equal to a NaN loss), clipped flags included."""
        a, b = self.arrays(), other.arrays()
        return len(self) == len(other) and all(
            np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in COLUMNS)
