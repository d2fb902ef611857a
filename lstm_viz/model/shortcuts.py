"""The key-binding table: the single source for the QActions, the menus and the F1 help.

Every forward motion has a reverse one (everything is recorded, so stepping back is
free): Continue F5 / Shift+F5, Step Over F10 / Shift+F10, Step Into F11 / Ctrl+F11,
Step Out Shift+F11 / Ctrl+Shift+F11, Next/Previous Frame Right/Left, Last/First End/Home.

A binding's command is a callable that takes the window (anything that has what
``WindowCommands`` declares): ``lambda w: w.session.step_into()`` for the session's
motions, ``lambda w: w.open_file()`` for what the window does itself (dialogs, files),
``lambda w: w.workbench.gradient_check()`` for its workbench. Written out, not looked up
by name, so a reader, an IDE and a type checker see who calls each command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .session import Session


@runtime_checkable
class WorkbenchCommands(Protocol):
    """The commands of the window's workbench (``widgets/workbench.py``)."""

    def save_session(self) -> object: ...
    def open_session(self) -> object: ...
    def open_model(self) -> object: ...
    def copy_state(self) -> object: ...
    def paste_state(self) -> object: ...
    def show_training(self) -> object: ...
    def toggle_training(self) -> object: ...
    def reset_training(self) -> object: ...
    def gradient_check(self) -> object: ...
    def wrong_backward(self) -> object: ...
    def compare(self) -> object: ...
    def show_breakpoints(self) -> object: ...
    def next_iteration(self) -> object: ...
    def prev_iteration(self) -> object: ...


@runtime_checkable
class WindowCommands(Protocol):
    """What the commands reach through the window (``widgets/main_window.py``): the
    session, the workbench and the window's own commands."""

    session: Session
    workbench: WorkbenchCommands

    def open_file(self) -> object: ...
    def save_file(self) -> object: ...
    def save_file_as(self) -> object: ...
    def export_png_dialog(self) -> object: ...
    def close(self) -> object: ...
    def configure_run(self) -> object: ...
    def goto_frame_dialog(self) -> object: ...
    def show_shortcuts(self) -> object: ...
    def show_about(self) -> object: ...
    def cycle_view_layer(self) -> object: ...


Command = Callable[[WindowCommands], object]


@dataclass(frozen=True)
class Binding:
    id: str
    text: str                   # menu text
    keys: str                   # QKeySequence text ("" for none)
    menu: str                   # which menu holds it
    command: Command            # what the action runs, given the window
    tip: str = ""
    reverse: str | None = None  # id of the binding that undoes the motion


BINDINGS: tuple[Binding, ...] = (
    Binding("open", "&Open Trace…", "Ctrl+O", "File", lambda w: w.open_file(),
            "read a trace file"),
    Binding("open_model", "Open &Model…", "Ctrl+Shift+O", "File",
            lambda w: w.workbench.open_model(),
            "a model from its parameters, inputs and targets files (a batch: one sequence)"),
    Binding("save", "&Save Trace", "Ctrl+S", "File", lambda w: w.save_file(), "write the trace"),
    Binding("save_as", "Save Trace &As…", "Ctrl+Shift+S", "File", lambda w: w.save_file_as(),
            "write the trace to a new file"),
    Binding("save_session", "Save Sess&ion…", "Ctrl+Alt+S", "File",
            lambda w: w.workbench.save_session(),
            "the run with its history, breakpoints and layout"),
    Binding("open_session", "Open Session…", "Ctrl+Alt+O", "File",
            lambda w: w.workbench.open_session(), "reopen a saved session exactly"),
    Binding("copy_state", "Copy Session as Text", "Ctrl+Shift+C", "File",
            lambda w: w.workbench.copy_state(), "configuration + frame, one line"),
    Binding("paste_state", "Open Session from Text…", "Ctrl+Shift+V", "File",
            lambda w: w.workbench.paste_state(), "reopen the view a session text describes"),
    Binding("export", "&Export View as PNG…", "Ctrl+E", "File", lambda w: w.export_png_dialog(),
            "save a picture of the window"),
    Binding("quit", "&Quit", "Ctrl+Q", "File", lambda w: w.close(), "close the window"),
    Binding("configure", "&Configure Run…", "Ctrl+R", "Run", lambda w: w.configure_run(),
            "task, variant, sizes, seed, init, dtype"),
    Binding("train", "&Train One Iteration", "Ctrl+T", "Run", lambda w: w.session.train_step(),
            "SGD step W -= lr·W_diff, then record again"),
    Binding("training_panel", "&Live Training…", "Ctrl+Shift+L", "Run",
            lambda w: w.workbench.show_training(), "train and watch the gradients change"),
    Binding("run_training", "Run / Pause Training", "Ctrl+Shift+R", "Run",
            lambda w: w.workbench.toggle_training(),
            "iterations until 'Run to' or a breakpoint"),
    Binding("reset_training", "Reset Training", "", "Run",
            lambda w: w.workbench.reset_training(),
            "iteration 0 again, with the panel's settings"),
    Binding("gradcheck", "&Gradient Check…", "Ctrl+G", "Run",
            lambda w: w.workbench.gradient_check(),
            "finite differences against the backward pass"),
    Binding("wrong_backward", "Wrong Backward Example", "", "Run",
            lambda w: w.workbench.wrong_backward(), "standard forward with the seed's backward"),
    Binding("compare", "Compare &Runs…", "Ctrl+Shift+D", "Run",
            lambda w: w.workbench.compare(),
            "any two runs side by side (files, before/after training, seeds), and their "
            "difference"),
    Binding("continue", "&Continue", "F5", "Debug", lambda w: w.session.continue_(),
            "to the next breakpoint or the end", reverse="reverse_continue"),
    Binding("reverse_continue", "Reverse Continue", "Shift+F5", "Debug",
            lambda w: w.session.reverse_continue(), "to the previous breakpoint or the start"),
    Binding("step_over", "Step &Over", "F10", "Debug", lambda w: w.session.step_over(),
            "to the next time step", reverse="step_back_over"),
    Binding("step_back_over", "Step Back Over", "Shift+F10", "Debug",
            lambda w: w.session.step_back_over(), "to the previous time step"),
    Binding("step_into", "Step &Into", "F11", "Debug", lambda w: w.session.step_into(),
            "to the next statement", reverse="step_back_into"),
    Binding("step_back_into", "Step Back Into", "Ctrl+F11", "Debug",
            lambda w: w.session.step_back_into(), "to the previous statement"),
    Binding("step_out", "Step O&ut", "Shift+F11", "Debug", lambda w: w.session.step_out(),
            "to the end of this step (at a step's end: of the pass)", reverse="step_back_out"),
    Binding("step_back_out", "Step Back Out", "Ctrl+Shift+F11", "Debug",
            lambda w: w.session.step_back_out(),
            "to the start of this step (at it: of the pass)"),
    Binding("toggle_breakpoint", "Toggle &Breakpoint", "F9", "Debug",
            lambda w: w.session.toggle_breakpoint(), "at the current frame"),
    Binding("clear_breakpoints", "Clear All Breakpoints", "Ctrl+Shift+F9", "Debug",
            lambda w: w.session.clear_breakpoints()),
    Binding("breakpoints_panel", "Condition Breakpoints…", "Ctrl+B", "Debug",
            lambda w: w.workbench.show_breakpoints(),
            "NaN, norms, vanishing, saturation, grad check"),
    Binding("play", "&Play / Pause", "Space", "Go", lambda w: w.session.toggle_play(),
            "advance frames at the chosen speed"),
    Binding("next_frame", "&Next Frame", "Right", "Go", lambda w: w.session.next_frame(),
            "one frame on", reverse="prev_frame"),
    Binding("prev_frame", "&Previous Frame", "Left", "Go", lambda w: w.session.prev_frame(),
            "one frame back"),
    Binding("last", "&Last Frame", "End", "Go", lambda w: w.session.last(),
            "the end of the backward pass", reverse="first"),
    Binding("first", "&First Frame", "Home", "Go", lambda w: w.session.first(),
            "the first forward statement"),
    Binding("goto_frame", "&Go to Frame…", "Ctrl+L", "Go", lambda w: w.goto_frame_dialog(),
            "a frame by its text: fwd:3, fwd:3:s, loss, bwd:2, bwd:2:ds"),
    Binding("next_iteration", "Next Iteration", "Ctrl+Right", "Go",
            lambda w: w.workbench.next_iteration(), "the pass of the next kept iteration",
            reverse="prev_iteration"),
    Binding("prev_iteration", "Previous Iteration", "Ctrl+Left", "Go",
            lambda w: w.workbench.prev_iteration(), "the pass of the previous kept iteration"),
    Binding("cycle_view_layer", "Next &Layer in View", "Alt+L", "View",
            lambda w: w.cycle_view_layer(),
            "stacked models: the layer the views show (follows the cursor, 0, 1, …)"),
    Binding("shortcuts", "&Keyboard Shortcuts", "F1", "Help", lambda w: w.show_shortcuts()),
    Binding("about", "&About lstm-viz", "", "Help", lambda w: w.show_about()),
)
MENUS = ("File", "Run", "Debug", "Go", "View", "Help")
# View ▸ the panels, each on a key: it shows the panel and brings it to the front (a tab
# behind another comes forward); pressed again on a panel in front, it closes it.
PANEL_KEYS = (("source", "Alt+1"), ("variables", "Alt+2"), ("carousel", "Alt+3"),
              ("heatmaps", "Alt+4"), ("param_grads", "Alt+5"), ("flow", "Alt+6"),
              ("loss_to_cell", "Alt+7"), ("training", "Alt+8"), ("breakpoints", "Alt+9"),
              ("paths", "Alt+0"),
              # the views only some passes have (their key does nothing on another pass)
              ("predictions", "Ctrl+Alt+1"), ("readout_grads", "Ctrl+Alt+2"),
              ("embedding_grads", "Ctrl+Alt+3"), ("depth_flow", "Ctrl+Alt+4"))
BY_ID = {b.id: b for b in BINDINGS}


def plain(text: str) -> str:
    return text.replace("&", "").replace("…", "")


def help_html() -> str:
    """The F1 help: stepping commands with their reverse, then every other binding."""
    rows = []
    paired = set()
    for b in BINDINGS:
        if b.reverse:
            r = BY_ID[b.reverse]
            paired |= {b.id, r.id}
            rows.append(f"<tr><td>{plain(b.text)}</td><td><b>{b.keys}</b></td>"
                        f"<td>{plain(r.text)}</td><td><b>{r.keys}</b></td>"
                        f"<td>{b.tip}</td></tr>")
    others = "".join(f"<tr><td>{plain(b.text)}</td><td><b>{b.keys}</b></td><td>{b.tip}</td></tr>"
                     for b in BINDINGS if b.id not in paired and b.keys)
    return ("<h3>Stepping (forwards and backwards)</h3>"
            "<table cellspacing=6><tr><th align=left>Forwards</th><th></th>"
            "<th align=left>Backwards</th><th></th><th align=left>Goes to</th></tr>"
            + "".join(rows) + "</table><h3>Other commands</h3><table cellspacing=6>"
            + others + "</table><p>View ▸ the panels: Alt+1 … Alt+9 (Source, Variables, "
            "Carousel, Heatmaps, Parameter gradients, Gradient flow, Loss → cell, Training, "
            "Breakpoints), Alt+0 (Path decomposition) and, for a pass that has them, "
            "Ctrl+Alt+1 … Ctrl+Alt+4 (Predictions, Read-out gradients, Embedding gradient, "
            "Layers × time) bring a panel to the front, or close it when it is in front.</p>"
            "<p>A statement frame is the state just after that line ran; "
            "a step frame (fwd:3, bwd:2) is the state after the whole step.</p>")
