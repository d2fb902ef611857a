"""What the picture views show at a frame, shared per trace. No Qt.

Everything in this package is a function of a ``FrameData`` (one Trace) and a frame index,
built on what ``FrameData`` already knows (which statements have run, the live
accumulators), one module per picture:

* ``known``: the steps of a per-step quantity computed at a frame;
* ``time_maps``: the time x unit heatmaps;
* ``param_grads``: the parameter-gradient heatmaps;
* ``carousel``: the vectors on each edge of the cell diagram;
* ``flow``: per-step gradient norms and the forget-gate product;
* ``contributions``: the loss-to-cell matrix;
* ``bars``: the bar plot under the variables table;
* ``tables``: every view's table, for export.

``ViewData.of(frame_data)`` shares one cache per trace between all views.
"""

from __future__ import annotations

import weakref

from ..model.frame_data import FrameData
from .bars import BarRanges
from .carousel import Carousel
from .contributions import Contributions
from .flow import Flow
from .known import known_steps
from .param_grads import ParamGrads
from .time_maps import TimeMap


class ViewData:
    """All view caches of one trace (one FrameData); ``ViewData.of(data)`` shares them.
    It lives as long as its FrameData (the session's), which its caller holds."""

    def __init__(self, data: FrameData):
        # A proxy: the FrameData holds its ViewData (``of``), and a strong reference back
        # would make the pair a cycle that only the garbage collector frees, with the
        # whole trace, some time after the session has moved on.
        data = weakref.proxy(data)
        self.data = data
        self._maps: dict[str, TimeMap] = {}
        self.params = ParamGrads(data)
        self.carousel = Carousel(data)
        self.flow = Flow(data)
        self.contributions = Contributions(data)
        self.bars = BarRanges(data)

    @classmethod
    def of(cls, data: FrameData) -> ViewData:
        # Kept on the FrameData, so it goes when the trace goes, by reference counting.
        # (A WeakKeyDictionary from FrameData to ViewData kept every trace alive: the value
        # referred to its key.)
        found = getattr(data, "_view_data", None)
        if found is None:
            found = data._view_data = cls(data)
        return found

    def time_map(self, name: str) -> TimeMap:
        found = self._maps.get(name)
        if found is None:
            found = self._maps[name] = TimeMap(self.data.trace, name)
        return found

    def known(self, name: str, index: int) -> tuple[int, int]:
        return known_steps(self.data, name, self.data.model.frame(index))

    def time_levels(self, name: str, index: int, autoscale: bool) -> tuple[float, float]:
        return self.time_map(name).levels(self.known(name, index), autoscale)
