"""Two runs side by side: the same data and seed, frame-synchronised. No Qt.

``Comparison(left, right)`` ties two Sessions whose passes have the same inputs and
targets (and so the same frames): moving either cursor moves the other (the round trip
ends because a seek to the current frame emits nothing). ``difference(name)`` is
right - left for a whole recorded quantity, ``difference_at(name, index)`` the same as
of one frame (None where either side does not know it yet). ``Comparison.of(a, b)``
builds both sessions from two RunConfigs, for example ``seed`` against ``standard``,
forget bias 0 against 1, or the wrong backward (``variant="standard", backward="seed"``)
against the right one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.trace import GRAD_NAMES, STEP_NAMES

from .config import RunConfig, check_config
from .levels import max_abs, saturate, signed_levels, symmetric_levels
from .session import Session

QUANTITIES = STEP_NAMES + GRAD_NAMES


@dataclass(frozen=True)
class Images:
    """What the comparison view draws for one quantity: the two runs' arrays and their
    difference as (T, n) float32, the colour levels (the two runs share theirs; both are
    symmetric about zero, ±1 for an all-zero array) and max |right − left| (finite)."""

    left: np.ndarray
    right: np.ndarray
    diff: np.ndarray
    levels: tuple[float, float]
    diff_levels: tuple[float, float]
    max_diff: float


class Comparison:
    def __init__(self, left: Session, right: Session):
        a, b = left.trace, right.trace
        if a.steps != b.steps or a.inputs != b.inputs:
            raise UserError(f"the runs have different sizes (T={a.steps}, X={a.inputs} against "
                            f"T={b.steps}, X={b.inputs}); compare runs on the same data")
        if not (np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)):
            raise UserError("the two runs do not see the same inputs and targets; "
                            "choose the same task, length and seed")
        self.left, self.right = left, right
        right.seek(left.cursor)
        left.events.frame_changed.connect(self._from_left)
        right.events.frame_changed.connect(self._from_right)

    @classmethod
    def of(cls, a: RunConfig, b: RunConfig) -> Comparison:
        a, b = check_config(a), check_config(b)
        return cls(Session(a), Session(b))

    def close(self) -> None:
        self.left.events.frame_changed.disconnect(self._from_left)
        self.right.events.frame_changed.disconnect(self._from_right)

    def _from_left(self, index: int) -> None:
        self.right.seek(index)

    def _from_right(self, index: int) -> None:
        self.left.seek(index)

    @property
    def cursor(self) -> int:
        return self.left.cursor

    def labels(self) -> tuple[str, str]:
        return describe(self.left.config), describe(self.right.config)

    def difference(self, name: str) -> np.ndarray:
        """right - left for a whole recorded quantity (float64), e.g. (T, H) for ``ds``."""
        if name not in QUANTITIES:
            raise UserError(f"there is no recorded quantity {name!r}")
        a, b = self.left.trace[name], self.right.trace[name]
        if a.shape != b.shape:
            raise UserError(f"{name} has shape {a.shape} on the left, {b.shape} on the right")
        return np.asarray(b, np.float64) - np.asarray(a, np.float64)

    def difference_at(self, name: str, index: int | None = None) -> np.ndarray | None:
        """right - left as of frame ``index`` (default: the cursor); None if unknown."""
        index = self.cursor if index is None else index
        a = self.left.data.value(name, index)
        b = self.right.data.value(name, index)
        if a is None or b is None:
            return None
        return np.asarray(b, np.float64) - np.asarray(a, np.float64)

    def images(self, name: str) -> Images:
        """The three images of ``name`` (left, right, right − left) and their levels."""
        diff = self.difference(name)

        def image(a):
            a = saturate(a)                        # drawable: model/levels.py
            return a[:, None] if a.ndim == 1 else a

        left, right = self.left.trace[name], self.right.trace[name]
        d = max_abs(diff)
        return Images(image(left), image(right), image(diff), signed_levels(left, right),
                      symmetric_levels(d), d)

    def max_difference_at(self, name: str, index: int | None = None) -> float | None:
        """max |right − left| of ``name`` as of frame ``index`` (None: not computed yet)."""
        d = self.difference_at(name, index)
        return None if d is None else max_abs(d)

    def max_differences(self, names=QUANTITIES) -> dict[str, float]:
        """max |right - left| of each quantity over the whole pass."""
        return {n: float(np.max(np.abs(self.difference(n)), initial=0.0)) for n in names}


def describe(c: RunConfig) -> str:
    back = f", {c.backward} backward" if c.backward and c.backward != c.variant else ""
    fb = "" if c.forget_bias is None else f", forget bias {c.forget_bias:g}"
    return f"{c.variant}{back}{fb} · {c.task} H={c.hidden} seed {c.seed}"
