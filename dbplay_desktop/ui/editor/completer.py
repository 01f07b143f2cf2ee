"""Completion of keywords and catalog names for the query editor.

Everything about the language comes from the engine's
:class:`~dbplay_desktop.engines.descriptor.LanguageSpec`: its keyword list, the characters
that continue a word, how it quotes a name, and the Pygments lexer that also highlights
the editor (for the tokens the context rules look at). Catalog names (tables, columns,
functions, ...) are fed in by the playground from ``Session.catalog()``. Matching is a
case-insensitive prefix match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QRect, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QWidget

from dbplay_desktop.engines.base import CatalogItem
from dbplay_desktop.engines.descriptor import LanguageSpec

#: What continues a word when no language is set (a language spec says its own).
DEFAULT_WORD_CHARACTERS = "_"
#: The identifier quote when no language is set.
DEFAULT_QUOTE = '"'


def names_from_catalog(
    items: list[CatalogItem], quote: Callable[[str], str] | None = None
) -> list[str]:
    """Every completable name in a catalog tree: ``insert_text`` when set, else ``name``
    (written as ``quote`` writes it, e.g. ``LanguageSpec.quote_identifier``)."""
    names: dict[str, None] = {}
    for root in items:
        for item in root.walk():
            if item.kind == "database":
                continue
            word = _insert_text(item, quote)
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


def relations_from_catalog(
    items: list[CatalogItem], quote: Callable[[str], str] | None = None
) -> dict[str, tuple[str, list[str]]]:
    """Every table-like item: its case-folded name -> (text to insert, its column names)."""
    relations: dict[str, tuple[str, list[str]]] = {}
    for root in items:
        for item in root.walk():
            if item.kind in RELATION_KINDS:
                columns = [_insert_text(c, quote) for c in item.walk() if c.kind in _COLUMN_KINDS]
                relations.setdefault(item.name.casefold(), (_insert_text(item, quote), columns))
    return relations


def _insert_text(item: CatalogItem, quote: Callable[[str], str] | None) -> str:
    if item.insert_text or not item.name:
        return item.insert_text or item.name
    return quote(item.name) if quote is not None else item.name


def _unquote(word: str, quote: str = DEFAULT_QUOTE) -> str:
    if quote and len(word) > 1 and word[0] == word[-1] == quote:
        return word[1:-1].replace(quote * 2, quote)
    return word


def _significant_tokens(text: str, language: str) -> list[tuple[bool, str]]:
    """(is a name or keyword, text) for each token of ``text`` that is not white space or
    a comment, from the Pygments lexer that also highlights the editor."""
    from pygments.lexers import get_lexer_by_name
    from pygments.token import Comment, Keyword, Name, Text

    if not language:
        return []
    try:
        lexer = get_lexer_by_name(language)
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
    quote: str = DEFAULT_QUOTE,
    word_characters: str = DEFAULT_WORD_CHARACTERS,
) -> list[str] | None:
    """The words that fit where the user is typing, or None for every word.

    ``before`` is the statement's text up to the word being completed, ``statement`` the
    whole statement (for aliases declared later, as in ``SELECT c.| FROM customers c``).
    After ``alias.`` or ``table.`` the relation's columns; after FROM/JOIN/INTO/UPDATE
    the tables and views. ``language`` is the Pygments lexer name that tokenizes the
    statement, ``quote`` the language's identifier quote. Without relations (a catalog
    with no table-like kinds) every word is offered.
    """
    if not relations:
        return None
    if before.endswith("."):
        head = before[:-1]
        start = len(head)
        while start > 0 and (
            is_identifier_char(head[start - 1], word_characters)
            or (quote and head[start - 1] == quote)
        ):
            start -= 1
        qualifier = _unquote(head[start:], quote).casefold()
        if not qualifier:
            return None
        if qualifier in relations:
            return relations[qualifier][1]
        tokens = _significant_tokens(statement, language)
        for i, (is_word, value) in enumerate(tokens):
            if not is_word or _unquote(value, quote).casefold() not in relations:
                continue
            rest = tokens[i + 1 : i + 3]
            if rest and rest[0][1].casefold() == "as":
                rest = rest[1:]
            if rest and rest[0][0] and _unquote(rest[0][1], quote).casefold() == qualifier:
                return relations[_unquote(value, quote).casefold()][1]
        return None
    tokens = _significant_tokens(before, language)
    if tokens and tokens[-1][1].casefold() in _RELATION_KEYWORDS:
        return [insert for insert, _columns in relations.values()]
    return None


def is_identifier_char(char: str, word_characters: str = DEFAULT_WORD_CHARACTERS) -> bool:
    """Whether ``char`` continues a word being completed: a letter, a digit or one of the
    language's ``word_characters`` (``LanguageSpec.word_characters``)."""
    return char.isalnum() or (bool(char) and char in word_characters)


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
        self._language = ""  # the Pygments lexer name
        self._quote = DEFAULT_QUOTE
        self._word_characters = DEFAULT_WORD_CHARACTERS
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
    def set_language(self, spec: LanguageSpec | None) -> None:
        """Complete for ``spec`` (its keywords, quote, word characters); None: no keywords."""
        self._language = spec.lexer if spec is not None else ""
        self._quote = spec.identifier_quote if spec is not None else DEFAULT_QUOTE
        self._word_characters = (
            spec.word_characters if spec is not None else DEFAULT_WORD_CHARACTERS
        )
        self.set_keywords(spec.keyword_list if spec is not None else ())

    @property
    def quote(self) -> str:
        """The language's identifier quote ("" when it has none)."""
        return self._quote

    @property
    def word_characters(self) -> str:
        return self._word_characters

    def is_word_char(self, char: str) -> bool:
        """Whether ``char`` continues a word of the current language."""
        return is_identifier_char(char, self._word_characters)

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
            dict.fromkeys(_unquote(w, self._quote) for w in words if w), key=str.casefold
        )
        if words is not None:
            for word in words:
                if _unquote(word, self._quote) != word:
                    self._insert_for[_unquote(word, self._quote)] = word
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
            if len(word) > 2 and _unquote(word, self._quote) != word:
                # Quoted identifiers are matched without their quotes ("Order Lines").
                shown = _unquote(word, self._quote)
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
        return context_words(
            before, statement, self.relations, self._language, self._quote,
            self._word_characters,
        )  # fmt: skip

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
