"""Gradient checks of a recorded pass, for the app. No Qt.

``full_check`` runs the engine's finite-difference check (``lstm_engine.gradcheck``) on
the parameters, data and loss of a Trace, with the backward the trace was recorded with
and the forward the run's config names (they differ for the wrong-backward example).

``quick_check`` is what the gradient-check breakpoint uses while training: the engine's
directional check (``lstm_engine.quickcheck``: per parameter array one random direction,
4 forward passes), cheap enough to run every iteration, while the full check perturbs
every entry and takes seconds.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from lstm_engine.gradcheck import (
    CORRECT_BELOW,
    WRONG_ABOVE,
    GradCheckResult,
    gradient_check,
    verdict,
)
from lstm_engine.quickcheck import directional_errors

__all__ = ["CORRECT_BELOW", "WRONG_ABOVE", "full_check", "quick_check", "verdict",
           "thresholds_text", "GradCheckResult", "CheckProgress", "CheckCancelled",
           "worst_first", "error_image"]

EPS = 1e-3                                     # the full check's finite-difference step


def _power(v: float) -> str:
    """1e-06 -> "1e-6" (how people write thresholds)."""
    mantissa, _, exponent = f"{v:.0e}".partition("e")
    return f"{mantissa}e{int(exponent)}"


def thresholds_text() -> str:
    return (f"Verdict on the largest relative error: correct below {_power(CORRECT_BELOW)}, "
            f"wrong above {_power(WRONG_ABOVE)}, suspect between. Numerical gradients: "
            f"fourth-order centred differences, ε = {_power(EPS)}, float64.")


def full_check(trace, forward_variant: str | None = None, *, max_entries: int = 2000,
               sample: int = 200, seed: int = 0, progress=None) -> GradCheckResult:
    """The engine's check on the trace's parameters, inputs, targets and loss.
    ``progress(done, total)`` is called after every entry and may raise to cancel."""
    return gradient_check(trace.params, trace.x, trace.y, trace.variant, trace.loss_fn,
                          forward_variant=forward_variant or trace.variant,
                          max_entries=max_entries, sample=sample, eps=EPS,
                          rng=np.random.default_rng(seed), progress=progress)


class CheckCancelled(Exception):
    """The user cancelled a running check."""


class CheckProgress:
    """The progress callback of a check run in a worker thread: it records how far the
    check got (read by the GUI's timer) and raises CheckCancelled once ``cancel()``."""

    def __init__(self):
        self.done = 0
        self.total = 0
        self._cancel = threading.Event()

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self._cancel.is_set():
            raise CheckCancelled("cancelled")

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def text(self) -> str:
        return (f"checked {self.done:,} of {self.total:,} entries" if self.total
                else "starting…")


def worst_first(result: GradCheckResult) -> list:
    """The checked arrays, the largest relative error first (NaN/Inf counts as worst)."""
    def key(a):
        e = a.max_error
        return -math.inf if not math.isfinite(e) else -e
    return sorted(result.arrays.values(), key=key)


def error_image(errors) -> tuple[np.ndarray, int]:
    """``(image, unchecked)``: log10 of the per-entry relative error as a 2-D float32 image
    (rows x columns; a 1-D array is one row), NaN where an entry was not checked."""
    err = np.asarray(errors, np.float64)
    if err.ndim == 1:
        err = err[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        img = np.log10(np.maximum(err, 1e-16)).astype(np.float32)
    return img, int(np.isnan(err).sum())


def quick_check(trace, forward_variant: str | None = None) -> dict[str, float]:
    """Relative error of the directional derivative along one random direction per array
    (``lstm_engine.quickcheck``), with the step of the full check."""
    return directional_errors(trace, forward_variant, eps=EPS)
