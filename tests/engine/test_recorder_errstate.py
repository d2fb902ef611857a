"""The recorder's helper thread computes under its caller's numpy error settings.

``np.errstate`` is a context variable: a pool thread does not see the caller's unless it
is handed over. A pass whose backward overflows (here: f held at 1 over a thousand
float32 steps, so s, h and ds grow without bound) is legitimate to record and show; a caller that
says ``np.errstate(all="ignore")`` must then hear no warning from any thread (pytest turns
warnings into errors here).
"""

import numpy as np

from lstm_engine.helper import BLOCK
from lstm_engine.init import make_params
from lstm_engine.interventions import Clamp, Interventions
from lstm_engine.recorder import record


def _exploding_pass():
    rng = np.random.default_rng(3)
    p = make_params("uniform", 32, 64, rng)
    T = 8 * BLOCK                           # long enough for the helper thread's blocks
    x = rng.uniform(0, 1, (T, 32))
    y = rng.uniform(-0.5, 0.5, T)
    f_is_1 = Interventions(clamp=(Clamp.parse("f=1"),))     # s, h and ds grow without bound
    return record(p, x, y, "seed", dtype="float32", interventions=f_is_1)


def test_errstate_of_the_caller_holds_on_the_helper_thread():
    with np.errstate(all="ignore"):
        trace = _exploding_pass()
    assert not np.all(np.isfinite(trace["bottom_diff_h"]))    # it did overflow


def test_without_errstate_the_overflow_is_still_reported():
    with np.errstate(all="warn"):
        try:
            _exploding_pass()
        except RuntimeWarning:
            return
    raise AssertionError("an overflowing pass recorded without a word")
