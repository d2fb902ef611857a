"""The session's layers: a pass of any depth, and the layer the per-step views show. No
Qt.

The pass is a plain Trace (one cell) or a ``ModelTrace`` (``lstm_engine/model.py``) of L
stacked layers. The cursor moves over the whole model's frames (``FrameModel(steps,
L)``: each frame names its layer, docs/frames.md); every per-step view shows one layer's
Trace, the *layer in view*: the cursor's (the top layer at the loss) unless pinned
(``set_view_layer``). What is known of layer l at the cursor is the one-layer frame
``frames.local_frame``; ``local_index`` is its index into that layer's FrameData. With
one layer the local frame is the cursor's and nothing differs from a single cell.
"""

from __future__ import annotations

from lstm_engine.errors import UserError
from lstm_engine.model import ModelTrace

from .frame_data import FrameData
from .frames import Frame, FrameModel, describe


def layer_traces(trace) -> tuple:
    """The one-cell Traces of a pass: a ModelTrace's layers, or the Trace itself."""
    return tuple(trace.layers) if isinstance(trace, ModelTrace) else (trace,)


def first_layer(trace):
    """Layer 0's Trace of a pass (the pass itself for a plain Trace): what describes its
    configuration (``config_from_trace``)."""
    return layer_traces(trace)[0]


class Layers:
    """The layers of ``session``'s pass and the layer in view."""

    def __init__(self, session, trace, config):
        self._session = session
        self.model_trace: ModelTrace | None = None
        self._data: list[FrameData] = []
        self.frames: FrameModel
        self.pinned: int | None = None          # the layer the views are pinned to
        self.view_layer = 0
        self.hold(trace, config)

    def hold(self, trace, config) -> None:
        """Hold the pass ``trace`` recorded under ``config`` (a RunConfig), a FrameData per
        layer (the view layer is brought in range; ``update`` follows the cursor once it
        is set). Each layer's forward cell is ``config.variant`` even when its backward,
        the trace's variant, is another (the wrong backward)."""
        self.model_trace = trace if isinstance(trace, ModelTrace) else None
        forward = config.variant if config.backward else None
        data = [FrameData(tr, forward) for tr in layer_traces(trace)]
        self._data = data
        n = len(data)
        self.frames = data[0].model if n == 1 else FrameModel(data[0].trace.steps, n)
        if self.pinned is not None and self.pinned >= n:
            self.pinned = None
        self.view_layer = min(self.view_layer, n - 1)

    @property
    def shown_pass(self):
        """The pass as it was given: the ModelTrace, or the plain Trace (what is saved)."""
        return self.model_trace if self.model_trace is not None else self.data().trace

    @property
    def count(self) -> int:
        return len(self._data)

    def data(self, layer: int | None = None) -> FrameData:
        """The FrameData of layer ``layer`` (default: the one in view)."""
        return self._data[self.view_layer if layer is None else layer]

    # ---- the layer in view ----------------------------------------------------------------

    def set_view_layer(self, layer: int | None) -> bool:
        """Pin the views to ``layer`` (None: follow the cursor's). True (and
        ``view_layer_changed``) if the choice changed; UserError for a layer the model
        does not have."""
        if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int)
                                  or not 0 <= layer < self.count):
            raise UserError(f"there is no layer {layer!r}; this run has layers "
                            f"0…{self.count - 1}")
        if layer == self.pinned:
            return False
        self.pinned = layer
        if not self.update():                          # the same layer, pinned or freed:
            self._session.events.view_layer_changed.emit(self.view_layer)  # the selector
        return True

    def cycle(self) -> bool:
        """The layer selector's next choice: follows the cursor, layer 0, 1, …, and round
        again (nothing to choose with one layer)."""
        if self.count == 1:
            return False
        p = self.pinned
        return self.set_view_layer(0 if p is None else (p + 1 if p + 1 < self.count else None))

    def update(self) -> bool:
        """Follow the cursor (unless pinned); ``view_layer_changed`` if the layer changed."""
        layer = self.pinned
        if layer is None:
            layer = self._session.frame.layer
            layer = self.count - 1 if layer is None else layer
        if layer == self.view_layer:
            return False
        self.view_layer = layer
        self._session.events.view_layer_changed.emit(layer)
        return True

    # ---- one layer's view of the cursor ---------------------------------------------------

    def local_frame(self, layer: int | None = None) -> Frame:
        """The one-layer frame of layer ``layer`` (default: the one in view) at the cursor
        (``frames.local_frame``): what the views of that layer show."""
        frame = self._session.frame
        if self.count == 1:
            return frame
        return self.frames.local_frame(frame, self.view_layer if layer is None else layer)

    def local_index(self, layer: int | None = None) -> int:
        """The index into ``data(layer)`` (default: the layer in view) of
        ``local_frame(layer)``."""
        if self.count == 1:
            return self._session.cursor
        return self.data(layer).model.index(self.local_frame(layer))

    def describe_frame(self) -> str:
        """What the cursor's frame computes (``frames.describe``), with its layer."""
        s = self._session
        if self.count == 1:
            return self.data().describe(s.cursor)
        frame = s.frame
        data = self.data(frame.layer)                # the loss: the layer in view
        total = data.trace.total_loss if frame.phase == "loss" else None
        variant = data.forward_variant if frame.phase == "fwd" else data.trace.variant
        return describe(frame, variant, total)
