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

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

from dbplay_desktop.engines.base import Finding
from dbplay_desktop.engines.pg_safety_rules import (
    ALLOWED_LANGUAGES,
    IN_TRANSACTION,
    OWNERS,
    REFUSED_STATEMENTS,
    RENAME_REFUSED,
    RESTORE_META_COMMANDS,
    SET_CONFIG_ALLOWED,
    SET_REFUSED,
    SHARED_OBJECTS_REFUSED,
    TRUSTED_EXTENSIONS,
    denied_function,
    is_skipped_meta,
)
from dbplay_desktop.engines.pg_script import sql_tokens
from dbplay_desktop.engines.pg_script_reader import TemplateScriptError, read_script

# --------------------------------------------------------------------------- entry points


def scan_script(stream: IO[bytes], path: str) -> list[Finding]:
    """Every refused statement or meta-command of a plain-SQL payload, with its line.

    Streams the file (any size). A file that cannot be read as a script (invalid
    UTF-8, cut off in a statement or COPY block) ends the scan with one last finding.
    """
    findings: list[Finding] = []
    try:
        for item in read_script(stream, path):
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
    except TemplateScriptError as exc:
        findings.append(Finding(path, exc.line or 0, exc.reason))
    return findings


def scan_statement(sql: str) -> list[str]:
    """Why ``sql`` (one statement, or several) is refused; an empty list if it is fine."""
    from pglast.parser import ParseError, parse_sql_json

    if "\x00" in sql:
        # The parser (C) would stop reading at the NUL and never see what follows.
        return ["NUL byte in SQL text (PostgreSQL text cannot contain one)"]
    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError as exc:
        return [_parse_failure(sql, exc)]
    checker = _Checker(sql)
    for entry in tree.get("stmts", []):
        checker.check(entry.get("stmt", {}), _statement_text(sql, entry))
    return list(dict.fromkeys(checker.messages))


# --------------------------------------------------------------------------- helpers


def _snippet(sql: str) -> str:
    return sql if len(sql) <= 200 else sql[:200]


def _parse_failure(sql: str, exc: Exception) -> str:
    """A finding for text the grammar rejects; psql backslash commands get named."""
    from pglast.parser import ParseError

    try:
        if any(tok.name == "ASCII_92" for tok in sql_tokens(sql)):
            return "psql meta-command inside a statement (psql would run it)"
    except ParseError:
        pass
    reason = str(exc.args[0]) if exc.args else str(exc)
    return f"not valid SQL: {reason}"


def _statement_text(sql: str, entry: dict[str, Any]) -> str:
    """The source text of one parsed statement (libpg_query reports byte offsets)."""
    start = entry.get("stmt_location", 0)
    length = entry.get("stmt_len", 0)
    if start == 0 and length == 0:
        return sql
    raw = sql.encode("utf-8")
    return raw[start : start + length if length else len(raw)].decode("utf-8", "replace")


def _names(items: list[Any] | None) -> list[str]:
    """The strings of a name list (``[{"String": {"sval": ...}}, ...]``)."""
    names = []
    for item in items or ():
        value = item.get("String", {}).get("sval") if isinstance(item, dict) else None
        if value is not None:
            names.append(value)
    return names


def _const(node: Any) -> Any:
    """The value of an ``A_Const`` (string, number or bool), else ``None``."""
    if not isinstance(node, dict):
        return None
    const = node.get("A_Const")
    if const is None:
        if "TypeCast" in node:  # 'search_path'::text
            return _const(node["TypeCast"].get("arg"))
        return None
    for key, default in (("sval", ""), ("ival", 0), ("fval", "0"), ("boolval", False)):
        if key in const:
            inner = const[key]
            return inner.get(key, default) if isinstance(inner, dict) else inner
    return None


def _plpgsql_expr_sql(query: str, mode: int) -> str:
    """A PL/pgSQL expression as a statement the SQL grammar accepts.

    Mode 0 is a whole statement; 2 an expression; 3-5 an assignment ``target := expr``,
    whose target is dropped (it names a local variable).
    """
    if mode == 0:
        return query
    if mode >= 3:
        depth = 0
        for tok in sql_tokens(query):
            if tok.name in ("ASCII_91", "ASCII_40"):
                depth += 1
            elif tok.name in ("ASCII_93", "ASCII_41"):
                depth -= 1
            elif depth == 0 and tok.name in ("COLON_EQUALS", "ASCII_61"):
                query = query[tok.end + 1 :]
                break
    return "SELECT " + query


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------------- the checker


class _Checker:
    """Walks parse trees (pglast's JSON form) and collects refusal messages."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.messages: list[str] = []

    def check(self, tree: dict[str, Any], text: str) -> None:
        """Check one statement tree; ``text`` is its source (for PL/pgSQL bodies)."""
        for kind, node in self._nodes(tree):
            refused = REFUSED_STATEMENTS.get(kind)
            if refused is not None:
                self.messages.append(refused)
                continue
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self, node, text)

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
        """Scan SQL found inside another statement (a function body, a DO block)."""
        for message in scan_statement(sql):
            if report_invalid or not message.startswith("not valid SQL"):
                self.messages.append(f"{where}: {message}")

    # -- statements ----------------------------------------------------------
    def copy(self, node: dict[str, Any], _text: str) -> None:
        if node.get("is_program"):
            self.messages.append("COPY ... PROGRAM runs a program on the server")
        elif node.get("filename"):
            self.messages.append("COPY to or from a server file is not allowed")
        elif not node.get("is_from"):
            self.messages.append("COPY ... TO STDOUT is not allowed (only COPY ... FROM STDIN)")

    def rename(self, node: dict[str, Any], _text: str) -> None:
        refused = RENAME_REFUSED.get(node.get("renameType", ""))
        if refused:
            self.messages.append(refused)

    def variable_set(self, node: dict[str, Any], _text: str) -> None:
        name = (node.get("name") or "").lower()
        refused = SET_REFUSED.get(name)
        if refused:
            self.messages.append(refused)
            return
        values = [str(_const(arg)).lower() for arg in node.get("args") or ()]
        if name == "standard_conforming_strings" and values and values[0] not in ("on", "true"):
            self.messages.append("standard_conforming_strings must stay on")
        if name == "client_encoding" and values and values[0].replace("-", "") != "utf8":
            self.messages.append("template scripts must be in UTF8 (client_encoding)")

    def alter_table(self, node: dict[str, Any], _text: str) -> None:
        for item in node.get("cmds") or ():
            cmd = item.get("AlterTableCmd", {})
            subtype = cmd.get("subtype")
            if subtype == "AT_ChangeOwner":
                self.messages.append(f"ALTER ... OWNER TO: {OWNERS}")
            elif subtype == "AT_DetachPartition" and (
                cmd.get("def", {}).get("PartitionCmd", {}).get("concurrent")
            ):
                self.messages.append(f"DETACH PARTITION CONCURRENTLY {IN_TRANSACTION}")

    def shared_object(self, node: dict[str, Any], _text: str) -> None:
        """COMMENT ON, SECURITY LABEL ON and GRANT ON databases, roles, tablespaces..."""
        refused = SHARED_OBJECTS_REFUSED.get(node.get("objtype", ""))
        if refused:
            self.messages.append(refused)

    def create_schema(self, node: dict[str, Any], _text: str) -> None:
        if node.get("authrole"):
            self.messages.append(f"CREATE SCHEMA ... AUTHORIZATION: {OWNERS}")

    def vacuum(self, node: dict[str, Any], _text: str) -> None:
        if node.get("is_vacuumcmd"):
            self.messages.append(f"VACUUM {IN_TRANSACTION} (ANALYZE is fine)")

    def index(self, node: dict[str, Any], _text: str) -> None:
        if node.get("concurrent"):
            self.messages.append(f"CREATE INDEX CONCURRENTLY {IN_TRANSACTION}")

    def drop(self, node: dict[str, Any], _text: str) -> None:
        if node.get("concurrent"):
            self.messages.append(f"DROP INDEX CONCURRENTLY {IN_TRANSACTION}")

    def reindex(self, node: dict[str, Any], _text: str) -> None:
        params = [p.get("DefElem", {}).get("defname") for p in node.get("params") or ()]
        if "concurrently" in params:
            self.messages.append(f"REINDEX CONCURRENTLY {IN_TRANSACTION}")
        elif node.get("kind") in ("REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_DATABASE"):
            self.messages.append(f"REINDEX SYSTEM/DATABASE {IN_TRANSACTION}")

    def transaction(self, node: dict[str, Any], _text: str) -> None:
        # A restore is one transaction: BEGIN/COMMIT (pg_dump writes them around large
        # objects) are skipped by the restorer; anything else would break that promise.
        if node.get("kind") not in ("TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT"):
            self.messages.append(
                "transaction control other than BEGIN/COMMIT is not allowed "
                "(a template is restored as one transaction)"
            )

    def extension(self, node: dict[str, Any], _text: str) -> None:
        name = node.get("extname", "")
        if name not in TRUSTED_EXTENSIONS:
            self.messages.append(f'extension "{name}" is not allowed (not a trusted extension)')

    # -- code ----------------------------------------------------------------
    def function(self, node: dict[str, Any], text: str) -> None:
        language = "sql"
        body: list[str] = []
        for option in node.get("options") or ():
            elem = option.get("DefElem", {})
            arg = elem.get("arg", {})
            if elem.get("defname") == "language":
                language = arg.get("String", {}).get("sval", "").lower()
            elif elem.get("defname") == "as":
                body = _names(arg.get("List", {}).get("items")) or _names([arg])
        kind = "procedure" if node.get("is_procedure") else "function"
        name = ".".join(_names(node.get("funcname")))
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
            self.plpgsql(text, body[0], where)

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
                + _quote_literal(body)
            )
            self.plpgsql(wrapper, body, "in DO block")

    def plpgsql(self, create_function: str, body: str, where: str) -> None:
        """Scan the SQL embedded in a PL/pgSQL body (expressions and statements)."""
        from pglast.parser import ParseError, parse_plpgsql_json

        try:
            tree = json.loads(parse_plpgsql_json(create_function))
        except ParseError as exc:
            reason = str(exc.args[0]) if exc.args else str(exc)
            if reason.startswith("Not implemented"):
                # libpg_query cannot resolve types in schemas other than public and
                # pg_catalog; the body is valid, so check its function calls token-wise.
                self.plpgsql_calls(body, where)
            else:
                self.messages.append(f"{where}: PL/pgSQL body cannot be checked: {reason}")
            return
        for kind, node in self._nodes(tree):
            if kind == "PLpgSQL_expr":
                query = node.get("query", "")
                self.nested(_plpgsql_expr_sql(query, node.get("parseMode", 0)), where)
            elif kind in _DYNAMIC_SQL:
                expr = node.get(_DYNAMIC_SQL[kind], {}).get("PLpgSQL_expr", {})
                self.dynamic(expr.get("query", ""), where)

    def plpgsql_calls(self, body: str, where: str) -> None:
        """The fallback check of a PL/pgSQL body: every ``name(`` call in it."""
        from pglast.parser import ParseError

        try:
            tokens = sql_tokens(body)
        except ParseError as exc:
            reason = str(exc.args[0]) if exc.args else str(exc)
            self.messages.append(f"{where}: PL/pgSQL body cannot be checked: {reason}")
            return
        for index in range(1, len(tokens)):
            if tokens[index].name != "ASCII_40" or tokens[index - 1].name != "IDENT":
                continue
            word = tokens[index - 1]
            name = body[word.start : word.end + 1].strip('"').lower()
            if reason := denied_function(name):
                self.messages.append(f"{where}: function {name}() {reason}")
            elif name == "set_config":
                arg = tokens[index + 1] if index + 1 < len(tokens) else None
                setting = body[arg.start + 1 : arg.end] if arg and arg.name == "SCONST" else ""
                if setting.lower() not in SET_CONFIG_ALLOWED:
                    self.messages.append(f"{where}: set_config('{setting}') is not allowed")

    def dynamic(self, expression: str, where: str) -> None:
        """``EXECUTE 'constant SQL'``: scan the constant like any statement."""
        from pglast.parser import ParseError, parse_sql_json

        try:
            tree = json.loads(parse_sql_json("SELECT " + expression))
            target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
        except (ParseError, KeyError, IndexError):
            return
        if len(target) == 1:
            value = _const(target[0].get("ResTarget", {}).get("val"))
            if isinstance(value, str):
                self.nested(value, where, report_invalid=False)

    # -- calls and references -----------------------------------------------------
    def call(self, node: dict[str, Any], _text: str) -> None:
        names = _names(node.get("funcname"))
        if not names:
            return
        name = names[-1].lower()
        reason = denied_function(name)
        if reason:
            self.messages.append(f"function {name}() {reason}")
        elif name == "set_config":
            args = node.get("args") or []
            setting = _const(args[0]) if args else None
            if not isinstance(setting, str):
                self.messages.append("set_config() with a computed setting name is not allowed")
            elif setting.lower() not in SET_CONFIG_ALLOWED:
                self.messages.append(f"set_config('{setting}') is not allowed")

    def function_reference(self, node: dict[str, Any], _text: str) -> None:
        names = _names(node.get("objname") or node.get("funcname"))
        if names and (reason := denied_function(names[-1])):
            self.messages.append(f"function {names[-1].lower()}() {reason}")

    def cast(self, node: dict[str, Any], text: str) -> None:
        """CREATE CAST ... WITH FUNCTION and operator-class support functions."""
        self.function_reference(node.get("func") or node.get("name") or {}, text)

    def define(self, node: dict[str, Any], _text: str) -> None:
        """CREATE OPERATOR/AGGREGATE name their support functions in the definition."""
        for option in node.get("definition") or ():
            arg = option.get("DefElem", {}).get("arg", {})
            names = _names(arg.get("TypeName", {}).get("names")) or _names([arg])
            if names and (reason := denied_function(names[-1])):
                self.messages.append(f"function {names[-1].lower()}() {reason}")


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
    "DefineStmt": _Checker.define,
    "CreateCastStmt": _Checker.cast,
    "CreateOpClassItem": _Checker.cast,
}
