"""Rule 1 and 2 of the design: the engine and the session layer never import Qt."""

import subprocess
import sys


def test_engine_and_session_import_without_qt():
    code = (
        "import sys, lstm_engine\n"
        "import lstm_viz.model.session\n"
        "import lstm_viz.model.frames\n"
        "import lstm_viz.model.config\n"
        "import lstm_viz.model.frame_data\n"
        "import lstm_viz.model.events\n"
        "import lstm_viz.model.breakpoints\n"
        "import lstm_viz.model.shortcuts\n"
        "import lstm_viz.model.training_run\n"
        "import lstm_viz.model.checks\n"
        "import lstm_viz.model.compare\n"
        "import lstm_viz.model.saved_session\n"
        "import lstm_viz.model.crashlog\n"
        "s = lstm_viz.model.session.Session(); s.step_over(); s.data.stats('h', s.cursor)\n"
        "qt = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
