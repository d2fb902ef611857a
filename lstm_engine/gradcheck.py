"""Gradient check: the hand-derived backward pass against centred finite differences.

For every entry θ of every parameter array (the cell's eight and the loss's own; for a
stacked Model every layer's, the embedding's and the read-out's)::

    numeric  = (L(θ-2ε) - 8 L(θ-ε) + 8 L(θ+ε) - L(θ+2ε)) / 12ε
    relative = |analytic - numeric| / max(|analytic|, |numeric|, floor)

always in float64. The fourth-order centred stencil has truncation error O(ε⁴), which
lets ε be large enough (1e-3) that rounding, O(u·L/ε), stays near 1e-12 in absolute
terms; the second-order one at its best ε leaves ~1e-6 relative error on small entries.
Small arrays are checked entry by entry, large ones at a random sample of entries.
The ``floor`` (``scale_floor`` times the array's largest analytic entry, and
never below ``floor``) keeps entries many orders of magnitude below the rest of their
array, whose numeric estimate is mostly rounding noise, from dominating the verdict. An
array whose analytic gradient is zero throughout (a clamped gate's weights) has no scale
of its own: its floor is ``scale_floor`` times the largest analytic entry of all arrays.

An intervened pass (``interventions.py``) is checked as it ran: its forward
interventions are part of L, so its backward must be dL/dθ of that L. Its cuts are not:
a cut backward is a definition, not a gradient, so the verdict is on the same pass
without its cuts, and the result also reports how far the cut pass's gradients are from
dL/dθ (``GradCheckResult.cut_errors``), as information, never as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .interventions import NONE, Interventions
from .losses import ToyLoss, make_loss
from .params import PARAM_NAMES, Params
from .recorder import forward_loss, record, run_stepwise

STENCIL_STEPS = (-2, -1, 1, 2)
STENCIL_WEIGHTS = np.array([1.0, -8.0, 8.0, -1.0])


def stencil_derivative(f, eps: float) -> float:
    """f'(0) by the fourth-order centred stencil (f(-2ε) - 8f(-ε) + 8f(ε) - f(2ε)) / 12ε;
    its truncation error is O(ε⁴), exact for polynomials of degree up to 4."""
    values = [f(step * eps) for step in STENCIL_STEPS]
    return float(np.dot(STENCIL_WEIGHTS, values) / (12 * eps))


# Verdict thresholds on the largest relative error (float64, ε = 1e-3).
CORRECT_BELOW = 1e-6
WRONG_ABOVE = 1e-3


@dataclass
class ArrayCheck:
    name: str
    errors: np.ndarray          # relative error per entry, NaN where not checked
    analytic: np.ndarray
    numeric: np.ndarray         # NaN where not checked
    checked: int

    @property
    def max_error(self) -> float:
        return float(np.nanmax(self.errors)) if self.checked else 0.0


@dataclass
class GradCheckResult:
    arrays: dict[str, ArrayCheck] = field(default_factory=dict)
    cuts: Interventions = NONE     # the cuts of the pass (the arrays checked run without)
    cut_errors: dict[str, float] = field(default_factory=dict)   # the cut pass's, per array

    @property
    def cut_note(self) -> str | None:
        """What the verdict says about the cuts: None for a pass without any."""
        if not self.cuts:
            return None
        worst = max(self.cut_errors.values(), default=0.0)
        return (f"the cuts ({self.cuts}) are definitions, not gradients: checked without "
                f"them; with them the gradients differ from dL/dθ by up to {worst:.3e}")

    @property
    def max_error(self) -> float:
        errors = [a.max_error for a in self.arrays.values()]    # max() skips a NaN after
        return float("nan") if any(np.isnan(errors)) else max(errors, default=0.0)

    @property
    def verdict(self) -> str:
        """"correct" below 1e-6, "wrong" above 1e-3, "suspect" between."""
        return verdict(self.max_error)


def verdict(max_error: float) -> str:
    if not np.isfinite(max_error) or max_error > WRONG_ABOVE:
        return "wrong"
    return "correct" if max_error < CORRECT_BELOW else "suspect"


def _cuts_of(iv: Interventions) -> Interventions:
    return Interventions(cut=iv.cut, truncate=iv.truncate)


def gradient_check(params: Params, x, y, variant: str = "seed", loss=None, *,
                   forward_variant: str | None = None, eps: float = 1e-3,
                   max_entries: int = 2000, sample: int = 200, floor: float = 1e-12,
                   scale_floor: float = 1e-3,
                   rng: np.random.Generator | None = None, progress=None,
                   interventions: Interventions | None = None) -> GradCheckResult:
    """Check the analytic gradients of L = sum_t l(t) for each parameter array.

    Arrays with at most ``max_entries`` entries are checked completely, larger ones at
    ``sample`` entries drawn from ``rng``. ``forward_variant`` differing from
    ``variant`` checks a backward pass against the wrong forward (a deliberate bug).
    ``progress(done, total)``, if given, is called after every entry checked; it may
    raise to cancel (the exception propagates). ``interventions``: the pass's (see the
    module's docstring for its cuts).
    """
    loss = loss if loss is not None else ToyLoss()
    iv = NONE if interventions is None else interventions
    fwd_variant = forward_variant or variant
    p = params.astype(np.float64)
    loss_params = {k: np.array(v, dtype=np.float64) for k, v in loss.params().items()}
    loss = make_loss(loss.config(), loss_params) if loss_params else loss

    def analytic(with_iv: Interventions):
        if fwd_variant == variant:
            return record(p, x, y, variant, loss, dtype="float64", interventions=with_iv)
        return run_stepwise(p, x, y, variant, loss, dtype="float64",
                            forward_variant=fwd_variant, interventions=with_iv)

    trace = analytic(iv.without_cuts())
    cut = analytic(iv) if iv.cuts else None

    def total_loss() -> float:
        lp = make_loss(loss.config(), loss_params) if loss_params else loss
        return forward_loss(p, x, y, fwd_variant, lp, dtype="float64", interventions=iv)

    targets = [(name, getattr(p, name), trace[f"{name}_diff"], None) for name in PARAM_NAMES]
    targets += [(f"loss.{k}", v, trace.loss_grads[f"{k}_diff"], None)
                for k, v in loss_params.items()]
    cut_grads = None
    if cut is not None:
        cut_grads = {name: cut[f"{name}_diff"] for name in PARAM_NAMES}
        cut_grads.update({f"loss.{k}": cut.loss_grads[f"{k}_diff"] for k in loss_params})
    return _check(targets, total_loss, eps, max_entries, sample, floor, scale_floor,
                  rng, progress, cut_grads, _cuts_of(iv))


def gradient_check_model(model, inputs, targets, *, sequence: int | None = None,
                         forward_variant: str | None = None, eps: float = 1e-3,
                         max_entries: int = 2000, sample: int = 200, floor: float = 1e-12,
                         scale_floor: float = 1e-3, rng: np.random.Generator | None = None,
                         progress=None,
                         interventions: Interventions | None = None) -> GradCheckResult:
    """``gradient_check`` for a whole Model: every layer's eight arrays (``L0.wg`` …), the
    embedding (the entries of the rows whose tokens occur: the others get no gradient
    and do not change L) and the read-out's ``loss.wy``, ``loss.by``; in float64.
    ``forward_variant`` differing from the model's runs the readable driver with the
    wrong forward cells (a deliberate bug the check must flag). ``interventions``: the
    pass's (see the module's docstring for its cuts)."""
    from .model import model_forward_loss, record_model
    from .model_driver import run_model_stepwise

    m = model.astype(np.float64)                 # its arrays are perturbed in place
    iv = NONE if interventions is None else interventions
    fwd_variant = forward_variant or m.variant

    def analytic(with_iv: Interventions):
        if fwd_variant == m.variant:
            return record_model(m, inputs, targets, sequence=sequence, dtype="float64",
                                interventions=with_iv)
        return run_model_stepwise(m, inputs, targets, sequence=sequence, dtype="float64",
                                  forward_variant=fwd_variant, interventions=with_iv)

    trace = analytic(iv.without_cuts())
    grads = trace.grads()
    cut_grads = analytic(iv).grads() if iv.cuts else None
    checked = []
    for name, array in m.arrays().items():
        rows = None
        if name == "embedding":                  # the rows of the tokens that occur
            used = np.unique(trace.tokens)
            rows = (used[:, None] * array.shape[1] + np.arange(array.shape[1])).reshape(-1)
        checked.append((name, array, grads[name], rows))

    def total_loss() -> float:
        if fwd_variant == m.variant:
            return model_forward_loss(m, inputs, targets, sequence=sequence, dtype="float64",
                                      interventions=iv)
        return run_model_stepwise(m, inputs, targets, sequence=sequence, dtype="float64",
                                  forward_variant=fwd_variant, interventions=iv).total_loss

    return _check(checked, total_loss, eps, max_entries, sample, floor, scale_floor, rng,
                  progress, cut_grads, _cuts_of(iv))


def _relative(a: np.ndarray, numeric: np.ndarray, indices, lowest: float) -> np.ndarray:
    return np.abs(a[indices] - numeric[indices]) / np.maximum(
        np.maximum(np.abs(a[indices]), np.abs(numeric[indices])), lowest)


def _check(targets, total_loss, eps, max_entries, sample, floor, scale_floor, rng,
           progress, cut_grads=None, cuts: Interventions = NONE) -> GradCheckResult:
    """Centred differences of ``total_loss()`` for each (name, live array, analytic
    gradient, candidate flat indices or None for all) in ``targets``; ``cut_grads`` (by
    name), the cut pass's gradients, are compared with the same numbers."""
    rng = rng if rng is not None else np.random.default_rng(0)
    chosen = []
    for _, array, _, candidates in targets:
        candidates = np.arange(array.size) if candidates is None else np.asarray(candidates)
        if candidates.size <= max_entries:
            chosen.append(candidates)
        else:
            chosen.append(np.sort(rng.choice(candidates, size=min(sample, candidates.size),
                                             replace=False)))
    total, done = sum(len(c) for c in chosen), 0
    overall = max((float(np.max(np.abs(np.asarray(a, dtype=np.float64)), initial=0.0))
                   for _, _, a, _ in targets), default=0.0)
    result = GradCheckResult(cuts=cuts)
    for (name, array, analytic, _), indices in zip(targets, chosen, strict=True):
        flat = array.reshape(-1)                     # a view: perturbs the live array
        numeric = np.full(flat.size, np.nan)
        for k in indices:
            keep = flat[k]

            def moved(t: float, flat=flat, k=k, keep=keep) -> float:
                flat[k] = keep + t
                return total_loss()
            numeric[k] = stencil_derivative(moved, eps)
            flat[k] = keep
            done += 1
            if progress is not None:
                progress(done, total)
        a = np.asarray(analytic, dtype=np.float64).reshape(-1)
        errors = np.full(flat.size, np.nan)
        own = float(np.max(np.abs(a), initial=0.0))
        lowest = max(floor, scale_floor * (own if own > 0 else overall))
        errors[indices] = _relative(a, numeric, indices, lowest)
        if cut_grads is not None and len(indices):
            c = np.asarray(cut_grads[name], dtype=np.float64).reshape(-1)
            result.cut_errors[name] = float(np.max(_relative(c, numeric, indices, lowest)))
        result.arrays[name] = ArrayCheck(name, errors.reshape(array.shape),
                                         a.reshape(array.shape), numeric.reshape(array.shape),
                                         len(indices))
    return result
