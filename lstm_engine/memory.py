"""How much memory there is, and how much the engine's work will take of it.

``available_memory()`` is what the operating system can give a process without swapping
(Linux's ``MemAvailable``: free pages plus the caches it can drop), measured by psutil on
every platform the app runs on. The engine lets one file or one computation take at most
half of it (``memory_limit``), leaving the rest to the process around it and the system.

The estimates are the peaks measured with ``tracemalloc`` (recording, a training
iteration), rounded up: they are checked from the sizes alone, before anything is
allocated, so a size typed or read too large is refused with what it would cost.
"""

from __future__ import annotations

import os

import numpy as np

from .errors import UserError

MIN_LIMIT = 64 * 2**20          # never refuse a small file because the machine is busy


def available_memory() -> int:
    """Bytes of memory available to a new allocation without swapping (MemAvailable)."""
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except Exception:                # noqa: BLE001 - psutil missing or failing: fall back
        pass
    try:                                                    # Linux without psutil
        with open("/proc/meminfo", encoding="ascii") as fp:
            for line in fp:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:                  # free pages only: less than is available, never more
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * MIN_LIMIT         # nothing can be measured: allow only small work


def memory_limit() -> int:
    """Bytes one file or one computation may take: half of the memory available now."""
    return max(available_memory() // 2, MIN_LIMIT)


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``340 MiB``, ``12 KiB``, ``800 bytes``."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def check_fits(need: float, what: str) -> None:
    """UserError ``{what} needs about …, more than half of the … available`` if ``need``
    bytes exceed ``memory_limit()``."""
    limit = memory_limit()
    if need > limit:
        raise UserError(f"{what} needs about {format_bytes(need)}, more than the "
                        f"{format_bytes(limit)} it may use (half of the memory available)")


# ---- estimates, from the sizes alone ---------------------------------------------------

def _item(dtype) -> int:
    return np.dtype(dtype).itemsize


def parameter_count(inputs: int, hidden: int, outputs: int = 0) -> int:
    """Entries of the cell's parameters (4 gates of (H, X+H) and H) and a read-out (K, H+1)."""
    return 4 * hidden * (inputs + hidden) + 4 * hidden + outputs * (hidden + 1)


def trace_bytes(steps: int, inputs: int, hidden: int, dtype="float64") -> int:
    """Bytes a recorded Trace holds: per step 22 vectors of H, 3 of X and the loss; the
    parameters and their gradients."""
    per_step = 22 * hidden + 3 * inputs + 1
    return _item(dtype) * (steps * per_step + 2 * parameter_count(inputs, hidden))


def record_bytes(steps: int, inputs: int, hidden: int, dtype="float64",
                 outputs: int = 0) -> int:
    """Peak bytes of one ``record``: the trace, its per-step temporaries (about 2 more
    vectors of H and the targets and read-out per step) and four parameter-sized arrays
    (the parameters, the stacked weights, the gradients and a block's partial sum)."""
    per_step = 24 * hidden + 3 * inputs + 2 * outputs + 2
    return _item(dtype) * (steps * per_step + 4 * parameter_count(inputs, hidden, outputs))


# Parameter-sized arrays an optimiser keeps (and makes anew each iteration).
OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "adam": 2}


def training_bytes(steps: int, inputs: int, hidden: int, outputs: int = 0, dtype="float64",
                   optimizer: str = "adam", batch: int = 1) -> int:
    """Peak bytes of a training iteration: one pass recorded per sequence of the batch
    (all kept until the gradients are averaged), then the parameters, the optimiser's
    state, their new versions and the batch's sum (``3 + 2·state`` parameter-sized arrays)."""
    state = OPTIMIZER_STATE.get(optimizer, 2)
    params = _item(dtype) * parameter_count(inputs, hidden, outputs)
    return batch * record_bytes(steps, inputs, hidden, dtype, outputs) + (3 + 2 * state) * params
