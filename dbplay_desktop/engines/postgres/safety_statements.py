"""The safety scan's rules for single statements that reach outside the database.

:class:`StatementRules` is mixed into the scan's checker (:mod:`pg_safety`): each method
takes one parse-tree node of its kind and adds a refusal message when the statement would
reach outside the sandbox or break the restore's single transaction. The lists they apply
live in :mod:`pg_safety_rules`.
"""

from __future__ import annotations

from typing import Any

from dbplay_desktop.engines.postgres.parse_tree import const
from dbplay_desktop.engines.postgres.safety_rules import (
    IN_TRANSACTION,
    OWNERS,
    RENAME_REFUSED,
    SET_REFUSED,
    SHARED_OBJECTS_REFUSED,
    TRUSTED_EXTENSIONS,
)


class StatementRules:
    """Handlers for statement kinds that are refused in some of their forms."""

    messages: list[str]

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
        values = [str(const(arg)).lower() for arg in node.get("args") or ()]
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
