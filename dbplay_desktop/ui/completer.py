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
        self._model = QStringListModel(self)
        self.setModel(self._model)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.setWrapAround(False)
        self.setMaxVisibleItems(12)

    # -- word lists ------------------------------------------------------------
    def set_language(self, language: str) -> None:
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
        return list(self._model.stringList())

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
        self._model.setStringList(words)

    # -- popup -------------------------------------------------------------------
    def is_open(self) -> bool:
        return self.popup().isVisible()

    def show_for(self, prefix: str, rect: QRect) -> bool:
        """Open (or refresh) the popup for ``prefix`` under ``rect``; False if nothing fits."""
        if prefix != self.completionPrefix():
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
