"""Breakpoints: where continue (F5) and play stop. No Qt.

A breakpoint answers ``hits(frame, trace)``. This issue has frame breakpoints only;
conditional ones ("when ds has a NaN") subclass ``Breakpoint`` later and need nothing
else from the session. ``frame`` (or None) tells the timeline where to draw a marker.
"""

from __future__ import annotations

from .frames import Frame


class Breakpoint:
    frame: Frame | None = None

    def hits(self, frame: Frame, trace) -> bool:
        raise NotImplementedError

    def label(self) -> str:
        return type(self).__name__


class FrameBreakpoint(Breakpoint):
    """Stops at one frame."""

    def __init__(self, frame: Frame | str):
        self.frame = Frame.parse(frame) if isinstance(frame, str) else frame

    def hits(self, frame: Frame, trace) -> bool:
        return frame == self.frame

    def label(self) -> str:
        return str(self.frame)

    def __eq__(self, other) -> bool:
        return isinstance(other, FrameBreakpoint) and other.frame == self.frame

    def __hash__(self) -> int:
        return hash(("frame", self.frame))

    def __repr__(self) -> str:
        return f"FrameBreakpoint({str(self.frame)!r})"
