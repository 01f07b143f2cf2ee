"""How the catalog dock arranges an engine's objects: folders by kind, as DBeaver and pgAdmin do.

Engines return a plain tree of :class:`CatalogItem` nodes (a schema's children are its
tables, views, functions, ... side by side). People find their way faster when a schema
shows "Tables (12)", "Views (3)", "Functions (5)" and a table shows its columns plus an
"Indexes" folder, so this module turns the engine's tree into a display tree of items and
folders. It knows PostgreSQL's kinds by name to merge a few of them (a partitioned table
is a table, a materialized view a view) and to order the folders; any other kind -- a
MongoDB ``collection``, a future engine's ``trigger`` -- gets a folder named after the
kind, so nothing an engine returns is ever hidden. It is pure Python (no Qt), which keeps
the rules easy to test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dbplay_desktop.engines.base import CatalogItem

#: Kinds that hold other objects; their object children are put into folders.
CONTAINER_KINDS = frozenset({"database", "schema"})
#: Kinds that are the parts of an object (shown directly under it, not in a folder).
MEMBER_KINDS = frozenset({"column", "field"})

#: Folder label of the kinds dbplay knows, in the order the folders are shown.
_KNOWN_FOLDERS: dict[str, tuple[str, ...]] = {
    "Tables": ("table", "partitioned table"),
    "Foreign tables": ("foreign table",),
    "Views": ("view", "materialized view"),
    "Collections": ("collection",),
    "Functions": ("function", "procedure"),
    "Sequences": ("sequence",),
    "Types": ("type",),
    "Indexes": ("index",),
}
_FOLDER_OF_KIND = {kind: label for label, kinds in _KNOWN_FOLDERS.items() for kind in kinds}
_FOLDER_ORDER = {label: position for position, label in enumerate(_KNOWN_FOLDERS)}
#: Folders of a schema that start closed: often long, and rarely what the user looks for.
COLLAPSED_FOLDERS = frozenset({"Functions", "Sequences", "Types", "Indexes"})
#: Kinds that share a folder with a more common kind, and say so beside their name.
_KIND_LABELS = {
    "partitioned table": "partitioned",
    "materialized view": "materialized",
    "procedure": "procedure",
}


@dataclass
class DisplayNode:
    """A row of the catalog tree: an engine's item, or a folder grouping items by kind.

    ``key`` identifies the row among its siblings across refreshes (a folder's count
    changes when a table is created, its key does not), so open folders stay open.
    """

    label: str
    key: str
    item: CatalogItem | None = None
    detail: str = ""
    children: list[DisplayNode] = field(default_factory=list)

    @property
    def is_folder(self) -> bool:
        return self.item is None

    @property
    def folder_name(self) -> str:
        """The folder's name without its count ("Tables"); empty for items."""
        return self.key.removeprefix(FOLDER_KEY_PREFIX) if self.is_folder else ""


FOLDER_KEY_PREFIX = "\x00folder:"


def plural(kind: str) -> str:
    """A folder name for an unknown kind: simply pluralised and capitalised."""
    word = kind.strip() or "object"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        word += "es"
    elif word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        word = word[:-1] + "ies"
    else:
        word += "s"
    return word[:1].upper() + word[1:]


def folder_name(kind: str) -> str:
    """The folder an object of ``kind`` is shown in ("partitioned table" -> "Tables")."""
    return _FOLDER_OF_KIND.get(kind) or plural(kind)


def item_detail(item: CatalogItem) -> str:
    """The grey text beside an item: its type or definition, preceded by what sets its
    kind apart from the folder it sits in ("partitioned" among Tables)."""
    label = _KIND_LABELS.get(item.kind, "")
    return f"{label} {item.detail}".strip() if label else item.detail


def display_tree(items: Iterable[CatalogItem]) -> list[DisplayNode]:
    """The engine's top-level items (schemas, or collections) as rows with folders inside."""
    return [_item_node(item) for item in items]


def _item_node(item: CatalogItem) -> DisplayNode:
    node = DisplayNode(item.name, item.name, item, item_detail(item))
    direct: list[CatalogItem] = []
    grouped: dict[str, list[CatalogItem]] = {}
    for child in item.children:
        if item.kind in CONTAINER_KINDS:  # a schema in a database stays a schema
            stays = child.kind in CONTAINER_KINDS
        else:  # a table's columns stay; its indexes go into a folder
            stays = child.kind in MEMBER_KINDS or child.kind in CONTAINER_KINDS
        if stays:
            direct.append(child)
        else:
            grouped.setdefault(folder_name(child.kind), []).append(child)
    node.children = [_item_node(child) for child in direct]
    first_seen = list(grouped)
    for name in sorted(grouped, key=lambda n: (_FOLDER_ORDER.get(n, len(_FOLDER_ORDER)),
                                               first_seen.index(n))):
        members = grouped[name]
        folder = DisplayNode(f"{name} ({len(members)})", FOLDER_KEY_PREFIX + name)
        folder.children = [_item_node(member) for member in members]
        node.children.append(folder)
    return node


def opens_by_default(node: DisplayNode, parent: DisplayNode | None) -> bool:
    """Whether a row starts open: schemas and their main folders (Tables, Views, ...),
    so the user sees the tables right away, but not each table's columns."""
    if node.item is not None:
        return node.item.kind in CONTAINER_KINDS
    return (
        parent is not None and parent.item is not None
        and parent.item.kind in CONTAINER_KINDS
        and node.folder_name not in COLLAPSED_FOLDERS
    )
