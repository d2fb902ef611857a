"""The loss-to-cell matrix: ‖∂l(k)/∂s(t)‖ from the engine, computed on demand and cached.
No Qt."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_engine.flow import loss_to_cell_steps

from ..model.frame_data import FrameData
from ..model.jobs import Job, finish
from .colors import Special, count_special, special_rgba

MAX_SOURCES = 128                         # rows of the loss-to-cell matrix at most
AUTO_COMPUTE_MACS = 2e8                    # below this the matrix is computed when shown


def choose_sources(steps: int, cap: int = MAX_SOURCES) -> np.ndarray:
    """At most ``cap`` loss steps, evenly spaced, always including the last."""
    if steps <= cap:
        return np.arange(steps)
    return np.unique(np.round(np.linspace(0, steps - 1, cap)).astype(int))


def contribution_cost(steps: int, hidden: int, sources: int) -> float:
    """Multiply-adds of ``loss_to_cell_gradients`` (about 4 H^2 T K / 2)."""
    return 2.0 * hidden * hidden * steps * sources


@dataclass(frozen=True)
class ContributionImage:
    sources: np.ndarray               # (K,) loss steps, one per row
    norms: np.ndarray                 # (K, T) ‖∂l(k)/∂s(t)‖, NaN where t > k
    log: np.ndarray                   # (K, T) float32 log10 of norms, finite (0 where none)
    future: np.ndarray                # (K, T) bool: t > k, no contribution possible
    zero: np.ndarray                  # (K, T) bool: exactly zero (no path or no loss)
    levels: tuple[float, float]       # of ``log``
    special: Special                  # NaN/Inf among the entries with t <= k
    overlay: np.ndarray | None = None  # (K, T, 4) their reserved colours; None: none


class Contributions:
    """The loss-to-cell matrix of one trace, computed once when asked for."""

    def __init__(self, data: FrameData, cap: int = MAX_SOURCES):
        self.data = data
        self.sources = choose_sources(data.trace.steps, cap)
        self._image: ContributionImage | None = None

    @property
    def cost(self) -> float:
        tr = self.data.trace
        return contribution_cost(tr.steps, tr.hidden, len(self.sources))

    @property
    def cheap(self) -> bool:
        return self.cost <= AUTO_COMPUTE_MACS

    @property
    def ready(self) -> bool:
        return self._image is not None

    def compute(self) -> ContributionImage:
        return finish(self.job())

    def job(self) -> Job:
        """The matrix as a job (``model/jobs.py``): yields ``(steps done, T, what)`` after
        each step of its backward pass, keeps the image at the end and returns it. A job
        closed early keeps nothing (``ready`` stays False)."""
        if self._image is None:
            steps = loss_to_cell_steps(self.data.trace, self.sources)
            T = self.data.trace.steps
            while True:
                # NaN, Inf and overflow are what the matrix shows (reserved colours); the
                # errstate is set per step, never left set across a yield
                with np.errstate(all="ignore"):
                    try:
                        done = next(steps)
                    except StopIteration as stop:
                        sources, M = stop.value
                        break
                yield done, T, "the loss-to-cell matrix"
            self._image = self._build(sources, M)
        return self._image

    @staticmethod
    def _build(sources: np.ndarray, M: np.ndarray) -> ContributionImage:
        K, T = M.shape
        future = np.arange(T)[None, :] > sources[:, None]
        past = M[~future]
        special = count_special(past)
        zero = (M == 0) & ~future
        with np.errstate(all="ignore"):
            log = np.log10(M)
        usable = np.isfinite(log) & ~future
        if usable.any():
            hi = float(log[usable].max())
            lo = max(float(log[usable].min()), hi - 12.0)
        else:
            lo, hi = -1.0, 0.0
        if hi <= lo:
            lo = hi - 1.0
        img = np.where(usable, log, lo).astype(np.float32)
        overlay = special_rgba(np.where(future, 0.0, M)) if special.total else None
        return ContributionImage(sources, M, img, future, zero, (lo, hi), special, overlay)

    def table(self) -> tuple[list[str], list[list]]:
        img = self.compute()
        T = img.norms.shape[1]
        header = ["loss_step", *(f"t={t}" for t in range(T))]
        rows = [[int(k), *(None if img.future[n, t] else img.norms[n, t] for t in range(T))]
                for n, k in enumerate(img.sources)]
        return header, rows
