"""The session's gradient checks: full checks attached to the passes they ran on, and the
quick directional check the gradient-check breakpoint uses, computed once per pass. No Qt.

Both are kept for the last few passes (``KEEP``): while training, the breakpoint asks
for the errors of every new pass, and scrubbing back to a recent one must not pay again.
Entries are keyed by the pass's ``id`` and hold the pass itself, so an id reused by a
later object never answers for it.
"""

from __future__ import annotations

from lstm_engine.errors import UserError

from .checks import full_check, quick_check

KEEP = 8                                       # passes whose checks are kept


def _put(cache: dict, trace, value) -> None:
    cache[id(trace)] = (trace, value)
    while len(cache) > KEEP:
        cache.pop(next(iter(cache)))


def _get(cache: dict, trace):
    found = cache.get(id(trace))
    return found[1] if found is not None and found[0] is trace else None


class CheckCache:
    """Gradient-check results per pass for ``session``."""

    def __init__(self, session):
        self._session = session
        self._full: dict[int, tuple[object, object]] = {}
        self._quick: dict[int, tuple[object, dict]] = {}

    def set_result(self, result, trace=None) -> None:
        """Attach a full gradient check's result to a pass (default: the shown one)."""
        s = self._session
        _put(self._full, s.trace if trace is None else trace, result)
        s.stops.forget_hits("gradcheck")      # its breakpoints read the errors anew
        s.events.gradcheck_changed.emit(result)

    def result(self, trace=None):
        return _get(self._full, self._session.trace if trace is None else trace)

    def run(self, **options):
        """The engine's finite-difference check on the shown pass (can take seconds)."""
        s = self._session
        if s.num_layers > 1:
            raise UserError("the app's gradient check is of one cell; check a stacked model "
                            "with lstm-engine gradcheck")
        result = full_check(s.trace, s.forward_variant, **options)
        self.set_result(result)
        return result

    def errors(self, trace) -> dict[str, float]:
        """Max relative error per array of a pass: from a full check if one ran on it,
        else from the quick directional check (cached per pass)."""
        full = self.result(trace)
        if full is not None:
            return {name: a.max_error for name, a in full.arrays.items()}
        errors = _get(self._quick, trace)
        if errors is None:
            errors = quick_check(trace, self._session.forward_variant)
            _put(self._quick, trace, errors)
        return errors

    def take_from(self, other: CheckCache) -> None:
        """Keep the full checks ``other`` holds too (a session being adopted)."""
        for trace, result in other._full.values():
            _put(self._full, trace, result)
