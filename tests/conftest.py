"""Shared test set-up: Qt runs headless and never touches the user's settings or data
folder (the crash log); Hypothesis runs under a named profile.

Hypothesis profiles (choose one with HYPOTHESIS_PROFILE=NAME or ``--hypothesis-profile NAME``):

- ``default``: derandomized, no example database, so every run (CI's included) tries the
  same examples and a failure reproduces; 100 examples per test, the count a test scales
  when it needs more (``settings(max_examples=4 * settings.default.max_examples)``).
- ``dev``: the same with a tenth of the examples, for a quick run while editing.
- ``explore``: random examples, ten times as many, with the example database in
  ``.hypothesis/``: looks for inputs the fixed examples never reach; run it now and then,
  not in CI.

All three have no deadline (a timing is not a pass/fail check here: bench/ measures
speed, and a shared machine makes per-example times noisy) and suppress three health
checks that are about the generator, not the code under test: ``function_scoped_fixture``
(the file tests write each example to the same ``tmp_path`` file, overwriting it),
``too_slow`` and ``data_too_large`` (the hostile-file strategies build whole archives)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

_BASE = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)
settings.register_profile("default", _BASE, max_examples=100, derandomize=True,
                          database=None)
settings.register_profile("dev", settings.get_profile("default"), max_examples=10)
settings.register_profile("explore", _BASE, max_examples=1000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_data_dir(tmp_path_factory):
    """The app's data folder (its crash log) is a temporary one for the whole session,
    for this process and every app it starts."""
    old = os.environ.get("LSTM_VIZ_DATA_DIR")
    os.environ["LSTM_VIZ_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield
    if old is None:
        os.environ.pop("LSTM_VIZ_DATA_DIR", None)
    else:
        os.environ["LSTM_VIZ_DATA_DIR"] = old


@pytest.fixture(scope="session", autouse=True)
def _isolated_qt_settings(tmp_path_factory):
    """Point every QSettings at a temporary folder, under a test organisation name."""
    try:
        from PySide6.QtCore import QCoreApplication, QSettings
    except ImportError:                      # engine-only environments
        yield
        return
    folder = str(tmp_path_factory.mktemp("qsettings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, folder)
    QCoreApplication.setOrganizationName("lstm-viz-tests")
    QCoreApplication.setApplicationName("lstm-viz-tests")
    yield


@pytest.fixture
def make_window(qtbot, tmp_path):
    """A shown MainWindow on a session (default: the published example), with its own
    settings file in tmp_path."""
    from PySide6.QtCore import QSettings

    from lstm_viz.main_window import MainWindow
    from lstm_viz.session import Session

    def make(session=None, settings_name="settings.ini"):
        settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
        window = MainWindow(session or Session(), settings=settings)
        qtbot.addWidget(window)
        with qtbot.waitActive(window):          # window shortcuts need the active window
            window.show()
            window.activateWindow()
        return window

    return make
