"""lstm_engine: a recording LSTM engine (forward pass and BPTT) in pure numpy.

The equations and names are those of the "Simple LSTM" source document; see
``cell.py`` for the readable per-step cell and ``recorder.py`` for the fast recorder.
This package never imports Qt.
"""

from .cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS, VARIANTS, cell_backward, cell_forward
from .losses import LossOutput, ReadoutCrossEntropy, ReadoutMSE, ToyLoss, make_loss
from .params import PARAM_NAMES, Params, init_published, init_uniform, published_example
from .recorder import record, run_stepwise
from .tasks import TASKS, make_task
from .trace import BACKWARD_NAMES, FORWARD_NAMES, GRAD_NAMES, STEP_NAMES, Trace
from .training import TrainConfig, Trainer, build_trainer

__all__ = [
    "BACKWARD_NAMES", "BACKWARD_STATEMENTS", "FORWARD_NAMES", "FORWARD_STATEMENTS",
    "GRAD_NAMES", "PARAM_NAMES", "STEP_NAMES", "TASKS", "VARIANTS", "LossOutput", "Params",
    "ReadoutCrossEntropy", "ReadoutMSE", "ToyLoss", "Trace", "TrainConfig", "Trainer",
    "build_trainer", "cell_backward", "cell_forward", "init_published", "init_uniform",
    "make_loss", "make_task", "published_example", "record", "run_stepwise",
]
