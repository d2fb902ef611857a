"""lstm_engine: a recording LSTM engine (forward pass and BPTT) in pure numpy.

The equations and names are those of the "Simple LSTM" source document; see
``cell.py`` for the readable per-step cell and ``recorder.py`` for the fast recorder;
``model.py`` stacks cells into a model (embedding, layers, read-out, loss) and records it,
``model_driver.py`` is its readable per-step twin.
This package never imports Qt.
"""

from .cell import BACKWARD_STATEMENTS, FORWARD_STATEMENTS, VARIANTS, cell_backward, cell_forward
from .losses import LossOutput, ReadoutCrossEntropy, ReadoutMSE, ToyLoss, make_loss
from .model import Model, ModelTrace, model_forward_loss, record_model, select_sequence
from .model_driver import run_model_stepwise
from .params import PARAM_NAMES, Params, init_published, init_uniform, published_example
from .recorder import record, run_stepwise
from .tasks import TASKS, make_task
from .trace import BACKWARD_NAMES, FORWARD_NAMES, GRAD_NAMES, STEP_NAMES, Trace
from .training import TrainConfig, Trainer, build_trainer

__all__ = [
    "BACKWARD_NAMES", "BACKWARD_STATEMENTS", "FORWARD_NAMES", "FORWARD_STATEMENTS",
    "GRAD_NAMES", "PARAM_NAMES", "STEP_NAMES", "TASKS", "VARIANTS", "LossOutput", "Model",
    "ModelTrace", "Params", "ReadoutCrossEntropy", "ReadoutMSE", "ToyLoss", "Trace",
    "TrainConfig", "Trainer", "build_trainer", "cell_backward", "cell_forward",
    "init_published", "init_uniform", "make_loss", "make_task", "model_forward_loss",
    "published_example", "record", "record_model", "run_model_stepwise", "run_stepwise",
    "select_sequence",
]
