"""Play: the cursor advancing on its own at a chosen speed, until the end of the pass or a
breakpoint. No Qt: the GUI's timer calls ``tick`` once per frame at ``speed``."""

from __future__ import annotations

import numpy as np

from lstm_engine.errors import UserError
from lstm_engine.textsafe import show

SPEEDS = (1, 2, 5, 10, 25, 60, 120, 500)      # frames per second offered by the GUI
MIN_SPEED, MAX_SPEED = 0.1, 5000.0
DEFAULT_SPEED = 10.0


class Player:
    """Whether the session plays and how fast. ``session`` is the Session it moves."""

    def __init__(self, session):
        self._session = session
        self.playing = False
        self.speed = DEFAULT_SPEED

    def play(self) -> bool:
        """Start playing (from the first frame if the cursor is at the last)."""
        s = self._session
        if self.playing:
            return False
        if s.cursor == s.frames.last:
            s.seek(0)
        self._set_playing(True)
        return True

    def pause(self) -> bool:
        if not self.playing:
            return False
        self._set_playing(False)
        return True

    def toggle(self) -> bool:
        return self.pause() if self.playing else self.play()

    def tick(self) -> bool:
        """One frame of playback: advance, and pause at the end or at a breakpoint.
        Returns whether playback goes on."""
        s = self._session
        if not self.playing:
            return False
        with s.events.batch():
            s.seek(s.cursor + 1)
            if s.stops.holds_at(s.cursor):
                self._set_playing(False)
                s.stops.stop_at(s.cursor)
            elif s.cursor == s.frames.last:
                self._set_playing(False)
        return self.playing

    def _set_playing(self, value: bool) -> None:
        self.playing = value
        self._session.events.playing_changed.emit(value)

    def set_speed(self, frames_per_second: float) -> bool:
        """Frames per second of play, held between MIN_SPEED and MAX_SPEED; UserError for
        a value that is not a finite number (a NaN would pass both bounds)."""
        if isinstance(frames_per_second, bool) or not isinstance(
                frames_per_second, int | float | np.integer | np.floating) \
                or not np.isfinite(frames_per_second):
            raise UserError(f"the speed must be a finite number of frames per second, "
                            f"got {show(frames_per_second)}")
        value = float(min(max(frames_per_second, MIN_SPEED), MAX_SPEED))
        if value == self.speed:
            return False
        self.speed = value
        self._session.events.speed_changed.emit(value)
        return True
