"""Static safety scan of an untrusted PostgreSQL template payload (plain-SQL script).

A template comes from someone else. Restoring it must only ever build objects inside
the fresh sandbox database, so before anything reaches the server every statement is
parsed with PostgreSQL's own grammar (pglast) and refused when it could reach outside:
server files and programs, roles and ownership, server configuration, other databases
and servers, untrusted procedural languages and C code, psql meta-commands.

The scan is a first line of defence, not the only one: the restore also runs as an
unprivileged account. Dynamic SQL built at run time (``EXECUTE 'sel' || 'ect ...'``) and
code in the trusted Perl/Tcl/JavaScript languages cannot be checked statically; the
account's missing privileges are what stop those.

Everything ``pg_dump --no-owner --no-privileges`` writes for an ordinary database passes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Any

from dbplay_desktop.engines.base import Finding, ProgressCallback, RestoreError
from dbplay_desktop.engines.postgres.json_tree import loads
from dbplay_desktop.engines.postgres.parse_tree import (
    const,
    name_list,
    plpgsql_expr_sql,
    quote_literal,
    strings,
)
from dbplay_desktop.engines.postgres.safety_plpgsql import (
    declared_defaults,
    qualify_declared_types,
    replace_body,
)
from dbplay_desktop.engines.postgres.safety_rules import (
    ALLOWED_LANGUAGES,
    REFUSED_STATEMENTS,
    RESTORE_META_COMMANDS,
    SET_CONFIG_ALLOWED,
    denied_function,
    is_skipped_meta,
)
from dbplay_desktop.engines.postgres.safety_statements import StatementRules
from dbplay_desktop.engines.postgres.script import sql_tokens
from dbplay_desktop.engines.postgres.script_reader import (
    MAX_STATEMENT_CHARS,
    TemplateScriptError,
    read_script,
)

#: How deep code may hold code (a function body creating a function, a DO block running
#: ``EXECUTE 'DO ...'``): every level is parsed again, so the depth bounds the work.
MAX_CODE_NESTING = 16


class ScanCancelled(RestoreError):
    """The progress callback asked the scan to stop."""

    title = "Scan cancelled"


class _Progress:
    """A stream wrapper that reports the bytes read and stops the scan when asked."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback, total: int | None) -> None:
        self._raw, self._progress, self._total = raw, progress, total
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        self.report()
        return data

    def report(self) -> None:
        if self._progress(self.count, self._total):
            raise ScanCancelled("scan cancelled")


# --------------------------------------------------------------------------- entry points


def scan_script(
    stream: IO[bytes],
    path: str,
    progress: ProgressCallback | None = None,
    total: int | None = None,
) -> list[Finding]:
    """Every refused statement or meta-command of a plain-SQL payload, with its line.

    Streams the file (any size). A file that cannot be read as a script (invalid
    UTF-8, cut off in a statement or COPY block, a statement over
    :data:`MAX_STATEMENT_CHARS`) ends the scan with one last finding. ``progress``
    hears ``(bytes read, total)`` as the scan goes; returning True stops it with
    :class:`ScanCancelled`.
    """
    findings: list[Finding] = []
    counter = _Progress(stream, progress, total) if progress is not None else None
    try:
        for item in read_script(counter or stream, path):  # type: ignore[arg-type]
            if counter is not None:
                counter.report()
            if item.kind == "meta":
                command = item.text.split()[0]
                if command in RESTORE_META_COMMANDS and not is_skipped_meta(item.text):
                    message = f"psql meta-command {command} with more than its key is not allowed"
                    findings.append(Finding(path, item.line, message, item.text))
                elif command not in RESTORE_META_COMMANDS:
                    message = f"psql meta-command {command} is not allowed"
                    findings.append(Finding(path, item.line, message, item.text))
                continue
            for message in scan_statement(item.text):
                findings.append(Finding(path, item.line, message, _snippet(item.text)))
            if item.data is not None and counter is not None:
                for _chunk in item.data:  # COPY data: read through (not scanned)
                    counter.report()
    except TemplateScriptError as exc:
        findings.append(Finding(path, exc.line or 0, exc.reason))
    return findings


def scan_statement(sql: str) -> list[str]:
    """Why ``sql`` (one statement, or several) is refused; an empty list if it is fine.

    Code inside code (function bodies, DO blocks, ``EXECUTE 'constant'``) is scanned
    too, level by level, at most :data:`MAX_CODE_NESTING` levels deep. Statements
    longer than :data:`MAX_STATEMENT_CHARS` are refused unparsed: their parse trees
    could take hundreds of times their size in memory.
    """
    if len(sql) > MAX_STATEMENT_CHARS:
        return [
            f"statement is longer than {MAX_STATEMENT_CHARS} characters "
            "(the most one template statement may hold)"
        ]
    checker = _Checker(sql)
    pending: deque[tuple[str, str, int, bool]] = deque([(sql, "", 0, True)])
    while pending:
        text, where, depth, report_invalid = pending.popleft()
        checker.scan(text, where, depth, report_invalid, pending)
    return list(dict.fromkeys(checker.messages))


# --------------------------------------------------------------------------- helpers


def _snippet(sql: str) -> str:
    return sql if len(sql) <= 200 else sql[:200]


def _parse_failure(sql: str, exc: Exception) -> str:
    """A finding for text the grammar rejects; psql backslash commands get named."""
    from pglast.parser import ParseError

    reason = str(exc.args[0]) if exc.args else str(exc)
    if "stack depth limit exceeded" in reason or "memory exhausted" in reason:
        return f"statement is nested too deeply for the parser ({reason})"
    try:
        if any(tok.name == "ASCII_92" for tok in sql_tokens(sql)):
            return "psql meta-command inside a statement (psql would run it)"
    except ParseError:
        pass
    reason = str(exc.args[0]) if exc.args else str(exc)
    return f"not valid SQL: {reason}"


def _statement_text(sql: str, raw: bytes, entry: dict[str, Any]) -> tuple[str, int]:
    """The source text of one parsed statement and its byte offset (libpg_query
    reports byte offsets)."""
    start = int(entry.get("stmt_location", 0))
    length = int(entry.get("stmt_len", 0))
    if start == 0 and length == 0:
        return sql, 0
    return raw[start : start + length if length else len(raw)].decode("utf-8", "replace"), start


# --------------------------------------------------------------------------- the checker


class _Checker(StatementRules):
    """Walks parse trees (pglast's JSON form) and collects refusal messages."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.raw = b""
        self.base = 0  # byte offset of the statement being checked in ``raw``
        self.messages: list[str] = []
        self._where = ""
        self._depth = 0
        self._pending: deque[tuple[str, str, int, bool]] = deque()

    def scan(
        self,
        sql: str,
        where: str,
        depth: int,
        report_invalid: bool,
        pending: deque[tuple[str, str, int, bool]],
    ) -> None:
        """Parse and check ``sql``; code found inside it is queued on ``pending``."""
        from pglast.parser import ParseError, parse_sql_json

        if "\x00" in sql:
            # The parser (C) would stop reading at the NUL and never see what follows.
            self.messages.append(
                f"{where}NUL byte in SQL text (PostgreSQL text cannot contain one)"
            )
            return
        try:
            tree = loads(parse_sql_json(sql))
        except ParseError as exc:
            message = _parse_failure(sql, exc)
            if report_invalid or not message.startswith("not valid SQL"):
                self.messages.append(where + message)
            return
        self.sql, self.raw = sql, sql.encode("utf-8")
        self._where, self._depth, self._pending = where, depth, pending
        before = len(self.messages)
        for entry in tree.get("stmts", []):
            text, self.base = _statement_text(sql, self.raw, entry)
            self.check(entry.get("stmt", {}), text)
        for index in range(before, len(self.messages)):
            if not self.messages[index].startswith(where):
                self.messages[index] = where + self.messages[index]

    def check(self, tree: dict[str, Any], text: str) -> None:
        """Check one statement tree; ``text`` is its source (for PL/pgSQL bodies).

        Nodes below the statement's own (a function in a ``BEGIN ATOMIC`` body) get no
        source text: it would be the outer statement's.
        """
        root = next(iter(tree.values()), None)
        for kind, node in self._nodes(tree):
            refused = REFUSED_STATEMENTS.get(kind)
            if refused is not None:
                self.messages.append(refused)
                continue
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self, node, text if node is root else "")

    @staticmethod
    def _nodes(tree: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every ``(node type, fields)`` in the tree, iteratively (trees can be deep)."""
        stack = [tree]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                for key, child in value.items():
                    if key[:1].isupper() and isinstance(child, dict):
                        yield key, child
                    if isinstance(child, dict | list):
                        stack.append(child)
            elif isinstance(value, list):
                stack.extend(reversed(value))

    def nested(self, sql: str, where: str, *, report_invalid: bool = True) -> None:
        """Queue SQL found inside another statement (a function body, a DO block)."""
        if self._depth >= MAX_CODE_NESTING:
            self.messages.append(
                f"{where}: code nested more than {MAX_CODE_NESTING} levels deep "
                "(functions, DO blocks, EXECUTE) cannot be checked"
            )
            return
        prefix = f"{self._where}{where}: "
        self._pending.append((sql, prefix, self._depth + 1, report_invalid))

    # -- code ----------------------------------------------------------------
    def function(self, node: dict[str, Any], text: str) -> None:
        language = "sql"
        body: list[str] = []
        as_location = -1
        for option in node.get("options") or ():
            elem = option.get("DefElem", {})
            arg = elem.get("arg", {})
            if elem.get("defname") == "language":
                language = arg.get("String", {}).get("sval", "").lower()
            elif elem.get("defname") == "as":
                body = name_list(arg.get("List", {}).get("items")) or name_list([arg])
                as_location = int(elem.get("location", -1))
            elif elem.get("defname") == "support":
                self.refused_names(strings(arg))
        kind = "procedure" if node.get("is_procedure") else "function"
        name = ".".join(name_list(node.get("funcname")))
        if language not in ALLOWED_LANGUAGES:
            self.messages.append(f"{kind} {name} uses language {language}, which is not allowed")
            return
        if len(body) > 1:
            self.messages.append(f"{kind} {name} loads code from a server library (AS 'file')")
            return
        where = f"in {kind} {name}"
        if language == "sql" and body:
            self.nested(body[0], where)
        elif language == "plpgsql" and body:
            if not text:
                # Only a BEGIN ATOMIC body can hold one, and PostgreSQL refuses it there.
                self.messages.append(f"{kind} {name} is created inside another statement")
                return
            as_offset = len(self.raw[self.base : as_location].decode("utf-8", "replace"))
            self.plpgsql(text, body[0], where, as_offset if as_location >= 0 else -1)

    def do_block(self, node: dict[str, Any], _text: str) -> None:
        language, body = "plpgsql", ""
        for option in node.get("args") or ():
            elem = option.get("DefElem", {})
            value = elem.get("arg", {}).get("String", {}).get("sval", "")
            if elem.get("defname") == "language":
                language = value.lower()
            elif elem.get("defname") == "as":
                body = value
        if language not in ALLOWED_LANGUAGES:
            self.messages.append(f"DO block uses language {language}, which is not allowed")
        elif language == "plpgsql":
            wrapper = (
                "CREATE FUNCTION pg_temp.dbplay_do_block() RETURNS void LANGUAGE plpgsql AS "
                + quote_literal(body)
            )
            self.plpgsql(wrapper, body, "in DO block", wrapper.index(" AS ") + 1)

    def plpgsql(self, create_function: str, body: str, where: str, as_offset: int) -> None:
        """Scan the SQL embedded in a PL/pgSQL body (expressions and statements).

        The body is parsed by PostgreSQL's PL/pgSQL parser or refused; when only the
        schema of a declared type is in its way, the body is parsed with that schema
        replaced (see :mod:`pg_safety_plpgsql`).
        """
        from pglast.parser import ParseError, parse_plpgsql_json

        try:
            tree = loads(parse_plpgsql_json(create_function))
        except ParseError as exc:
            reason = str(exc.args[0]) if exc.args else str(exc)
            tree = None
            if reason.startswith("Not implemented") and as_offset >= 0:
                try:
                    rewritten = qualify_declared_types(body)
                    statement = replace_body(create_function, as_offset, rewritten)
                    if statement is not None:
                        tree = loads(parse_plpgsql_json(statement))
                except ParseError as again:
                    reason = str(again.args[0]) if again.args else str(again)
            if tree is None:
                self.messages.append(f"{where}: PL/pgSQL body cannot be checked: {reason}")
                return
        for default in declared_defaults(body):
            self.nested("SELECT " + default, where)
        for kind, node in self._nodes(tree):
            if kind == "PLpgSQL_expr":
                query = node.get("query", "")
                self.nested(plpgsql_expr_sql(query, node.get("parseMode", 0)), where)
            elif kind in _DYNAMIC_SQL:
                expr = node.get(_DYNAMIC_SQL[kind], {}).get("PLpgSQL_expr", {})
                self.dynamic(expr.get("query", ""), where)

    def dynamic(self, expression: str, where: str) -> None:
        """``EXECUTE 'constant SQL'``: scan the constant like any statement."""
        from pglast.parser import ParseError, parse_sql_json

        try:
            tree = loads(parse_sql_json("SELECT " + expression))
            target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
        except (ParseError, KeyError, IndexError):
            return
        if len(target) == 1:
            value = const(target[0].get("ResTarget", {}).get("val"))
            if isinstance(value, str):
                self.nested(value, where, report_invalid=False)

    # -- calls and references -----------------------------------------------------
    def call(self, node: dict[str, Any], _text: str) -> None:
        names = name_list(node.get("funcname"))
        if not names:
            return
        name = names[-1].lower()
        reason = denied_function(name)
        if reason:
            self.messages.append(f"function {name}() {reason}")
        elif name == "set_config":
            args = node.get("args") or []
            setting = const(args[0]) if args else None
            if not isinstance(setting, str):
                self.messages.append("set_config() with a computed setting name is not allowed")
            elif setting.lower() not in SET_CONFIG_ALLOWED:
                self.messages.append(f"set_config('{setting}') is not allowed")

    def refused_names(self, names: Iterator[str]) -> None:
        """Refuse every name among ``names`` that is a denied function's."""
        for value in names:
            name = value.rsplit(".", 1)[-1]
            if reason := denied_function(name):
                self.messages.append(f"function {name.lower()}() {reason}")

    def attribute_call(self, node: dict[str, Any], _text: str) -> None:
        """``x.f`` and ``(x).f`` call ``f(x)`` when ``f`` is not a column of ``x``."""
        fields = node.get("fields") or node.get("indirection") or []
        start = 1 if "fields" in node else 0
        for item in fields[start:]:
            value = item.get("String", {}).get("sval") if isinstance(item, dict) else None
            if value and (reason := denied_function(value)):
                self.messages.append(f"function {value.lower()}() {reason} (attribute notation)")

    def support_functions(self, node: dict[str, Any], _text: str) -> None:
        """Names given in a definition list: CREATE TYPE (INPUT, SUBTYPE_DIFF, ...),
        OPERATOR (RESTRICT, JOIN, FUNCTION), AGGREGATE (SFUNC, FINALFUNC, ...), TEXT
        SEARCH PARSER/TEMPLATE, their ALTERs, CREATE CONVERSION ... FROM."""
        for key in ("definition", "params", "options"):
            for option in node.get(key) or ():
                self.refused_names(strings(option.get("DefElem", {}).get("arg")))
        self.refused_names(strings(node.get("func_name")))

    def function_reference(self, node: dict[str, Any], _text: str) -> None:
        names = name_list(node.get("objname") or node.get("funcname"))
        if names and (reason := denied_function(names[-1])):
            self.messages.append(f"function {names[-1].lower()}() {reason}")

    def transform(self, node: dict[str, Any], text: str) -> None:
        """CREATE TRANSFORM names its FROM SQL and TO SQL functions."""
        for key in ("fromsql", "tosql"):
            self.function_reference(node.get(key) or {}, text)

    def cast(self, node: dict[str, Any], text: str) -> None:
        """CREATE CAST ... WITH FUNCTION and operator-class support functions."""
        self.function_reference(node.get("func") or node.get("name") or {}, text)



_DYNAMIC_SQL = {
    "PLpgSQL_stmt_dynexecute": "query",
    "PLpgSQL_stmt_dynfors": "query",
    "PLpgSQL_stmt_open": "dynquery",
    "PLpgSQL_stmt_return_query": "dynquery",
}

_HANDLERS: dict[str, Callable[[_Checker, dict[str, Any], str], None]] = {
    "CopyStmt": _Checker.copy,
    "RenameStmt": _Checker.rename,
    "VariableSetStmt": _Checker.variable_set,
    "AlterTableStmt": _Checker.alter_table,
    "CommentStmt": _Checker.shared_object,
    "SecLabelStmt": _Checker.shared_object,
    "GrantStmt": _Checker.shared_object,
    "CreateSchemaStmt": _Checker.create_schema,
    "VacuumStmt": _Checker.vacuum,
    "IndexStmt": _Checker.index,
    "DropStmt": _Checker.drop,
    "ReindexStmt": _Checker.reindex,
    "TransactionStmt": _Checker.transaction,
    "CreateExtensionStmt": _Checker.extension,
    "CreateFunctionStmt": _Checker.function,
    "DoStmt": _Checker.do_block,
    "FuncCall": _Checker.call,
    "ObjectWithArgs": _Checker.function_reference,
    "CreateTrigStmt": _Checker.function_reference,
    "DefineStmt": _Checker.support_functions,
    "CreateRangeStmt": _Checker.support_functions,
    "AlterOperatorStmt": _Checker.support_functions,
    "AlterTypeStmt": _Checker.support_functions,
    "CreateConversionStmt": _Checker.support_functions,
    "ColumnRef": _Checker.attribute_call,
    "A_Indirection": _Checker.attribute_call,
    "CreateCastStmt": _Checker.cast,
    "CreateTransformStmt": _Checker.transform,
    "CreateOpClassItem": _Checker.cast,
}
