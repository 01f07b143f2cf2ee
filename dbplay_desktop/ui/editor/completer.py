"""Completion of keywords and catalog names for the query editor.

Keywords come from Pygments' keyword tables for the engine's language (the same lists
that drive highlighting); catalog names (tables, columns, functions, ...) are fed in by
the main window from ``Session.catalog()``. Matching is a case-insensitive prefix match.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QRect, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QWidget

from dbplay_desktop.engines.base import CatalogItem

#: Words of MongoDB's shell (mongosh) worth offering besides JavaScript keywords.
MONGOSH_WORDS = (
    "db", "find", "findOne", "aggregate", "countDocuments", "estimatedDocumentCount",
    "distinct", "insertOne", "insertMany", "updateOne", "updateMany", "replaceOne",
    "deleteOne", "deleteMany", "findOneAndUpdate", "findOneAndReplace", "findOneAndDelete",
    "bulkWrite", "createIndex", "createIndexes", "dropIndex", "getIndexes", "drop",
    "createCollection", "getCollection", "getCollectionNames", "sort", "limit", "skip",
    "projection", "explain", "toArray", "pretty", "count",
    "$match", "$group", "$project", "$sort", "$limit", "$skip", "$unwind", "$lookup",
    "$addFields", "$set", "$unset", "$count", "$facet", "$sum", "$avg", "$min", "$max",
    "$push", "$addToSet", "$first", "$last", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte",
    "$in", "$nin", "$and", "$or", "$not", "$nor", "$exists", "$regex", "$elemMatch",
    "$size", "$inc", "$mul", "$rename",
)  # fmt: skip

JAVASCRIPT_WORDS = (
    "const", "let", "var", "function", "return", "if", "else", "for", "while", "true",
    "false", "null", "undefined", "new", "typeof", "instanceof", "ObjectId", "ISODate",
    "NumberLong", "NumberDecimal", "Date", "Math", "JSON",
)  # fmt: skip

_SQL_LANGUAGES = {"sql", "postgresql", "postgres", "sqlite", "sqlite3", "mysql", "plpgsql"}


def keywords_for(language: str) -> list[str]:
    """Completion keywords for an engine language (a Pygments lexer name)."""
    name = (language or "").lower()
    if name in ("javascript", "js", "mongosh", "mongodb"):
        return list(dict.fromkeys(MONGOSH_WORDS + JAVASCRIPT_WORDS))
    if name in ("postgresql", "postgres", "plpgsql"):
        try:
            from pygments.lexers import _postgres_builtins as pg

            words = list(pg.KEYWORDS) + [t.upper() for t in pg.DATATYPES + pg.PSEUDO_TYPES]
            return list(dict.fromkeys(words))
        except (ImportError, AttributeError):  # Pygments moved its tables
            pass
    if name in _SQL_LANGUAGES or not name:
        try:
            from pygments.lexers import _sql_builtins as sql

            return list(dict.fromkeys(list(sql.KEYWORDS) + list(sql.DATATYPES)))
        except (ImportError, AttributeError):
            from sqlparse.keywords import KEYWORDS_COMMON

            return sorted(KEYWORDS_COMMON)
    return []


def names_from_catalog(items: list[CatalogItem]) -> list[str]:
    """Every completable name in a catalog tree: ``insert_text`` when set, else ``name``."""
    names: dict[str, None] = {}
    for root in items:
        for item in root.walk():
            if item.kind == "database":
                continue
            word = item.insert_text or item.name
            if word:
                names[word] = None
    return list(names)


#: Catalog kinds that have columns (or fields) a qualified name can complete.
RELATION_KINDS = frozenset(
    {"table", "view", "materialized view", "foreign table", "partitioned table", "collection"}
)
_COLUMN_KINDS = frozenset({"column", "field"})
#: Words after which a SQL statement names a table or view.
_RELATION_KEYWORDS = frozenset({"from", "join", "into", "update", "table"})


def relations_from_catalog(items: list[CatalogItem]) -> dict[str, tuple[str, list[str]]]:
    """Every table-like item: its case-folded name -> (text to insert, its column names)."""
    relations: dict[str, tuple[str, list[str]]] = {}
    for root in items:
        for item in root.walk():
            if item.kind in RELATION_KINDS:
                columns = [c.insert_text or c.name for c in item.walk() if c.kind in _COLUMN_KINDS]
                relations.setdefault(item.name.casefold(), (item.insert_text or item.name, columns))
    return relations


def _unquote(word: str) -> str:
    if len(word) > 1 and word[0] == word[-1] == '"':
        return word[1:-1].replace('""', '"')
    return word


def _significant_tokens(text: str, language: str) -> list[tuple[bool, str]]:
    """(is a name or keyword, text) for each token of ``text`` that is not white space or
    a comment, from the Pygments lexer that also highlights the editor."""
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Comment, Keyword, Name, Text

    try:
        lexer = get_lexer_by_name(language or "sql")
    except Exception:  # no lexer for this language: no context
        return []
    tokens: list[tuple[bool, str]] = []
    for ttype, value in lexer.get_tokens(text):
        if ttype in Text or ttype in Comment or not value.strip():
            continue
        tokens.append((ttype in Name or ttype in Keyword, value))
    return tokens


def context_words(
    before: str,
    statement: str,
    relations: dict[str, tuple[str, list[str]]],
    language: str,
) -> list[str] | None:
    """The words that fit where the user is typing, or None for every word.

    ``before`` is the statement's text up to the word being completed, ``statement`` the
    whole statement (for aliases declared later, as in ``SELECT c.| FROM customers c``).
    After ``alias.`` or ``table.`` the relation's columns; after FROM/JOIN/INTO/UPDATE
    the tables and views. SQL only: other languages always get every word.
    """
    if language.lower() not in _SQL_LANGUAGES or not relations:
        return None
    if before.endswith("."):
        head = before[:-1]
        start = len(head)
        while start > 0 and (is_identifier_char(head[start - 1]) or head[start - 1] == '"'):
            start -= 1
        qualifier = _unquote(head[start:]).casefold()
        if not qualifier:
            return None
        if qualifier in relations:
            return relations[qualifier][1]
        tokens = _significant_tokens(statement, language)
        for i, (is_word, value) in enumerate(tokens):
            if not is_word or _unquote(value).casefold() not in relations:
                continue
            rest = tokens[i + 1 : i + 3]
            if rest and rest[0][1].casefold() == "as":
                rest = rest[1:]
            if rest and rest[0][0] and _unquote(rest[0][1]).casefold() == qualifier:
                return relations[_unquote(value).casefold()][1]
        return None
    tokens = _significant_tokens(before, language)
    if tokens and tokens[-1][1].casefold() in _RELATION_KEYWORDS:
        return [insert for insert, _columns in relations.values()]
    return None


def is_identifier_char(char: str) -> bool:
    """Characters that continue a word being completed (``$`` for mongosh operators)."""
    return char.isalnum() or char in "_$"


class Completer(QCompleter):
    """A popup completer over keywords plus catalog names, matched case-insensitively."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._keywords: list[str] = []
        self._keyword_set: set[str] = set()
        self._catalog: list[str] = []
        self._catalog_set: set[str] = set()
        self._insert_for: dict[str, str] = {}  # shown word -> text to insert
        self._all_words: list[str] = []
        self._language = ""
        #: Case-folded table name -> (text to insert, column names); see set_relations.
        self.relations: dict[str, tuple[str, list[str]]] = {}
        self._model = QStringListModel(self)
        self.setModel(self._model)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.setWrapAround(False)
        self.setMaxVisibleItems(12)

    # -- word lists ------------------------------------------------------------
    def set_language(self, language: str) -> None:
        self._language = language or ""
        self.set_keywords(keywords_for(language))

    def set_keywords(self, words: Iterable[str]) -> None:
        self._keywords = list(words)
        self._keyword_set = {w.casefold() for w in self._keywords}
        self._rebuild()

    def set_catalog_names(self, names: Iterable[str]) -> None:
        self._catalog = [n for n in names if n]
        self._catalog_set = set(self._catalog)
        self._rebuild()

    def words(self) -> list[str]:
        """The words on offer, catalog names first when a keyword has the same spelling."""
        return list(self._all_words)

    def _use_words(self, words: list[str] | None) -> None:
        """Show ``words`` only (None: every keyword and catalog name)."""
        wanted = self._all_words if words is None else sorted(
            dict.fromkeys(_unquote(w) for w in words if w), key=str.casefold
        )
        if words is not None:
            for word in words:
                if _unquote(word) != word:
                    self._insert_for[_unquote(word)] = word
        if wanted != self._model.stringList():
            self._model.setStringList(wanted)
            # Any order the model sorting assumed no longer holds for a narrowed list.
            self.setModelSorting(
                QCompleter.ModelSorting.CaseInsensitivelySortedModel
                if all(w.isascii() for w in wanted)
                else QCompleter.ModelSorting.UnsortedModel
            )

    def _rebuild(self) -> None:
        seen: dict[str, str] = {}
        self._insert_for = {}
        for word in self._catalog:
            shown = word
            if len(word) > 2 and word[0] == word[-1] == '"':
                # Quoted identifiers are matched without their quotes ("Order Lines").
                shown = word[1:-1].replace('""', '"')
                self._insert_for[shown] = word
            seen.setdefault(shown.casefold(), shown)
        for word in self._keywords:
            seen.setdefault(word.casefold(), word)
        words = sorted(seen.values(), key=str.casefold)
        self.setModelSorting(
            QCompleter.ModelSorting.CaseInsensitivelySortedModel
            if all(w.isascii() for w in words)
            else QCompleter.ModelSorting.UnsortedModel
        )
        self._all_words = words
        self._model.setStringList(words)

    # -- popup -------------------------------------------------------------------
    def is_open(self) -> bool:
        return self.popup().isVisible()

    def set_relations(self, relations: dict[str, tuple[str, list[str]]]) -> None:
        """Tables and their columns, for completion that fits the context."""
        self.relations = dict(relations)

    def words_for(self, before: str, statement: str) -> list[str] | None:
        """See :func:`context_words`: the words that fit, or None for all of them."""
        return context_words(before, statement, self.relations, self._language)

    def show_for(self, prefix: str, rect: QRect, words: list[str] | None = None) -> bool:
        """Open (or refresh) the popup for ``prefix`` under ``rect``; False if nothing fits.

        ``words`` narrows the list to what fits the context (columns after ``alias.``);
        when none of them matches ``prefix`` every word is offered again.
        """
        self._use_words(words)
        if prefix != self.completionPrefix():
            self.setCompletionPrefix(prefix)
        count = self.completionCount()
        if count == 0 and words is not None:
            self._use_words(None)
            self.setCompletionPrefix(prefix)
            count = self.completionCount()
        if count == 0 or (count == 1 and self.currentCompletion() == prefix):
            self.popup().hide()
            return False
        popup = self.popup()
        popup.setCurrentIndex(self.completionModel().index(0, 0))
        width = popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 8
        rect.setWidth(max(width, 160))
        self.complete(rect)
        return True

    def hide_popup(self) -> None:
        self.popup().hide()

    def insert_text_for(self, shown: str) -> str:
        """What choosing a shown word inserts (quoted identifiers get their quotes)."""
        return self._insert_for.get(shown, shown)

    def current_text(self) -> str:
        """The highlighted completion, in the case the user is typing for keywords."""
        index = self.popup().currentIndex()
        word = str(index.data()) if index.isValid() else self.currentCompletion()
        if word in self._insert_for:
            return self._insert_for[word]
        prefix = self.completionPrefix()
        if word.casefold() in self._keyword_set and word not in self._catalog_set and prefix:
            if prefix.islower():
                return word.lower()
            if prefix.isupper():
                return word.upper()
        return word
