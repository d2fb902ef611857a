"""The session's breakpoints: the list, where each holds in a pass, and the last stop on
one. No Qt.

A breakpoint is evaluated once per pass (``Breakpoint.evaluate`` gives every frame where
it holds, see ``breakpoints.py``) and the answer is kept until the pass changes; continue,
reverse continue, play and live training then look frames up in it. A stop (``Stop``)
says where continue, play or training stopped and which breakpoints held there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_engine.errors import UserError

from .breakpoints import (
    MAX_BREAKPOINTS,
    NO_HITS,
    Breakpoint,
    FrameBreakpoint,
    Hits,
    LayerBreakpoint,
    parse_breakpoint,
)
from .frames import Frame, FrameModel
from .hits import merge_layers
from .layer_view import layer_traces


@dataclass(frozen=True)
class Stop:
    """Where continue, play or training stopped on a condition, and why."""

    index: int                      # the frame
    frame: str                      # its text form
    reasons: tuple[str, ...]        # one per breakpoint that holds there
    iteration: int | None = None    # the training iteration, when training stopped

    def text(self) -> str:
        where = (self.frame if self.iteration is None
                 else f"iteration {self.iteration}, {self.frame}")
        return f"stopped at {where}: {'; '.join(self.reasons)}"


def as_breakpoint(bp: Breakpoint | Frame | str) -> Breakpoint:
    """A Breakpoint, a Frame (a frame breakpoint there) or a spec such as ``fwd:3`` or
    ``norm ds < 1e-6``, as a Breakpoint."""
    if isinstance(bp, Breakpoint):
        return bp
    if isinstance(bp, Frame):
        return FrameBreakpoint(bp)
    return parse_breakpoint(bp)


class Stops:
    """The breakpoints of ``session``, their hits per pass and the last stop."""

    def __init__(self, session):
        self._session = session
        self.list: list[Breakpoint] = []
        self.stop: Stop | None = None
        self._hits: dict[str, tuple[object, Hits]] = {}   # spec -> (trace, hits)

    # ---- where breakpoints hold -----------------------------------------------------------

    def hits(self, bp: Breakpoint, trace=None) -> Hits:
        """Where ``bp`` holds in the shown pass (or ``trace``: a Trace or a ModelTrace),
        evaluated once per pass; in a stacked model on every layer (docs/frames.md)."""
        s = self._session
        shown = s.layers.shown_pass
        trace = shown if trace is None else trace
        key = bp.spec()
        found = self._hits.get(key)
        if found is not None and found[0] is trace:
            return found[1]
        layers = layer_traces(trace)
        model = s.frames if trace is shown else FrameModel(layers[0].steps, len(layers))
        try:
            with np.errstate(all="ignore"):
                if len(layers) == 1:
                    hits = bp.evaluate(layers[0], model, s)
                else:
                    hits = merge_layers([(n, bp.evaluate(tr, model, s, n))
                                         for n, tr in enumerate(layers)])
        except UserError:
            hits = NO_HITS
        if trace is shown:
            self._hits[key] = (trace, hits)
        return hits

    def forget_hits(self, prefix: str = "") -> None:
        """Evaluate again the breakpoints whose spec starts with ``prefix`` (all: "")."""
        self._hits = {k: v for k, v in self._hits.items() if not k.startswith(prefix)}

    def next_hit(self, start: int, direction: int) -> int | None:
        """The nearest frame after (``direction`` +1) or before (-1) ``start`` where an
        enabled breakpoint holds."""
        best = None
        for bp in self.list:
            if not bp.enabled:
                continue
            hits = self.hits(bp)
            k = hits.after(start) if direction > 0 else hits.before(start)
            if k is None:
                continue
            i = int(hits.indices[k])
            if best is None or (i - best) * direction < 0:
                best = i
        return best

    def reasons_at(self, index: int) -> list[tuple[Breakpoint, str]]:
        out = []
        for bp in self.list:
            if not bp.enabled:
                continue
            hits = self.hits(bp)
            k = hits.at(index)
            if k is not None:
                layer = hits.layer(k)
                reason = bp.reason(hits, k)
                out.append((bp, reason if layer is None else f"layer {layer}: {reason}"))
        return out

    def holds_at(self, index: int) -> bool:
        return bool(self.reasons_at(index))

    def first_condition(self, trace, conditions) -> int | None:
        """The first frame of ``trace`` where one of ``conditions`` holds."""
        best = None
        for bp in conditions:
            hits = self.hits(bp, trace)
            if len(hits) and (best is None or hits.indices[0] < best):
                best = int(hits.indices[0])
        return best

    def conditions(self) -> list[Breakpoint]:
        """The enabled breakpoints that are not about one frame (what stops training)."""
        return [bp for bp in self.list if bp.enabled and not bp.per_frame_only]

    def frame_index(self, bp: Breakpoint) -> int | None:
        if bp.frame is None:
            return None
        try:
            return self._session.frames.index(bp.frame)
        except UserError:
            return None

    def indices(self) -> list[int]:
        """Frame indices of the breakpoints that sit at one frame (for the timeline)."""
        out = (self.frame_index(bp) for bp in self.list)
        return sorted(i for i in out if i is not None)

    def condition_indices(self) -> list[int]:
        """Frames where an enabled condition holds in this pass (for timeline marks)."""
        out: set[int] = set()
        for bp in self.list:
            if bp.enabled and bp.frame is None:
                out.update(int(i) for i in self.hits(bp).indices[:2000])
        return sorted(out)

    # ---- stopping -------------------------------------------------------------------------

    def continue_(self, direction: int) -> bool:
        """Forward (+1) or back (-1) to the nearest frame where an enabled breakpoint holds,
        else to the end (or the start) of the pass."""
        s = self._session
        found = self.next_hit(s.cursor, direction)
        if found is not None:
            return self.stop_at(found)
        with s.events.batch():
            moved = s.seek(s.frames.last if direction > 0 else 0)
            if moved:                       # (a no-op at the end stays silent)
                where = "at the end of the pass" if direction > 0 else \
                    "at the start of the pass"
                enabled = any(bp.enabled for bp in self.list)
                s.events.no_hit.emit(
                    f"no breakpoint {'hit' if enabled else 'enabled'} — {where}")
        return moved

    def stop_at(self, index: int, iteration: int | None = None,
                reasons: tuple[str, ...] = ()) -> bool:
        """Move to a frame where breakpoints hold (or for ``reasons`` of its own): count the
        hits, keep the reasons."""
        s = self._session
        found = self.reasons_at(index)
        with s.events.batch():
            for bp, _ in found:
                bp.hit_count += 1
            moved = s.seek(index)
            self.set_stop(Stop(index, s.frames.text(index),
                               (*reasons, *(r for _, r in found)), iteration))
            if found:
                s.events.breakpoints_changed.emit()
        return moved

    def set_stop(self, stop: Stop | None) -> None:
        if stop != self.stop:
            self.stop = stop
            self._session.events.stopped.emit(stop)

    # ---- the list -------------------------------------------------------------------------

    def find(self, bp: Breakpoint | Frame | str) -> Breakpoint | None:
        bp = as_breakpoint(bp)
        for have in self.list:
            if have == bp:
                return have
        return None

    def add(self, bp: Breakpoint | Frame | str) -> bool:
        """Add a frame breakpoint (Frame or ``fwd:3``) or a condition (a Breakpoint or its
        spec, e.g. ``norm ds < 1e-6``). False if the same one is there already."""
        bp = as_breakpoint(bp)
        self._check(bp)
        if bp in self.list:
            return False
        if len(self.list) >= MAX_BREAKPOINTS:
            raise UserError(f"there are {MAX_BREAKPOINTS} breakpoints already, the most a "
                            "session keeps; remove some first")
        self.list.append(bp)
        self._session.events.breakpoints_changed.emit()
        return True

    def _check(self, bp: Breakpoint) -> None:
        """UserError for a frame this run lacks, or a layer it does not have."""
        if isinstance(bp, FrameBreakpoint):
            self._session.frames.index(bp.frame)       # UserError if it is not in this run
        elif isinstance(bp, LayerBreakpoint) and bp.layer >= self._session.num_layers:
            n = self._session.num_layers
            raise UserError(f"breakpoint {bp.spec()!r}: this run has "
                            + ("one layer (L0)" if n == 1 else f"layers 0…{n - 1}"))

    def remove(self, bp: Breakpoint | Frame | str) -> bool:
        have = self.find(bp)
        if have is None:
            return False
        self.list.remove(have)
        self._hits.pop(have.spec(), None)
        self._session.events.breakpoints_changed.emit()
        return True

    def set_enabled(self, bp: Breakpoint | Frame | str, enabled: bool) -> bool:
        have = self.find(bp)
        if have is None:
            raise UserError(f"there is no breakpoint {as_breakpoint(bp).spec()!r}")
        if have.enabled == bool(enabled):
            return False
        have.enabled = bool(enabled)
        self._session.events.breakpoints_changed.emit()
        return True

    def reset_hit_counts(self) -> bool:
        if not any(bp.hit_count for bp in self.list):
            return False
        for bp in self.list:
            bp.hit_count = 0
        self._session.events.breakpoints_changed.emit()
        return True

    def toggle(self, frame: Frame | str) -> bool:
        """Add a breakpoint at ``frame``, or remove it. Returns whether there is one now."""
        bp = FrameBreakpoint(frame)
        if bp in self.list:
            self.remove(bp)
            return False
        self.add(bp)
        return True

    def clear(self) -> bool:
        if not self.list:
            return False
        with self._session.events.batch():
            self.list.clear()
            if self.stop is not None and self.stop.iteration is None:
                self.set_stop(None)         # "stopped at … breakpoint …" named what is gone
            self._session.events.breakpoints_changed.emit()
        return True

    def replace(self, breakpoints) -> None:
        """Hold ``breakpoints`` instead (a restored or adopted session's), each checked as
        ``add`` checks it: UserError, and nothing changes, for one the pass has no frame
        for, or for more than MAX_BREAKPOINTS. Linear in their number (the same one twice
        is kept once, found by its text form: a saved session may hold thousands)."""
        new: list[Breakpoint] = []
        seen: set[str] = set()
        for bp in map(as_breakpoint, breakpoints):
            spec = bp.spec()
            if spec in seen:
                continue
            self._check(bp)
            seen.add(spec)
            new.append(bp)
            if len(new) > MAX_BREAKPOINTS:
                raise UserError(f"more than the {MAX_BREAKPOINTS} breakpoints a session keeps")
        if new or self.list:
            self.list = new
            self._hits.clear()
            self._session.events.breakpoints_changed.emit()

    def new_pass(self) -> None:
        """A new pass is shown: its hits are not known yet, the last stop is gone, and the
        frame breakpoints at frames the pass lacks go (a shorter run)."""
        self._hits.clear()
        self.set_stop(None)
        kept = [bp for bp in self.list if bp.frame is None or self.frame_index(bp) is not None]
        if len(kept) != len(self.list):
            self.list = kept
            self._session.events.breakpoints_changed.emit()
