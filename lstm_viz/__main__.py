"""``python -m lstm_viz``: the same as the ``lstm-viz`` command."""

import sys

from .app import main

sys.exit(main())
