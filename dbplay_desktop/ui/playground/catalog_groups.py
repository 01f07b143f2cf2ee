"""How the catalog dock arranges an engine's objects: folders by kind, as DBeaver and pgAdmin do.

Engines return a plain tree of :class:`CatalogItem` nodes (a schema's children are its
tables, views, functions, ... side by side). People find their way faster when a schema
shows "Tables (12)", "Views (3)", "Functions (5)" and a table shows its columns plus an
"Indexes" folder, so this module turns the engine's tree into a display tree of items and
folders. The folders, their order, the icons, the labels of kinds that share a folder
(a partitioned table among the tables) and the folders that start closed come from the
engine's descriptor (``EngineDescriptor.catalog_kinds``); a kind the engine does not
list gets a folder named after the kind, so nothing an engine returns is ever hidden.
It is pure Python (no Qt), which keeps the rules easy to test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dbplay_desktop.engines.base import CatalogItem
from dbplay_desktop.engines.descriptor import CatalogKind

#: Kinds that hold other objects; their object children are put into folders.
CONTAINER_KINDS = frozenset({"database", "schema"})
#: Kinds that are the parts of an object (shown directly under it, not in a folder).
MEMBER_KINDS = frozenset({"column", "field"})

Kinds = Sequence[CatalogKind]


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
    #: A folder that starts closed (one of its kinds says ``collapsed``).
    collapsed: bool = False

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


def _kind(kind: str, kinds: Kinds) -> CatalogKind | None:
    return next((k for k in kinds if k.kind == kind), None)


def folder_name(kind: str, kinds: Kinds = ()) -> str:
    """The folder an object of ``kind`` is shown in: the one the engine names for it
    ("partitioned table" -> "Tables"), else the kind pluralised."""
    known = _kind(kind, kinds)
    return known.folder if known is not None and known.folder else plural(kind)


def kind_icon(kind: str, kinds: Kinds = ()) -> str:
    """The icon the engine names for ``kind`` ("" for none)."""
    known = _kind(kind, kinds)
    return known.icon if known is not None else ""


def item_detail(item: CatalogItem, kinds: Kinds = ()) -> str:
    """The grey text beside an item: its type or definition, preceded by what sets its
    kind apart from the folder it sits in ("partitioned" among Tables)."""
    known = _kind(item.kind, kinds)
    label = known.label if known is not None else ""
    return f"{label} {item.detail}".strip() if label else item.detail


def display_tree(items: Iterable[CatalogItem], kinds: Kinds = ()) -> list[DisplayNode]:
    """The engine's top-level items (schemas, or collections) as rows with folders inside,
    arranged by the engine's ``kinds`` (see :class:`CatalogKind`)."""
    kinds = tuple(kinds)
    order = {name: position
             for position, name in enumerate(dict.fromkeys(k.folder for k in kinds))}
    collapsed = frozenset(k.folder for k in kinds if k.collapsed)
    return [_item_node(item, kinds, order, collapsed) for item in items]


def _item_node(item: CatalogItem, kinds: tuple[CatalogKind, ...], order: dict[str, int],
               collapsed: frozenset[str]) -> DisplayNode:
    node = DisplayNode(item.name, item.name, item, item_detail(item, kinds))
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
            grouped.setdefault(folder_name(child.kind, kinds), []).append(child)
    node.children = [_item_node(child, kinds, order, collapsed) for child in direct]
    first_seen = list(grouped)
    for name in sorted(grouped, key=lambda n: (order.get(n, len(order)),
                                               first_seen.index(n))):
        members = grouped[name]
        folder = DisplayNode(f"{name} ({len(members)})", FOLDER_KEY_PREFIX + name,
                             collapsed=name in collapsed)
        folder.children = [_item_node(member, kinds, order, collapsed) for member in members]
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
        and not node.collapsed
    )
