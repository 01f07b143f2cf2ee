"""What the rest of dbplay knows about an engine before importing it.

An :class:`EngineDescriptor` is registered in the ``dbplay.engines`` entry-point group
and lives in a module that imports no driver, so the window can list every engine, draw
its icon, parse its addresses, highlight and split its language and name its catalog
folders while psycopg, pymongo or chromadb are not loaded (or not even installed). The
heavy parts -- the :class:`~dbplay_desktop.engines.base.Engine` class, the statement
splitter, the formatter, the keyword list, the local server -- are named as
``"module:attribute"`` references and imported on first use.

A new engine is one package under ``engines/`` with a descriptor module, plus one line in
its distribution's entry points; nothing in ``ui/``, ``templates/`` or ``cli.py`` names it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode, urlsplit

from dbplay_desktop.errors import UnsupportedUri

if TYPE_CHECKING:
    from dbplay_desktop.engines.base import Engine, Statement

__all__ = [
    "Capabilities",
    "CatalogKind",
    "EngineDescriptor",
    "EngineSetting",
    "LanguageSpec",
    "load_reference",
]


def load_reference(reference: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = reference.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------- language


@dataclass(frozen=True)
class LanguageSpec:
    """The engine's query language as the editor sees it.

    ``lexer`` is a Pygments lexer name. ``splitter`` (``(text) -> list[Statement]``),
    ``formatter`` (``(text) -> str``) and ``keywords`` (``() -> Sequence[str]``) are lazy
    references; an empty ``formatter`` means the language has no formatter and the
    editor's *Format* command is off. ``word_characters`` are the characters besides
    letters and digits that continue a word being completed (``$`` for MongoDB operators).
    """

    name: str
    lexer: str
    splitter: str
    comment_prefix: str = "--"
    script_suffix: str = ".sql"
    formatter: str = ""
    keywords: str = ""
    identifier_quote: str = '"'
    word_characters: str = "_"
    #: Whether identifiers fold to lower case when unquoted (PostgreSQL) rather than
    #: keeping their case (SQLite compares them case-insensitively but keeps them).
    folds_to_lower: bool = True

    def split(self, text: str) -> list[Statement]:
        """The statements of ``text`` as the engine's sessions would run them."""
        return self._splitter(text)

    @cached_property
    def _splitter(self) -> Callable[[str], list[Statement]]:
        return load_reference(self.splitter)

    @property
    def can_format(self) -> bool:
        return bool(self.formatter)

    def format(self, text: str) -> str:
        """``text`` reformatted; raises ``ValueError`` when the language has no formatter."""
        if not self.formatter:
            raise ValueError(f"{self.name} has no formatter")
        return load_reference(self.formatter)(text)

    @cached_property
    def keyword_list(self) -> tuple[str, ...]:
        """The words completion offers besides the catalog's names (loaded once)."""
        if not self.keywords:
            return ()
        return tuple(dict.fromkeys(load_reference(self.keywords)()))

    def quote_identifier(self, name: str) -> str:
        """``name`` as the language writes it: bare when it may be, else quoted.

        A name is left bare when it is a plain identifier that the language would read
        back as the same name (lower case where unquoted names fold) and not a keyword.
        """
        if not self.identifier_quote:
            return name
        plain = name.isidentifier() and name.isascii()
        if plain and self.folds_to_lower:
            plain = name == name.lower()
        if plain and name.upper() in self._upper_keywords:
            plain = False
        if plain:
            return name
        quote_char = self.identifier_quote
        return quote_char + name.replace(quote_char, quote_char * 2) + quote_char

    @cached_property
    def _upper_keywords(self) -> frozenset[str]:
        return frozenset(word.upper() for word in self.keyword_list)


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class CatalogKind:
    """A kind of catalog node: the folder that groups it and the icon of its rows.

    Several kinds may share one folder (a partitioned table among the tables). ``icon``
    names an icon of the app's icon set (``table``, ``view``, ``column``, ...). ``label``
    is said beside the name of a kind that shares its folder (``partitioned``);
    ``collapsed`` folders start closed (long lists the user rarely looks for).
    """

    kind: str
    folder: str
    icon: str
    label: str = ""
    collapsed: bool = False


@dataclass(frozen=True)
class EngineSetting:
    """A preference the engine reads from the environment variable ``env``, which the
    window's Preferences show in the engine's own group (``kind``: ``folder`` or
    ``text``) and set for the engine when the user fills them in."""

    key: str
    label: str
    env: str
    kind: str = "text"
    help: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, so the window offers only what works.

    ``needs_server``: sandboxes live on a database server (PostgreSQL, MongoDB) rather
    than as files in dbplay's data directory (SQLite, embedded Chroma).
    """

    needs_server: bool = True
    cancel: bool = True
    timeout: bool = True
    transactions: bool = False


# --------------------------------------------------------------------------- descriptor


@dataclass(frozen=True)
class EngineDescriptor:
    """Everything about an engine that is known without importing its driver.

    ``engine`` names the :class:`~dbplay_desktop.engines.base.Engine` class. ``schemes``
    lists the URI schemes it answers (the first is the one dbplay writes). With
    ``path_is_database`` the URI's whole path is the database (a file or a folder);
    otherwise the path's first segment names a database on the server. ``requires``
    lists the import names of the driver packages, checked without importing them;
    ``extra`` is the pip extra that installs them. ``local_server`` names a factory
    (``() -> LocalServer``, see :mod:`dbplay_desktop.servers.local`) for the private server
    the window starts when nothing is configured; engines without one use ``local_uri``.
    ``describe_error`` names ``(exc) -> str | None``: a driver exception that escaped the
    engine's own wrapping, in one line (``None`` when it is not the driver's).
    """

    name: str
    display_name: str
    engine: str
    schemes: tuple[str, ...]
    language: LanguageSpec
    uri_example: str
    default_port: int | None = None
    path_is_database: bool = False
    capabilities: Capabilities = field(default_factory=Capabilities)
    payload_format: str = ""
    payload_version: int = 1
    catalog_kinds: tuple[CatalogKind, ...] = ()
    icon: str = ""
    extra: str = ""
    requires: tuple[str, ...] = ()
    local_server: str = ""
    local_uri: str = ""
    local_label: str = ""
    local_database: str = ""
    describe_error: str = ""
    #: How to install what ``requires`` names, for engines of other distributions
    #: (default: ``pip install 'dbplay-desktop[<extra>]'``).
    install: str = ""
    #: Extra *Copy as* formats of the results grid: ``(label, "module:function")`` where
    #: the function takes ``(column_names, rows)`` (rows as the session yielded them,
    #: :class:`~dbplay_desktop.values.Tagged` values included) and returns the text.
    copy_formats: tuple[tuple[str, str], ...] = ()
    #: Preferences of the engine's own (see :class:`EngineSetting`).
    settings: tuple[EngineSetting, ...] = ()
    #: Menus list engines by rank, then name; the first available engine with a local
    #: server is the window's default (the app's own engines rank first).
    rank: int = 100
    #: Importing another tool's dump as a template (``dbplay template import``):
    #: ``importer`` names ``(source: Path, sink: PayloadSink, progress) -> DumpInfo``, which
    #: writes the engine's payload from ``source`` (a file or folder) and raises a one-line
    #: :class:`~dbplay_desktop.errors.EngineError` for a source it does not understand;
    #: ``can_import`` names a cheap ``(source: Path) -> bool`` that says whether it would
    #: try (a look at names and the first bytes, no driver needed). Empty: no importer.
    importer: str = ""
    can_import: str = ""

    # -- availability --------------------------------------------------------------
    def missing_requirements(self) -> list[str]:
        """The driver packages that are not installed (looked up, never imported)."""
        missing = []
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    @property
    def install_hint(self) -> str:
        if self.install:
            return self.install
        extra = self.extra or self.name
        return f"pip install 'dbplay-desktop[{extra}]'"

    def unavailable_reason(self) -> str | None:
        """Why the engine cannot be used here (one line with the fix), or ``None``."""
        missing = self.missing_requirements()
        if not missing:
            return None
        return (f"the {self.display_name} engine needs {', '.join(missing)}: "
                f"{self.install_hint}")

    @property
    def available(self) -> bool:
        return not self.missing_requirements()

    def engine_class(self) -> type[Engine]:
        """Import the engine; a missing driver is an error that says what to install."""
        reason = self.unavailable_reason()
        if reason is not None:
            raise UnsupportedUri(reason)
        try:
            return load_reference(self.engine)
        except ImportError as exc:
            raise UnsupportedUri(
                f"the {self.display_name} engine cannot load ({exc}): {self.install_hint}"
            ) from exc

    def open(self, uri: str, **options: Any) -> Engine:
        """An engine handle on ``uri``."""
        return self.engine_class()(uri, **options)

    # -- addresses -----------------------------------------------------------------
    @property
    def default_scheme(self) -> str:
        return self.schemes[0]

    def handles(self, scheme: str) -> bool:
        return scheme.lower() in self.schemes

    def database_from_uri(self, uri: str) -> str:
        """The database ``uri`` names (a name on the server, or a file/folder path).

        Raises :class:`UnsupportedUri` when it names none, so nothing is ever restored
        into a default database.
        """
        try:
            parts = urlsplit(uri)
            query = parse_qs(parts.query)
        except ValueError as exc:
            raise UnsupportedUri(f"{redact_uri(uri)} is not a valid address: {exc}") from exc
        path = unquote(parts.path)
        if not self.path_is_database:
            path = path.removeprefix("/")
            if not path and query.get("dbname"):
                path = query["dbname"][-1]
        if not path or path == "/":
            raise UnsupportedUri(
                f"the address {redact_uri(uri)} names no database: "
                f"expected e.g. {self.uri_example}"
            )
        return path

    def uri_for_database(self, uri: str, database: str, *, with_password: bool = False) -> str:
        """``uri`` pointed at ``database``, its password left out unless asked for.

        A ``password`` or ``dbname`` query parameter is dropped as well.
        """
        parts = urlsplit(uri)
        userinfo, at, hostport = parts.netloc.rpartition("@")
        if at and not with_password:
            userinfo = userinfo.split(":", 1)[0]
        netloc = f"{userinfo}@{hostport}" if at and userinfo else hostport
        dropped = {"dbname"} if with_password else {"dbname", "password"}
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                  if k not in dropped]
        query = urlencode(params, quote_via=quote)
        if self.path_is_database:
            path = quote(database, safe="/")
            path = path if path.startswith("/") else "/" + path
        else:
            path = "/" + quote(database, safe="")
        text = f"{parts.scheme}://{netloc}{path}"
        return text + (f"?{query}" if query else "")

    def quote_path(self, database: str) -> str:
        """The URI path for ``database`` (a file path keeps its slashes)."""
        return quote(database, safe="/" if self.path_is_database else "")

    # -- the icon ------------------------------------------------------------------
    @property
    def icon_path(self) -> Path | None:
        """The engine's SVG badge, or ``None`` (the window draws a generic one)."""
        if not self.icon:
            return None
        path = Path(self.icon)
        return path if path.is_file() else None

    def copy_as(self, label: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """``rows`` in the engine's copy format ``label`` (one of :attr:`copy_formats`)."""
        for known, reference in self.copy_formats:
            if known == label:
                return load_reference(reference)(columns, rows)
        raise ValueError(f"{self.display_name} has no copy format {label!r}")

    def catalog_kind(self, kind: str) -> CatalogKind | None:
        return next((k for k in self.catalog_kinds if k.kind == kind), None)

    def folder_order(self) -> Sequence[str]:
        """Folder names in the order the engine lists its kinds."""
        return tuple(dict.fromkeys(k.folder for k in self.catalog_kinds))


def redact_uri(uri: str) -> str:
    """``uri`` without its password, for messages and labels."""
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        return "<invalid address>"
    if password is None:
        return uri
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


def icon_beside(module_file: str, name: str = "icon.svg") -> str:
    """The path of an icon file next to a descriptor module (``icon=icon_beside(__file__)``)."""
    return str(Path(module_file).resolve().with_name(name))
