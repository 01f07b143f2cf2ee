"""The playground room: one tab -- its sandbox, query runner, catalog tree and banner."""
