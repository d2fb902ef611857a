"""lstm_engine: a recording LSTM engine (forward pass and BPTT) in pure numpy.

The equations and names are those of the "Simple LSTM" source document; see
``cell.py`` for the readable per-step cell and ``recorder.py`` for the fast recorder.
This package never imports Qt.
"""

from .cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS, VARIANTS, cell_backward, cell_forward
from .losses import LossOutput, ToyLoss, make_loss
from .params import PARAM_NAMES, Params, init_published, init_uniform, published_example
from .recorder import record, run_stepwise
from .trace import BACKWARD_NAMES, FORWARD_NAMES, GRAD_NAMES, STEP_NAMES, Trace

__all__ = [
    "BACKWARD_NAMES", "BACKWARD_STATEMENTS", "FORWARD_NAMES", "FORWARD_STATEMENTS",
    "GRAD_NAMES", "PARAM_NAMES", "STEP_NAMES", "VARIANTS", "LossOutput", "Params",
    "ToyLoss", "Trace", "cell_backward", "cell_forward", "init_published", "init_uniform",
    "make_loss", "published_example", "record", "run_stepwise",
]
