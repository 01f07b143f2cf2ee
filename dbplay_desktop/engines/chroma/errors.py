"""chromadb's errors in one line a user can read."""

from __future__ import annotations


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_message(exc: BaseException) -> str | None:
    """``exc`` in one line when it comes from chromadb (or its HTTP client), else ``None``."""
    module = type(exc).__module__ or ""
    if module.startswith("chromadb"):
        from chromadb.errors import ChromaError

        if isinstance(exc, ChromaError):
            text = one_line(exc.message() if callable(getattr(exc, "message", None))
                            else str(exc))
            return text or one_line(str(exc)) or exc.name()
        return one_line(str(exc)) or type(exc).__name__
    if module.startswith("httpx") or module.startswith("httpcore"):
        detail = one_line(str(exc)) or type(exc).__name__
        if type(exc).__name__ in ("ConnectError", "ConnectTimeout", "ProxyError",
                                  "ReadTimeout", "RemoteProtocolError"):
            return f"cannot reach the Chroma server: {detail}"
        return detail
    return None
