"""Keyring backends for tests: a real in-memory backend, a way to swap backends, and the
``memory_keyring`` / ``no_keyring`` fixtures.

Shared by the connection-store tests and the connection dialog tests, which both need a
keyring that keeps secrets (to check what is stored where) and one that refuses (to check
that nothing leaks to disk when there is no keyring). Test modules load the fixtures with
``pytest_plugins = ["tests.helpers_keyring"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail

Backend = TypeVar("Backend", bound=keyring.backend.KeyringBackend)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A complete keyring backend that keeps secrets in a dict for the test's lifetime."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


@contextmanager
def use_keyring(backend: Backend) -> Iterator[Backend]:
    """Make ``backend`` the process's keyring for the ``with`` block, then restore."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory keyring for this test; the previous keyring comes back after."""
    with use_keyring(MemoryKeyring()) as backend:
        yield backend


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """No usable keyring (keyring's "fail" backend): passwords cannot be stored."""
    with use_keyring(fail.Keyring()):
        yield
