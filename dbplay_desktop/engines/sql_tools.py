"""SQL helpers the SQL engines share: keyword lists for completion and the formatter.

The lists come from Pygments' lexer tables (what the editor highlights is what it
completes) and sqlparse formats. Both are imported only when first asked for, through
the engines' language specs (:mod:`dbplay_desktop.engines.descriptor`).
"""

from __future__ import annotations


def postgresql_keywords() -> list[str]:
    """PostgreSQL's keywords and type names."""
    try:
        from pygments.lexers import _postgres_builtins as pg

        words = list(pg.KEYWORDS) + [t.upper() for t in pg.DATATYPES + pg.PSEUDO_TYPES]
        return list(dict.fromkeys(words))
    except (ImportError, AttributeError):  # Pygments moved its tables
        return sql_keywords()


def sqlite_keywords() -> list[str]:
    """SQLite's keywords: the standard list plus SQLite's own words."""
    return list(dict.fromkeys([*sql_keywords(), *_SQLITE_EXTRA]))


#: Words SQLite has that the generic SQL list lacks.
_SQLITE_EXTRA = (
    "AUTOINCREMENT", "GLOB", "PRAGMA", "REINDEX", "VACUUM", "WITHOUT", "ROWID", "STRICT",
    "CONFLICT", "REPLACE", "ABORT", "FAIL", "IGNORE", "INDEXED", "ISNULL", "NOTNULL",
    "RAISE", "VIRTUAL", "TEMP", "TEMPORARY", "UPSERT", "RETURNING",
)


def sql_keywords() -> list[str]:
    """Standard SQL keywords and type names."""
    try:
        from pygments.lexers import _sql_builtins as sql

        return list(dict.fromkeys(list(sql.KEYWORDS) + list(sql.DATATYPES)))
    except (ImportError, AttributeError):
        from sqlparse.keywords import KEYWORDS_COMMON

        return sorted(KEYWORDS_COMMON)


def format_sql(text: str) -> str:
    """``text`` re-indented with upper-case keywords (sqlparse)."""
    import sqlparse

    return sqlparse.format(text, reindent=True, keyword_case="upper")
