"""The Qt-free model of the debugger: the session and its frames, breakpoints, runs,
files and live training (docs/architecture.md). Never imports Qt."""
