"""The read-out, embedding, depth and token pictures of the shown pass, shared by their
views and built on first use. No Qt.

``ModelViews.of(session)`` keeps one per pass on layer 0's FrameData (it goes with the
pass, like ``view_data.ViewData``, and stays when the layer in view changes); it reads
the whole model's pass (``session.layers.shown_pass``: the ModelTrace, or a single cell's Trace
taken as a one-layer model) and the vocabulary the pass or its run carries
(``tokens.pass_vocabulary``). Frames are the whole model's (``session.frame``, with its
layer), never one layer's local frame.
"""

from __future__ import annotations

from functools import cached_property

from lstm_engine.model import ModelTrace

from ..model.frames import Frame
from .depth_flow import DepthFlow
from .embedding_grads import EmbeddingGrads
from .model_pass import model_pass
from .predictions import Predictions
from .readout_grads import ReadoutGrads
from .tokens import Tokens, pass_vocabulary


class ModelViews:
    def __init__(self, trace, vocab: tuple[str, ...] | None):
        self.trace = trace
        self.vocab = vocab

    @classmethod
    def of(cls, session) -> ModelViews:
        trace = session.layers.shown_pass
        vocab = pass_vocabulary(trace, session.config)
        data = session.layers.data(0)
        found = getattr(data, "_model_views", None)
        if found is None or found.trace is not trace or found.vocab != vocab:
            found = cls(trace, vocab)
            data._model_views = found
        return found

    @cached_property
    def model(self) -> ModelTrace:
        return model_pass(self.trace)

    @cached_property
    def tokens(self) -> Tokens | None:
        return Tokens.of(self.trace, self.vocab)

    @cached_property
    def predictions(self) -> Predictions:
        return Predictions(self.model)

    @cached_property
    def readout_grads(self) -> ReadoutGrads:
        return ReadoutGrads(self.model)

    @cached_property
    def embedding_grads(self) -> EmbeddingGrads:
        return EmbeddingGrads(self.model)

    @cached_property
    def depth_flow(self) -> DepthFlow:
        return DepthFlow(self.model)

    def focus(self, frame) -> int:
        """The step a frame is at (the last step at the loss frame)."""
        return self.model.steps - 1 if frame.t is None else frame.t

    def step_token(self, frame) -> str:
        """What a frame label says of its step's token ("" without tokens or at the
        loss): ``token 'a' (id 3)``."""
        tok = self.tokens
        if tok is None or frame.t is None or not 0 <= frame.t < tok.steps:
            return ""
        return tok.step_label(frame.t)

    # what the pass has (a view is shown only then)
    def has_readout(self) -> bool:
        return self.predictions.available

    def has_embedding(self) -> bool:
        return getattr(self.trace, "dE", None) is not None

    def has_layers(self) -> bool:
        return getattr(self.trace, "num_layers", 1) > 1


def step_frame(steps: int, t: int, backward: bool) -> Frame:
    """Where a click on step t of a picture goes: the end of that whole time step in the
    backward pass (``backward``) or the forward pass (clamped to the steps)."""
    return Frame("bwd" if backward else "fwd", min(max(int(t), 0), steps - 1))
