"""Which steps of a per-step quantity are computed at a frame. No Qt.

Always one contiguous range: a prefix for forward quantities (they fill in from t=0), a
suffix for backward ones (from T-1 down); the views grey out the rest
(docs/frames.md).
"""

from __future__ import annotations

import numpy as np

from ..model.frame_data import FrameData
from ..model.frames import Frame

# the per-step quantities of the forward pass (every other one belongs to the backward)
_FORWARD_SET = frozenset(("x", "xc", "g", "i", "f", "o", "s", "h"))


def known_steps(data: FrameData, name: str, frame: Frame) -> tuple[int, int]:
    """(lo, hi): the steps lo … hi-1 of ``name`` that are computed at ``frame``."""
    T = data.trace.steps
    if name in _FORWARD_SET:
        if frame.phase != "fwd":
            return 0, T
        return 0, frame.step + (1 if data.known(name, frame) else 0)
    if frame.phase != "bwd":
        return T, T
    return (frame.step if data.known(name, frame) else frame.step + 1), T


def not_computed_mask(data: FrameData, name: str, index: int) -> np.ndarray:
    """(T,) bool: the steps of ``name`` not computed at frame ``index`` (for tests/CSV)."""
    lo, hi = known_steps(data, name, data.model.frame(index))
    mask = np.ones(data.trace.steps, bool)
    mask[lo:hi] = False
    return mask
