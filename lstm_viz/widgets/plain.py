"""Text shown as plain text, everywhere: the one way the widgets show words.

Qt guesses whether a string is rich text (``Qt.mightBeRichText``) in labels, message
boxes and tool tips: a file name, a trace's ``meta`` text, an error message or a saved
session's ``problem`` that looks like HTML would be rendered as HTML, and
``<img src="/dev/zero">`` then reads that device until memory runs out. So every label
and message box of the app is made with its format fixed to plain text, and tool tips,
which Qt always guesses, are escaped and wrapped as a paragraph (``plain_tooltip``).
Menu entries and window titles have markup of their own (``&`` marks a shortcut letter,
``[*]`` the modified flag): ``menu_text`` and ``title_text`` keep them literal.

Every message is also one line: control characters are escaped (``one_line``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QInputDialog, QLabel, QMessageBox, QProgressDialog, QWidget

from lstm_engine.textsafe import one_line

PLAIN = Qt.TextFormat.PlainText


class PlainLabel(QLabel):
    """A QLabel whose text is always plain text (never guessed to be rich text)."""

    def __init__(self, text: str | QWidget = "", parent: QWidget | None = None):
        if isinstance(text, QWidget):              # PlainLabel(parent), as QLabel(parent)
            text, parent = "", text
        super().__init__(parent)
        self.setTextFormat(PLAIN)                  # before any text is set
        if text:
            self.setText(text)


def plain_tooltip(text: str) -> str:
    """``text`` as a tool tip that shows it literally: escaped HTML in one paragraph
    (an escaped text alone would still be guessed rich and its entities decoded)."""
    text = str(text)
    if not text:
        return ""
    return GuiQt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal)


def set_plain_tooltip(target, text: str) -> None:
    """Set the tool tip of a widget, an action or a table item to ``text``, shown as is."""
    target.setToolTip(plain_tooltip(text))


def menu_text(text: str) -> str:
    """A menu entry that shows ``text`` itself: one line, ``&`` not a shortcut marker."""
    return one_line(text).replace("&", "&&")


def title_text(text: str) -> str:
    """A window title that shows ``text`` itself: one line, ``[*]`` not the modified mark
    (Qt shows a doubled ``[*][*]`` as ``[*]``)."""
    return one_line(text).replace("[*]", "[*][*]")


def _plain_labels(widget: QWidget) -> None:
    for label in widget.findChildren(QLabel):
        label.setTextFormat(PLAIN)


def plain_message_box(icon: QMessageBox.Icon, title: str, text: str,
                      parent: QWidget | None = None, informative: str | None = None,
                      detail: str | None = None,
                      buttons=QMessageBox.StandardButton.Ok) -> QMessageBox:
    """A message box whose every text is plain; the caller opens or executes it.

    The format is fixed before any text from outside is set (a rich text is laid out,
    and its images loaded, as soon as it is set)."""
    box = QMessageBox(icon, title_text(title), "", buttons, parent)
    box.setTextFormat(PLAIN)
    if informative:
        box.setInformativeText(" ")              # makes its label, then fix its format
        _plain_labels(box)
        box.setInformativeText(informative)
    box.setText(text)
    if detail:
        box.setDetailedText(detail)              # a plain-text editor, never rich
    _plain_labels(box)
    return box


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "",
             ) -> tuple[str, bool]:
    """``QInputDialog.getText`` with its label as plain text: (text, accepted)."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title_text(title))
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.setLabelText(" ")
    _plain_labels(dialog)
    dialog.setLabelText(label)
    dialog.setTextValue(text)
    ok = dialog.exec() == QInputDialog.DialogCode.Accepted
    value = dialog.textValue()
    dialog.deleteLater()
    return value, ok


def plain_progress_dialog(label: str, cancel: str, parent: QWidget | None = None
                          ) -> QProgressDialog:
    """A QProgressDialog whose label is plain text."""
    dialog = QProgressDialog(parent)
    dialog.setLabel(PlainLabel())
    dialog.setLabelText(label)
    dialog.setCancelButtonText(cancel)
    return dialog
