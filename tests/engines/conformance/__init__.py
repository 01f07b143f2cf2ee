"""The conformance suite: every registered engine passes the same contract tests."""
