"""The Qt window, docks, views and dialogs: they draw what the model and the pictures
packages compute and forward intent to the session (docs/architecture.md)."""
