"""Shared test set-up: Qt runs headless and never touches the user's settings or data
folder (the crash log); Hypothesis runs under a named profile; the PyTorch parity tests
are counted, and can be required.

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
``too_slow`` and ``data_too_large`` (the hostile-file strategies build whole archives).

PyTorch: every test that takes the ``torch`` fixture is marked ``torch``
(``pytest -m torch`` runs just them), and the session ends with one line saying how many
ran. With LSTM_VIZ_REQUIRE_TORCH=1 (CI on Python 3.11) a missing PyTorch stops the
session at once, and a torch test that was skipped or none that passed fails it."""

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


# ---- the PyTorch parity tests -------------------------------------------------------------

REQUIRE_TORCH = os.environ.get("LSTM_VIZ_REQUIRE_TORCH") == "1"
_torch_tests: set[str] = set()          # node ids of the tests marked torch
_torch_outcomes: dict[str, str] = {}    # node id -> passed / skipped / failed


def pytest_configure(config):
    if REQUIRE_TORCH:
        try:
            import torch  # noqa: F401
        except ImportError as err:
            raise pytest.UsageError(
                f"LSTM_VIZ_REQUIRE_TORCH=1 but PyTorch does not import ({err}); install "
                "the torch extra: make test EXTRAS=test,torch") from err


def pytest_collection_modifyitems(items):
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.torch)
            _torch_tests.add(item.nodeid)


def pytest_runtest_logreport(report):
    # the first phase that did not pass decides; a test that ran and passed is "passed"
    if report.nodeid in _torch_tests and (report.when == "call" or not report.passed):
        _torch_outcomes.setdefault(report.nodeid, report.outcome)


def _torch_problem() -> str | None:
    """Why the session must fail under LSTM_VIZ_REQUIRE_TORCH=1, or None."""
    skipped = sum(v == "skipped" for v in _torch_outcomes.values())
    if skipped:
        return f"{skipped} PyTorch test(s) skipped"
    if not any(v == "passed" for v in _torch_outcomes.values()):
        return "no PyTorch test passed"
    return None


def pytest_sessionfinish(session, exitstatus):
    if REQUIRE_TORCH and exitstatus == pytest.ExitCode.OK and _torch_problem():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if not _torch_outcomes and not REQUIRE_TORCH:
        return
    counts = {k: sum(v == k for v in _torch_outcomes.values())
              for k in ("passed", "skipped", "failed")}
    line = (f"PyTorch parity tests run: {counts['passed'] + counts['failed']} of "
            f"{len(_torch_outcomes)} (passed {counts['passed']}, failed {counts['failed']}, "
            f"skipped {counts['skipped']})")
    problem = _torch_problem() if REQUIRE_TORCH else None
    if problem:
        terminalreporter.write_line(f"{line}; LSTM_VIZ_REQUIRE_TORCH=1: {problem}", red=True)
    else:
        terminalreporter.write_line(line)


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
