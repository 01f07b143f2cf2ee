"""The Chroma call splitter, parser, allow-list and completion words (pure, no chromadb)."""

from __future__ import annotations

import random

import pytest

from dbplay_desktop.engines.chroma.calls import allow
from dbplay_desktop.engines.chroma.calls.commands import CLIENT, COLLECTION
from dbplay_desktop.engines.chroma.calls.parse import MAX_DEPTH, parse_calls
from dbplay_desktop.engines.chroma.calls.split import split_calls
from dbplay_desktop.engines.chroma.calls.words import call_keywords
from dbplay_desktop.errors import QueryError


def texts(source: str) -> list[str]:
    return [statement.text for statement in split_calls(source)]


def one(source: str):
    calls = parse_calls(source)
    assert len(calls) == 1
    return calls[0]


def refused(source: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_calls(source)
    error = caught.value
    assert "\n" not in str(error)
    assert f"at line {error.line}, column {error.column}" in str(error)
    return error


# --------------------------------------------------------------------------- split


def test_split_lines_semicolons_and_comments():
    source = "# intro\nlist_collections()  # trailing\n\ndocs.count(); docs.peek(2);\n"
    assert texts(source) == ["list_collections()", "docs.count()", "docs.peek(2)"]


def test_split_empty_and_comment_only():
    assert split_calls("") == []
    assert split_calls("  \n\t\n") == []
    assert split_calls("# nothing\n   # more\n") == []


def test_split_multiline_call_is_one_statement():
    source = 'docs.add(\n    ids=["a", "b"],  # two\n    documents=["x", "y"],\n)\ndocs.count()'
    statements = split_calls(source)
    assert [s.text for s in statements] == [source.split("\ndocs.count()")[0], "docs.count()"]
    assert (statements[0].line, statements[0].column) == (1, 1)
    assert (statements[1].line, statements[1].column) == (5, 1)


def test_split_offsets_with_crlf_and_unicode():
    source = 'docs.get(ids=["é€😀"])\r\n  ;  collection("ü-docs").count()\r\n# c\r\nheartbeat()'
    statements = split_calls(source)
    assert [s.text for s in statements] == ['docs.get(ids=["é€😀"])',
                                           'collection("ü-docs").count()', "heartbeat()"]
    for statement in statements:
        assert source[statement.start:statement.end] == statement.text
    assert (statements[1].line, statements[1].column) == (2, 6)
    assert (statements[2].line, statements[2].column) == (4, 1)


def test_split_lone_carriage_return_ends_a_line():
    source = "docs.count()\rheartbeat()"
    assert texts(source) == ["docs.count()", "heartbeat()"]


def test_split_keeps_statements_before_a_syntax_error():
    source = 'docs.count()\ndocs.get(ids=)\nheartbeat()\ndocs.add(ids=["a"],\n   documents=['
    statements = split_calls(source)
    assert [s.text for s in statements] == [
        "docs.count()", "docs.get(ids=)", "heartbeat()",
        'docs.add(ids=["a"],\n   documents=[']
    for statement in statements:
        assert source[statement.start:statement.end] == statement.text


def test_split_unterminated_string_and_crlf_fallback():
    source = 'docs.count()\r\ndocs.get(ids="a)\r\nheartbeat()'
    statements = split_calls(source)
    assert statements[0].text == "docs.count()"
    assert all(source[s.start:s.end] == s.text for s in statements)
    assert statements[-1].text.endswith("heartbeat()")


def test_split_is_cached_and_returns_fresh_lists():
    first = split_calls("docs.count()")
    first.clear()
    assert texts("docs.count()") == ["docs.count()"]


# --------------------------------------------------------------------------- parse: forms


def test_client_methods():
    assert one("list_collections()").target == CLIENT
    assert one("list_collections(limit=5, offset=1)").kwargs == {"limit": 5, "offset": 1}
    for name in ("count_collections", "heartbeat", "get_version"):
        call = one(f"{name}()")
        assert (call.target, call.collection, call.method, call.args) == (CLIENT, None, name, ())
    call = one('create_collection("docs", metadata={"hnsw:space": "cosine"}, '
               'configuration={"hnsw": {"ef_search": 10}}, get_or_create=True)')
    assert call.args == ("docs",)
    assert call.kwargs == {"metadata": {"hnsw:space": "cosine"},
                           "configuration": {"hnsw": {"ef_search": 10}},
                           "get_or_create": True}
    assert one('create_collection(name="x")').kwargs == {"name": "x"}
    assert one('get_or_create_collection("x", metadata={"a": 1})').method == \
        "get_or_create_collection"
    assert one('get_collection("x")').args == ("x",)
    assert one('delete_collection(name="x")').kwargs == {"name": "x"}


def test_collection_methods():
    call = one('docs.add(ids=["a"], documents=["hello"], metadatas=[{"k": 1}], '
               'embeddings=[[0.1, -2, 1e-3]], uris=["file:///a"])')
    assert (call.target, call.collection, call.method) == (COLLECTION, "docs", "add")
    assert call.kwargs["embeddings"] == [[0.1, -2, 0.001]]
    assert one('docs.upsert(["a"], documents="x")').args == (["a"],)
    assert one('docs.update(ids="a", metadatas={"k": None})').method == "update"
    assert one('docs.delete(where={"k": {"$eq": 1}})').kwargs == {"where": {"k": {"$eq": 1}}}
    assert one('docs.delete(ids=["a"], where_document={"$contains": "x"})').method == "delete"
    call = one('docs.get(ids=("a", "b"), where={"$and": [{"a": 1}, {"b": {"$in": [1, 2]}}]}, '
               'limit=10, offset=0, include=["documents", "metadatas", "embeddings"])')
    assert call.kwargs["ids"] == ["a", "b"]
    assert call.kwargs["include"] == ["documents", "metadatas", "embeddings"]
    assert one("docs.get()").kwargs == {}
    call = one('docs.query(query_texts=["q"], n_results=3, where={"x": {"$gte": -1.5}}, '
               'include=["distances", "documents"])')
    assert call.kwargs["where"] == {"x": {"$gte": -1.5}}
    assert one("docs.query(query_embeddings=[[1, 2], [3, 4]])").method == "query"
    assert one("docs.count()").method == "count"
    assert one("docs.peek(5)").args == (5,)
    assert one("docs.peek(limit=5)").kwargs == {"limit": 5}
    assert one('docs.modify(name="new", metadata={"a": "b"}, configuration={})').kwargs == {
        "name": "new", "metadata": {"a": "b"}, "configuration": {}}


def test_collection_function_for_odd_names():
    call = one('collection("my-docs").get(limit=1)')
    assert (call.target, call.collection, call.method) == (COLLECTION, "my-docs", "get")
    assert (call.line, call.column) == (1, 23)
    assert one("collection('a b').count()").collection == "a b"


def test_literals():
    call = one('docs.add(ids=["a"], metadatas={"i": -3, "f": +2.5, "t": True, "n": None, '
               '"s": "a" "b", "l": [1, (2, 3), {"x": []}], "big": 12345678901234567890})')
    assert call.kwargs["metadatas"] == {"i": -3, "f": 2.5, "t": True, "n": None, "s": "ab",
                                        "l": [1, [2, 3], {"x": []}],
                                        "big": 12345678901234567890}


def test_many_calls_and_statements():
    calls = parse_calls("docs.count()\n\nlist_collections(); heartbeat()\n")
    assert [c.method for c in calls] == ["count", "list_collections", "heartbeat"]
    assert [c.statement.text for c in calls] == ["docs.count()", "list_collections()",
                                                 "heartbeat()"]
    assert parse_calls("# only a comment") == []
    assert parse_calls("") == []


def test_positions_of_method_names():
    source = '# x\r\n  \r\nheartbeat(); docs.get(\r\n  ids=["é"])\r\nmy_docs . peek (1)'
    calls = parse_calls(source)
    assert [(c.line, c.column) for c in calls] == [(3, 1), (3, 19), (5, 11)]
    source = 'docs.add(ids=["éé€"], documents=["😀"]); docs.count()'
    assert [(c.line, c.column) for c in parse_calls(source)] == [(1, 6), (1, 46)]


# --------------------------------------------------------------------------- parse: refusals


@pytest.mark.parametrize(("source", "words", "line", "column"), [
    ("import os", "import is not allowed", 1, 1),
    ("from os import path", "import is not allowed", 1, 1),
    ("x = docs.count()", "assignments are not allowed", 1, 1),
    ("docs.count()\nx += 1", "assignments are not allowed", 2, 1),
    ("def f():\n    pass", "function definitions", 1, 1),
    ("@dec\nclass C: pass", "class definitions", 2, 1),
    ("for x in []: pass", "loops are not allowed", 1, 1),
    ("if True: docs.count()", "if statements", 1, 1),
    ("del docs", "del is not allowed", 1, 1),
    ("docs", "expected a call", 1, 1),
    ("docs.count", "expected a call", 1, 1),
    ("1 + 2", "arithmetic is not allowed", 1, 1),
    ("a.b.get()", "attribute chains beyond name.method", 1, 1),
    ("client.docs.count()", "attribute chains beyond name.method", 1, 1),
    ('db["docs"].get()', "subscripts are not allowed", 1, 1),
    ("docs.get()[0]", "subscripts are not allowed", 1, 1),
    ("docs.count()\n\tdocs.count()", "syntax error: unexpected indent", 2, 2),
    ("docs.get().count()", "calls cannot be chained", 1, 1),
    ("docs()", "unknown call docs()", 1, 1),
    ("print(1)", "unknown call print()", 1, 1),
    ("eval('1')", "unknown call eval()", 1, 1),
    ("get(limit=1)", "collection method", 1, 1),
    ("collection('x')", "needs a method", 1, 1),
    ("collection(name).get()", "collection() takes one collection name", 1, 1),
    ("collection('a', 'b').get()", "collection() takes one collection name", 1, 1),
    ("collection('').get()", "collection() takes one collection name", 1, 1),
    ("other('x').get()", "calls cannot be chained", 1, 1),
    ("docs.drop()", "unknown collection method drop()", 1, 6),
    ("docs._client()", "unknown collection method _client()", 1, 6),
    ("docs.__class__()", "names starting with __", 1, 6),
    ("__import__('os')", "names starting with __", 1, 1),
    ("__builtins__.get()", "names starting with __", 1, 1),
    ("docs.get(idz=['a'])", "unknown argument idz= for get()", 1, 10),
    ("docs.count(limit=1)", "unknown argument limit= for count(): expected no arguments",
     1, 12),
    ("heartbeat(1)", "takes no positional arguments", 1, 11),
    ("docs.query(['q'])", "takes no positional arguments; pass the rest by keyword", 1, 12),
    ("docs.get(['a'], ['b'])", "takes 1 positional argument", 1, 17),
    ("docs.get(['a'], ids=['b'])", "got ids= twice", 1, 17),
    ("docs.get(limit=1, limit=2)", "got limit= twice", 1, 19),
    ("docs.get(*ids)", "starred arguments are not allowed", 1, 10),
    ("docs.get(**opts)", "** arguments are not allowed", 1, 10),
    ("docs.get(ids=x)", "names are not allowed as values (got x)", 1, 14),
    ("docs.get(ids=__file__)", "names starting with __", 1, 14),
    ("docs.get(ids=os.environ)", "attributes are not allowed", 1, 14),
    ("docs.get(ids=a[0])", "subscripts are not allowed", 1, 14),
    ("docs.get(ids=lambda: 1)", "lambdas are not allowed", 1, 14),
    ("docs.get(ids=[i for i in x])", "comprehensions are not allowed", 1, 14),
    ("docs.get(ids=(i for i in x))", "comprehensions are not allowed", 1, 14),
    ("docs.get(where={k: 1 for k in x})", "comprehensions are not allowed", 1, 16),
    ("docs.get(ids=f'{x}')", "f-strings are not allowed", 1, 14),
    ("docs.get(ids=[*x])", "starred arguments are not allowed", 1, 15),
    ("docs.get(where={**x})", "** in a dict is not allowed", 1, 19),
    ("docs.get(where={1: 2})", "dict keys must be strings", 1, 17),
    ("docs.get(where={'a': 1, 'a': 2})", "duplicate key 'a'", 1, 25),
    ("docs.get(ids={'a'})", "sets are not allowed", 1, 14),
    ("docs.get(ids=open('x'))", "calls are not allowed inside arguments", 1, 14),
    ("docs.get(limit=1+1)", "arithmetic is not allowed", 1, 16),
    ("docs.get(limit=-x)", "only - or + before a number", 1, 16),
    ("docs.get(limit=--1)", "only - or + before a number", 1, 16),
    ("docs.get(limit=not 1)", "only - or + before a number", 1, 16),
    ("docs.get(limit=1 if a else 2)", "conditional expressions", 1, 16),
    ("docs.get(limit=(y := 1))", "assignments are not allowed", 1, 17),
    ("docs.get(ids=b'a')", "bytes literals are not allowed", 1, 14),
    ("docs.get(limit=1j)", "complex numbers are not allowed", 1, 16),
    ("docs.get(limit=...)", "Ellipsis is not allowed", 1, 16),
    ("docs.add(ids=['a'], embeddings=[1e999])", "numbers must be finite", 1, 33),
    ("docs.get(include=['documents', 'secrets'])", "'secrets', which is not one of", 1, 18),
    ("docs.get(include='documents')", "include= must be a list", 1, 18),
    ("docs.get(limit=-1)", "limit= must be a whole number >= 0", 1, 16),
    ("docs.get(limit=True)", "limit= must be a whole number >= 0", 1, 16),
    ("docs.query(query_texts='q', n_results=0)", "n_results= must be a whole number >= 1",
     1, 39),
    ("docs.add(documents=['x'])", "add() needs ids=", 1, 1),
    ("docs.add(ids=[1])", "ids= must be a string or a list of strings", 1, 14),
    ("docs.add(ids=['a'], embeddings='x')", "embeddings= must be a list of numbers", 1, 32),
    ("docs.add(ids=['a'], metadatas=[1])", "metadatas= must be a dict", 1, 31),
    ("docs.query()", "query() needs query_texts= or query_embeddings=", 1, 1),
    ("docs.query(query_texts='a', query_embeddings=[1])", "not both", 1, 29),
    ("create_collection()", "create_collection() needs name=", 1, 1),
    ("create_collection(name=None)", "name= must be a string", 1, 24),
    ("create_collection('x', get_or_create=1)", "get_or_create= must be True or False",
     1, 38),
    ("create_collection('x', embedding_function=None)", "unknown argument", 1, 24),
    ("get_collection(1)", "name= must be a string", 1, 16),
    ("docs.get(", "syntax error: '(' was never closed", 1, 9),
    ("docs.get(ids=)", "syntax error", 1, 14),
    ("docs.get(ids='a)", "syntax error: unterminated string literal", 1, 14),
    ("docs.count()\n  docs.count()", "syntax error: unexpected indent", 2, 3),
    ("docs.get(limit=" + "1" * 5000 + ")", "syntax error: Exceeds the limit", 1, 1),
    ("docs.get(ids='\x00')", "syntax error", 1, 1),
])
def test_refusals(source: str, words: str, line: int, column: int):
    error = refused(source)
    assert words in str(error)
    assert (error.line, error.column) == (line, column), str(error)


def test_refusal_positions_after_unicode_and_crlf():
    source = 'docs.count()\r\ndocs.add(ids=["é😀€"], metadatas=x)'
    error = refused(source)
    assert (error.line, error.column) == (2, 33)
    assert error.position == source.index("x)")
    source = 'docs.get(\n  ids=["ü"],\n  where={"a": lambda: 1})'
    error = refused(source)
    assert (error.line, error.column) == (3, 15)
    assert error.position == source.index("lambda")


def test_first_problem_wins():
    error = refused("docs.count()\nimport os\ndocs.get(\n")
    assert "import" in str(error)
    assert error.line == 2


def test_nesting_limit():
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert one(f"docs.get(where={{'a': {deep}}})")
    error = refused(f"docs.get(where={{'a': [{deep}]}})")
    assert "nested more than" in str(error)
    assert (error.line, error.column) == (1, 16 + 6 + MAX_DEPTH - 1)
    too_deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    error = refused(f"docs.add(ids=['a'], metadatas={{'x': {too_deep}}})")
    assert "nested more than" in str(error)
    error = refused("docs.get(where=" + "[" * 500 + "]" * 500 + ")")
    assert "nested" in str(error) or "syntax error" in str(error)


def test_element_and_size_limits(monkeypatch: pytest.MonkeyPatch):
    from dbplay_desktop.engines.chroma.calls import parse
    monkeypatch.setattr(parse, "MAX_ELEMENTS", 100)
    error = refused("docs.add(ids=['a'], embeddings=[" + "1," * 50 + "], metadatas=[" +
                    "{}," * 60 + "])")
    assert "more than 100 elements" in str(error)
    error = refused("docs.add(ids=[" + "'a'," * 200 + "])")
    assert "more than 100 elements" in str(error)
    monkeypatch.setattr(parse, "MAX_STATEMENT", 50)
    error = refused("docs.count()\ndocs.get(ids=['" + "a" * 60 + "'])")
    assert "longer than" in str(error)
    assert (error.line, error.column) == (2, 1)


def test_split_gives_a_huge_text_whole(monkeypatch: pytest.MonkeyPatch):
    from dbplay_desktop.engines.chroma.calls import split
    monkeypatch.setattr(split, "MAX_SPLIT", 20)
    source = "\ndocs.count();docs.peek(1)  "
    assert texts(source) == ["docs.count();docs.peek(1)"]
    calls = parse_calls(source)
    assert [c.statement.text for c in calls] == ["docs.count()", "docs.peek(1)"]
    assert [(c.statement.start, c.statement.line, c.statement.column) for c in calls] == [
        (1, 2, 1), (14, 2, 14)]
    assert all(source[c.statement.start:c.statement.end] == c.statement.text for c in calls)


def test_backslash_continuation_is_no_indent():
    assert [c.method for c in parse_calls("docs.count(); \\\n  heartbeat()")] == [
        "count", "heartbeat"]


# --------------------------------------------------------------------------- allow, words


@pytest.mark.parametrize(("source", "changes"), [
    ("docs.get()", False), ("docs.query(query_texts='q')", False), ("docs.count()", False),
    ("docs.peek()", False), ("list_collections()", False), ("count_collections()", False),
    ("get_collection('x')", False), ("heartbeat()", False), ("get_version()", False),
    ("docs.add(ids='a')", True), ("docs.upsert(ids='a')", True), ("docs.update(ids='a')", True),
    ("docs.delete(ids='a')", True), ("docs.modify(name='b')", True),
    ("create_collection('x')", True), ("get_or_create_collection('x')", True),
    ("delete_collection('x')", True),
])
def test_changes_state(source: str, changes: bool):
    assert allow.changes_state(one(source)) is changes


def test_call_keywords():
    words = call_keywords()
    assert len(words) == len(set(words))
    for word in ("list_collections", "create_collection", "get_or_create_collection",
                 "query", "peek", "modify", "collection", "ids", "where_document",
                 "query_embeddings", "n_results", "get_or_create", "distances", "uris",
                 "$eq", "$not_contains", "$and", "$nin"):
        assert word in words
    assert call_keywords() is not call_keywords()


# --------------------------------------------------------------------------- fuzz

_PIECES = ['docs', '.', 'get', 'add', 'query', '(', ')', '[', ']', '{', '}', ',', ':', ';',
           '=', 'ids', 'where', '"a"', "'é'", '"""', "'''", '1', '-', '1e-3', '#', '\n',
           '\r\n', '\r', ' ', '\t', 'collection', 'lambda', '*', '**', 'f"', '\\', '@',
           'import', 'x', '😀', '\x00', 'None', 'True', '$eq', 'include', 'limit', 'if',
           '  ', '...', '.5', '0x', 'é']


def test_fuzz_split_never_raises_and_parse_raises_only_query_error():
    rng = random.Random(20240519)
    for _ in range(400):
        source = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 40)))
        statements = split_calls(source)
        previous_end = 0
        for statement in statements:
            assert source[statement.start:statement.end] == statement.text
            assert statement.text.strip() == statement.text and statement.text
            assert statement.start >= previous_end
            previous_end = statement.end
        try:
            calls = parse_calls(source)
        except QueryError as error:
            assert "\n" not in str(error)
            assert error.position is not None and 0 <= error.position <= len(source)
            assert error.line is not None and error.column is not None
        else:
            assert all(call.method for call in calls)


def test_fuzz_mutated_valid_calls():
    rng = random.Random(7)
    base = ('docs.add(ids=["a", "b"], documents=["x", "é"], metadatas=[{"k": 1}, {"k": -2.5}])'
            '\ncollection("my-docs").query(query_texts=["q"], n_results=2, '
            'where={"$and": [{"k": {"$gte": 1}}]}, include=["documents"])\n')
    for _ in range(300):
        chars = list(base)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.4:
                del chars[at]
            elif action < 0.8:
                chars.insert(at, rng.choice(_PIECES))
            else:
                chars[at] = rng.choice(_PIECES)
        source = "".join(chars)
        for statement in split_calls(source):
            assert source[statement.start:statement.end] == statement.text
        try:
            parse_calls(source)
        except QueryError:
            pass
