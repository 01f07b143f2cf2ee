"""The templates room: the template browser, the save dialog and the autosaved scripts."""
