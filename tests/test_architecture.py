"""Rule 1 and 2 of the design: the engine and the session layer never import Qt."""

import subprocess
import sys


def test_engine_and_session_import_without_qt():
    code = (
        "import sys, lstm_engine, lstm_viz.session, lstm_viz.frames, lstm_viz.config, "
        "lstm_viz.frame_data, lstm_viz.events, lstm_viz.breakpoints, lstm_viz.shortcuts, "
        "lstm_viz.training_run, lstm_viz.checks, lstm_viz.compare, lstm_viz.saved_session, "
        "lstm_viz.crashlog\n"
        "s = lstm_viz.session.Session(); s.step_over(); s.data.stats('h', s.cursor)\n"
        "qt = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
