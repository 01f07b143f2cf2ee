"""pymongo's errors in one line a user can read."""

from __future__ import annotations

import re

from pymongo import errors

_FULL_ERROR = re.compile(r",\s*full error:.*$", re.DOTALL)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_message(exc: BaseException) -> str | None:
    """``exc`` in one line when it is a pymongo (or bson) error, else ``None``."""
    from bson.errors import BSONError

    if isinstance(exc, errors.OperationFailure):
        details = exc.details or {}
        message = details.get("errmsg") or _FULL_ERROR.sub("", str(exc))
        if isinstance(exc, errors.BulkWriteError):
            write_errors = details.get("writeErrors") or []
            if write_errors:
                first = write_errors[0]
                message = f"write {first.get('index', 0) + 1} failed: {first.get('errmsg', '')}"
        name = details.get("codeName")
        text = one_line(message)
        return f"{text} ({name})" if name and name not in text else text
    if isinstance(exc, errors.ServerSelectionTimeoutError):
        detail = str(exc).split(", Timeout:")[0]
        detail = re.sub(r"\s*\(configured timeouts:[^)]*\)", "", detail)
        return "cannot reach the MongoDB server: " + one_line(detail)
    if isinstance(exc, errors.ConfigurationError):
        return "invalid MongoDB address: " + one_line(str(exc))
    if isinstance(exc, errors.InvalidURI):
        return "invalid MongoDB address: " + one_line(str(exc))
    if isinstance(exc, errors.PyMongoError | BSONError):
        return one_line(_FULL_ERROR.sub("", str(exc))) or type(exc).__name__
    return None
