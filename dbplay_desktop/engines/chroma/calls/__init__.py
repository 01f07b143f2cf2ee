"""The Chroma client's calls as the editor takes them: parsed with Python's ``ast`` module,
checked against an allow-list of methods and literal arguments, never executed."""
