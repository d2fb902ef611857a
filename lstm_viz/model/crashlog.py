"""The crash log: every error the app reports with a traceback is appended to
``lstm-viz.log`` in the user's data folder (``platformdirs.user_data_dir("lstm-viz")``,
or the folder ``$LSTM_VIZ_DATA_DIR`` names). No Qt.

``setup()`` attaches a rotating file handler (1 MiB, three old files kept) to the
``lstm_viz`` logger once, at start-up; if the folder cannot be made the app goes on with
stderr only. A traceback that repeats (an error on every paint) is written in full the
first time, then as a one-line note at its 2nd, 4th, 8th … occurrence, so the log does
not fill with copies. A log that cannot be written any more (a full disk, a file made
read-only) is dropped with one line on stderr; errors then go to stderr alone.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from lstm_engine.textsafe import one_line

ENV = "LSTM_VIZ_DATA_DIR"
LOG_NAME = "lstm-viz.log"
LOGGER = "lstm_viz"
MAX_BYTES = 2**20
BACKUPS = 3
MAX_KINDS = 1000                 # distinct tracebacks counted before the counts start again


def data_dir() -> Path:
    """Where the app keeps its own files: ``$LSTM_VIZ_DATA_DIR`` if set, else the
    platform's user data folder for lstm-viz."""
    folder = os.environ.get(ENV)
    if folder:
        return Path(folder).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("lstm-viz", appauthor=False))


def signature(error: BaseException) -> tuple:
    """What makes two errors "the same": the exception type and where it was raised
    (every frame's file, line and function), not its message."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else ()
    return (type(error).__qualname__,
            *((f.filename, f.lineno, f.name) for f in frames))


class CrashLog(RotatingFileHandler):
    """The log file's handler: WARNING and above, repeats of a traceback collapsed.

    A record's ``signature`` (``extra={"signature": …}``) says which records are the same
    error; without one, its message text does.
    """

    def __init__(self, path: Path):
        super().__init__(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        self.setLevel(logging.WARNING)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.counts: dict[object, int] = {}

    def handleError(self, record: logging.LogRecord) -> None:
        """Writing failed (a full disk, a file made read-only or replaced, a device):
        say so once, in one line on stderr, and stop using the log, instead of logging's
        "--- Logging error ---" and a traceback on every record. The record itself still
        reaches stderr (the root handler), and ``current()`` is None from now on, so the
        error dialog says the details went to the terminal."""
        err = sys.exc_info()[1]
        reason = (err.strerror if isinstance(err, OSError) and err.strerror else
                  type(err).__name__ if err is not None else "unknown error")
        logger = logging.getLogger(LOGGER)
        if self in logger.handlers:
            logger.removeHandler(self)
        try:
            self.close()
        except Exception:                # noqa: BLE001 - closing a broken file may fail too
            pass
        try:
            sys.stderr.write(one_line(f"lstm-viz: cannot write the log {self.baseFilename} "
                                      f"({reason}); errors are shown on stderr only") + "\n")
        except Exception:                # noqa: BLE001 - no stderr either: nothing to tell
            pass

    def emit(self, record: logging.LogRecord) -> None:
        key = getattr(record, "signature", None) or record.getMessage()
        if key not in self.counts and len(self.counts) >= MAX_KINDS:
            self.counts.clear()
        n = self.counts.get(key, 0) + 1
        self.counts[key] = n
        if n > 1:
            if n & (n - 1):                                # not a power of two: counted only
                return
            first = record.getMessage().splitlines()[0] if record.getMessage() else ""
            record = logging.makeLogRecord({
                **record.__dict__, "msg": "the same error again (%d times so far): %s",
                "args": (n, first), "exc_info": None, "exc_text": None})
        super().emit(record)


def current() -> Path | None:
    """The log file errors are written to now (None: stderr only)."""
    for h in logging.getLogger(LOGGER).handlers:
        if isinstance(h, CrashLog):
            return Path(h.baseFilename)
    return None


def write_only_to_log(message: str, detail: str) -> Path | None:
    """Write an error and its traceback to the crash log alone (not to stderr: a command
    that reports in one line); the log's path, or None when there is no log."""
    for h in logging.getLogger(LOGGER).handlers:
        if isinstance(h, CrashLog):
            h.handle(logging.makeLogRecord({"name": LOGGER, "levelno": logging.ERROR,
                                            "levelname": "ERROR", "msg": "%s\n%s",
                                            "args": (message, detail)}))
            return current()
    return None


def setup(folder: Path | str | None = None) -> Path | None:
    """Attach the crash log in ``folder`` (default ``data_dir()``) to the ``lstm_viz``
    logger, once; returns its path, or None (and says so on stderr) when the folder
    cannot be made or the file cannot be opened."""
    folder = Path(folder) if folder is not None else data_dir()
    path = (folder / LOG_NAME).absolute()
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        if isinstance(h, CrashLog):
            if Path(h.baseFilename) == path:
                return path
            logger.removeHandler(h)
            h.close()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler = CrashLog(path)
    except OSError as err:
        logger.warning("cannot keep a log in %s (%s); errors are shown on stderr only",
                       folder, err.strerror or err)
        return None
    logger.addHandler(handler)
    return path


def shutdown() -> None:
    """Detach and close the crash log (tests; the app keeps it until it exits)."""
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        if isinstance(h, CrashLog):
            logger.removeHandler(h)
            h.close()
