"""The window room: the main window, its chrome, closing and saving, single instance."""
