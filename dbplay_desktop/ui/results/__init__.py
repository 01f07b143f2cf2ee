"""The results room: the lazy grid and its model, streaming, the cell viewer, copy and export,
messages and history."""
