"""mongosh text: statements cut with a real JavaScript parser (tree-sitter), turned into
allow-listed :class:`~.commands.ShellCommand` values; nothing is ever evaluated."""
