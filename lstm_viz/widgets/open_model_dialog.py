"""File ▸ Open Model…: a model from its parameters, inputs and targets files, the loss,
the batch's sequence and a vocabulary, as ``lstm-viz --params … --inputs … --targets …``
chooses them (``model/model_files.py`` does the work).

Open records the pass and hands it to the window; a problem is shown as one line of
plain text in the dialog, which stays open, and the session is not touched. A batch
file's sequences are offered once the parameters and inputs are chosen.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lstm_engine.errors import UserError
from lstm_engine.textsafe import one_line

from ..model.model_files import LOSSES, ModelChoice, OpenedModel, open_model, sequences_in
from .plain import PlainLabel

NPZ = "Parameters (*.npz);;All files (*)"
NPY = "Arrays (*.npy);;All files (*)"
VOCAB = "Vocabulary (*.json *.txt);;All files (*)"


class OpenModelDialog(QDialog):
    """Choose the files; ``opened`` holds the recorded pass once Open succeeded."""

    def __init__(self, parent=None, folder: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Open model")
        self.folder = folder
        self.opened: OpenedModel | None = None
        self.params = self._path_row("parameters", NPZ)
        self.inputs = self._path_row("inputs", NPY)
        self.targets = self._path_row("targets", NPY)
        self.vocab = self._path_row("vocabulary", VOCAB)
        self.vocab[0].setPlaceholderText("optional: the parameters file's, if it has one")
        self.loss = QComboBox()
        self.loss.addItem("the parameters file's", None)
        for name in LOSSES:
            self.loss.addItem(name, name)
        self.sequence = QSpinBox()
        self.sequence.setRange(0, 0)
        self.sequences = PlainLabel("one sequence")
        seq = QHBoxLayout()
        seq.addWidget(self.sequence)
        seq.addWidget(self.sequences, 1)

        form = QFormLayout()
        form.addRow(PlainLabel("Parameters"), self.params[1])
        form.addRow(PlainLabel("Inputs"), self.inputs[1])
        form.addRow(PlainLabel("Targets"), self.targets[1])
        form.addRow(PlainLabel("Loss"), self.loss)
        form.addRow(PlainLabel("Sequence"), seq)
        form.addRow(PlainLabel("Vocabulary"), self.vocab[1])
        self.message = PlainLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.try_open)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        for edit in (self.params[0], self.inputs[0]):
            edit.editingFinished.connect(self.update_sequences)
        self.resize(640, self.sizeHint().height())

    def _path_row(self, what: str, filter_: str) -> tuple[QLineEdit, QWidget]:
        edit = QLineEdit()
        edit.setObjectName(what)
        browse = QPushButton("Browse…")
        browse.setObjectName(f"browse {what}")

        def choose():
            path, _ = QFileDialog.getOpenFileName(self, f"Choose the {what} file",
                                                  edit.text() or self.folder, filter_)
            if path:
                edit.setText(path)
                self.update_sequences()
        browse.clicked.connect(choose)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(edit, 1)
        box.addWidget(browse)
        return edit, row

    def set_files(self, params: str, inputs: str, targets: str, vocab: str = "") -> None:
        self.params[0].setText(params)
        self.inputs[0].setText(inputs)
        self.targets[0].setText(targets)
        self.vocab[0].setText(vocab)
        self.update_sequences()

    def update_sequences(self) -> None:
        """Offer the batch's sequences (0 … B-1) once parameters and inputs are chosen."""
        p, x = self.params[0].text().strip(), self.inputs[0].text().strip()
        B = None
        if p and x:
            try:
                B = sequences_in(p, x)
            except UserError:
                B = None                    # said when Open is pressed
        self.sequence.setRange(0, max(0, (B or 1) - 1))
        self.sequence.setEnabled(B is not None)
        self.sequences.setText(f"of {B} sequences (0 … {B - 1})" if B else "one sequence")

    def choice(self) -> ModelChoice:
        vocab = self.vocab[0].text().strip() or None
        return ModelChoice(self.params[0].text().strip(), self.inputs[0].text().strip(),
                           self.targets[0].text().strip(), self.loss.currentData(),
                           self.sequence.value() if self.sequence.isEnabled() else None,
                           vocab)

    def try_open(self) -> bool:
        """Record the chosen pass; on a problem say it here and stay open."""
        from .busy import busy

        try:
            with busy():
                self.opened = open_model(self.choice())
        except UserError as err:
            self.message.setText(str(err))
            return False
        self.message.setText("")
        self.accept()
        return True


def open_model_in(window) -> bool:
    """File ▸ Open Model…: the dialog records the pass (its errors stay in it); the
    window's session shows it once it is whole, and the status bar says what it is."""
    dialog = OpenModelDialog(window, window.last_dir())
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.opened is None:
        return False
    window.session.runs.show_model(dialog.opened.trace)
    window.statusBar().showMessage(one_line(dialog.opened.note), 6000)
    return True


def open_run_in(window, path) -> bool:
    """A training run file (``lstm-engine train -o``), trained again with progress and
    Cancel; a problem is one line and the session stays."""
    from ..model.model_files import run_file_job
    from .progress import run_job

    try:
        got = run_job(window, "Opening the training run", run_file_job(path))
    except UserError as err:
        window.errors.report(err)
        return False
    if got is None:
        window.statusBar().showMessage("cancelled: nothing changed", 4000)
        return False
    window.session.adopt(got)
    return True
