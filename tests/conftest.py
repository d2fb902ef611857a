"""Shared test set-up: Qt runs headless and never touches the user's settings or data
folder (the crash log)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


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

    from lstm_viz.model.session import Session
    from lstm_viz.widgets.main_window import MainWindow

    def make(session=None, settings_name="settings.ini"):
        settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
        window = MainWindow(session or Session(), settings=settings)
        qtbot.addWidget(window)
        with qtbot.waitActive(window):          # window shortcuts need the active window
            window.show()
            window.activateWindow()
        return window

    return make
