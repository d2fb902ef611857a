"""The key-binding table: the single source for the QActions, the menus and the F1 help.

Every forward motion has a reverse one (everything is recorded, so stepping back is
free): Continue F5 / Shift+F5, Step Over F10 / Shift+F10, Step Into F11 / Ctrl+F11,
Step Out Shift+F11 / Ctrl+Shift+F11, Next/Previous Frame Right/Left, Last/First End/Home.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Binding:
    id: str
    text: str                   # menu text
    keys: str                   # QKeySequence text ("" for none)
    menu: str                   # which menu holds it
    command: str                # "session.<method>" or "window.<method>"
    tip: str = ""
    reverse: str | None = None  # id of the binding that undoes the motion


BINDINGS: tuple[Binding, ...] = (
    Binding("open", "&Open Trace…", "Ctrl+O", "File", "window.open_file", "read a trace file"),
    Binding("save", "&Save Trace", "Ctrl+S", "File", "window.save_file", "write the trace"),
    Binding("save_as", "Save Trace &As…", "Ctrl+Shift+S", "File", "window.save_file_as",
            "write the trace to a new file"),
    Binding("save_session", "Save Sess&ion…", "Ctrl+Alt+S", "File",
            "window.workbench.save_session", "the run with its history, breakpoints and layout"),
    Binding("open_session", "Open Session…", "Ctrl+Alt+O", "File",
            "window.workbench.open_session", "reopen a saved session exactly"),
    Binding("copy_state", "Copy Session as Text", "Ctrl+Shift+C", "File",
            "window.workbench.copy_state", "configuration + frame, one line"),
    Binding("paste_state", "Open Session from Text…", "Ctrl+Shift+V", "File",
            "window.workbench.paste_state", "reopen the view a session text describes"),
    Binding("export", "&Export View as PNG…", "Ctrl+E", "File", "window.export_png_dialog",
            "save a picture of the window"),
    Binding("quit", "&Quit", "Ctrl+Q", "File", "window.close", "close the window"),
    Binding("configure", "&Configure Run…", "Ctrl+R", "Run", "window.configure_run",
            "task, variant, sizes, seed, init, dtype"),
    Binding("train", "&Train One Iteration", "Ctrl+T", "Run", "session.train_step",
            "SGD step W -= lr·W_diff, then record again"),
    Binding("training_panel", "&Live Training…", "Ctrl+Shift+L", "Run",
            "window.workbench.show_training", "train and watch the gradients change"),
    Binding("run_training", "Run / Pause Training", "Ctrl+Shift+R", "Run",
            "window.workbench.toggle_training", "iterations until 'Run to' or a breakpoint"),
    Binding("reset_training", "Reset Training", "", "Run", "window.workbench.reset_training",
            "iteration 0 again, with the panel's settings"),
    Binding("gradcheck", "&Gradient Check…", "Ctrl+G", "Run",
            "window.workbench.gradient_check", "finite differences against the backward pass"),
    Binding("wrong_backward", "Wrong Backward Example", "", "Run",
            "window.workbench.wrong_backward", "standard forward with the seed's backward"),
    Binding("compare", "Compare &Runs…", "Ctrl+Shift+D", "Run", "window.workbench.compare",
            "any two runs side by side (files, before/after training, seeds), and their "
            "difference"),
    Binding("continue", "&Continue", "F5", "Debug", "session.continue_",
            "to the next breakpoint or the end", reverse="reverse_continue"),
    Binding("reverse_continue", "Reverse Continue", "Shift+F5", "Debug",
            "session.reverse_continue", "to the previous breakpoint or the start"),
    Binding("step_over", "Step &Over", "F10", "Debug", "session.step_over",
            "to the next time step", reverse="step_back_over"),
    Binding("step_back_over", "Step Back Over", "Shift+F10", "Debug", "session.step_back_over",
            "to the previous time step"),
    Binding("step_into", "Step &Into", "F11", "Debug", "session.step_into",
            "to the next statement", reverse="step_back_into"),
    Binding("step_back_into", "Step Back Into", "Ctrl+F11", "Debug", "session.step_back_into",
            "to the previous statement"),
    Binding("step_out", "Step O&ut", "Shift+F11", "Debug", "session.step_out",
            "to the end of this step (at a step's end: of the pass)", reverse="step_back_out"),
    Binding("step_back_out", "Step Back Out", "Ctrl+Shift+F11", "Debug",
            "session.step_back_out", "to the start of this step (at it: of the pass)"),
    Binding("toggle_breakpoint", "Toggle &Breakpoint", "F9", "Debug",
            "session.toggle_breakpoint", "at the current frame"),
    Binding("clear_breakpoints", "Clear All Breakpoints", "Ctrl+Shift+F9", "Debug",
            "session.clear_breakpoints"),
    Binding("breakpoints_panel", "Condition Breakpoints…", "Ctrl+B", "Debug",
            "window.workbench.show_breakpoints", "NaN, norms, vanishing, saturation, grad check"),
    Binding("play", "&Play / Pause", "Space", "Go", "session.toggle_play",
            "advance frames at the chosen speed"),
    Binding("next_frame", "&Next Frame", "Right", "Go", "session.next_frame", "one frame on",
            reverse="prev_frame"),
    Binding("prev_frame", "&Previous Frame", "Left", "Go", "session.prev_frame", "one frame back"),
    Binding("last", "&Last Frame", "End", "Go", "session.last", "the end of the backward pass",
            reverse="first"),
    Binding("first", "&First Frame", "Home", "Go", "session.first", "the first forward statement"),
    Binding("goto_frame", "&Go to Frame…", "Ctrl+L", "Go", "window.goto_frame_dialog",
            "a frame by its text: fwd:3, fwd:3:s, loss, bwd:2, bwd:2:ds"),
    Binding("next_iteration", "Next Iteration", "Ctrl+Right", "Go",
            "window.workbench.next_iteration", "the pass of the next kept iteration",
            reverse="prev_iteration"),
    Binding("prev_iteration", "Previous Iteration", "Ctrl+Left", "Go",
            "window.workbench.prev_iteration", "the pass of the previous kept iteration"),
    Binding("shortcuts", "&Keyboard Shortcuts", "F1", "Help", "window.show_shortcuts"),
    Binding("about", "&About lstm-viz", "", "Help", "window.show_about"),
)
MENUS = ("File", "Run", "Debug", "Go", "View", "Help")
# View ▸ the panels, each on a key: it shows the panel and brings it to the front (a tab
# behind another comes forward); pressed again on a panel in front, it closes it.
PANEL_KEYS = (("source", "Alt+1"), ("variables", "Alt+2"), ("carousel", "Alt+3"),
              ("heatmaps", "Alt+4"), ("param_grads", "Alt+5"), ("flow", "Alt+6"),
              ("loss_to_cell", "Alt+7"), ("training", "Alt+8"), ("breakpoints", "Alt+9"))
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
            "Breakpoints) bring a panel to the front, or close it when it is in front.</p>"
            "<p>A statement frame is the state just after that line ran; "
            "a step frame (fwd:3, bwd:2) is the state after the whole step.</p>")
