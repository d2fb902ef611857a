"""The Qt window, docks, views and dialogs: they draw what the model and the pictures
packages compute and forward intent to the session (docs/architecture.md)."""

from .fast_imports import install as _fast_imports

_fast_imports()                                 # before any widget imports pyqtgraph
