"""Property-based tests: the splitters, parsers and address readers on generated input."""
