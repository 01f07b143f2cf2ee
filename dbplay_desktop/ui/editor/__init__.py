"""The editor room: the query editor, its highlighting, completion, find/replace and commands."""
