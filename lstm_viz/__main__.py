"""``python -m lstm_viz``: the same as the ``lstm-viz`` command."""

import sys

from .widgets.app import main

sys.exit(main())
