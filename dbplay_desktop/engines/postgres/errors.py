"""Turn psycopg's multi-line errors into dbplay's one-line messages."""

from __future__ import annotations

from typing import Any

import psycopg

from dbplay_desktop.engines.base import ConnectionFailed

#: SQLSTATE of a feature this server was built without (XML, ICU, ...).
FEATURE_NOT_SUPPORTED = "0A000"


def error_message(exc: BaseException) -> str:
    """The server's primary message, or the first meaningful line of the exception."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        detail = getattr(diag, "message_detail", None)
        if getattr(diag, "sqlstate", None) == FEATURE_NOT_SUPPORTED and detail:
            # "unsupported XML feature" alone does not say that the server lacks libxml.
            return f"{primary}: {' '.join(str(detail).split())}"
        return str(primary)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def where(conninfo: dict[str, Any]) -> str:
    """``user@host:port/db`` for messages: never the password."""
    host = conninfo.get("host") or "localhost"
    if str(host).startswith("/"):
        host = f"socket {host}"
    port = conninfo.get("port") or 5432
    user = conninfo.get("user") or ""
    db = conninfo.get("dbname") or ""
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


def connection_error(exc: psycopg.Error, conninfo: dict[str, Any]) -> ConnectionFailed:
    """A one-line connection failure that names the server but not the password."""
    # libpq's lines are sentences without a full stop ("Connection refused" then "Is the
    # server running..."): joined with ". " so they do not run together.
    lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
    text = "".join(
        (line if i == 0 else (" " if lines[i - 1][-1] in ".:;?!" else ". ") + line)
        for i, line in enumerate(lines)
    )
    # libpq repeats "connection to server at ... failed:"; keep its final reason.
    reason = text.rsplit("failed:", 1)[-1].strip() or text
    password = conninfo.get("password")
    if password:
        reason = reason.replace(str(password), "***")
    return ConnectionFailed(f"cannot connect to PostgreSQL at {where(conninfo)}: {reason}")
