"""The catalog dock: folders by kind, counts, columns and indexes, filter, open rows kept."""

from __future__ import annotations

import pytest

from dbplay_desktop.engines import registry
from dbplay_desktop.engines.base import CatalogItem
from dbplay_desktop.ui.playground.catalog_groups import display_tree, folder_name, plural
from dbplay_desktop.ui.playground.catalog_tree import CatalogTree
from tests.ui.conftest import run_and_wait, wait_ready

#: The folders, icons and labels come from the engine's descriptor.
PG_KINDS = registry.descriptor("postgresql").catalog_kinds
SQLITE_KINDS = registry.descriptor("sqlite").catalog_kinds


def _postgres_like() -> list[CatalogItem]:
    orders = CatalogItem("orders", "table", insert_text="orders", children=[
        CatalogItem("id", "column", "integer primary key", "id"),
        CatalogItem("total", "column", "numeric", "total"),
        CatalogItem("orders_pkey", "index", "CREATE UNIQUE INDEX orders_pkey ON ..."),
    ])
    return [
        CatalogItem("public", "schema", insert_text="public", children=[
            orders,
            CatalogItem("events", "partitioned table", children=[
                CatalogItem("at", "column", "timestamptz"),
            ]),
            CatalogItem("order_totals", "view", children=[
                CatalogItem("total", "column", "numeric"),
            ]),
            CatalogItem("daily", "materialized view"),
            CatalogItem("add_one", "function", "(x integer) → integer"),
            CatalogItem("archive", "procedure", "()"),
            CatalogItem("orders_id_seq", "sequence"),
            CatalogItem("mood", "type", "enum 'sad', 'happy'"),
        ]),
        CatalogItem("audit", "schema", children=[CatalogItem("log", "table")]),
    ]


def _children(row) -> list[str]:
    return [row.child(i).text(0) for i in range(row.childCount())]


@pytest.fixture
def tree(qtbot) -> CatalogTree:
    widget = CatalogTree()
    qtbot.addWidget(widget)
    return widget


def test_schema_objects_are_grouped_into_folders_with_counts(tree):
    tree.set_items(_postgres_like(), PG_KINDS)
    public = tree.find_row("public")
    assert _children(public) == [
        "Tables (2)", "Views (2)", "Functions (2)", "Sequences (1)", "Types (1)",
    ]  # no empty "Foreign tables" folder
    assert _children(tree.find_row("audit")) == ["Tables (1)"]
    assert _children(tree.find_row("public", "Tables (2)")) == ["orders", "events"]
    assert _children(tree.find_row("public", "Functions (2)")) == ["add_one", "archive"]
    # What sets a kind apart from its folder is said beside its name.
    assert tree.find_row("public", "Tables (2)", "events").text(1) == "partitioned"
    assert tree.find_row("public", "Views (2)", "daily").text(1) == "materialized"
    assert tree.find_row("public", "Tables (2)", "orders").text(1) == ""
    assert tree.find_row("public", "Functions (2)", "archive").text(1) == "procedure ()"
    # Objects, not folders, are what names() and completion see.
    assert "Tables (2)" not in tree.names() and "orders" in tree.names()


def test_tables_and_views_show_columns_and_an_indexes_folder(tree):
    tree.set_items(_postgres_like(), PG_KINDS)
    orders = tree.find_row("public", "Tables (2)", "orders")
    assert _children(orders) == ["id", "total", "Indexes (1)"]
    assert [orders.child(i).text(1) for i in range(2)] == ["integer primary key", "numeric"]
    assert _children(tree.find_row("public", "Tables (2)", "orders", "Indexes (1)")) == [
        "orders_pkey"
    ]
    view = tree.find_row("public", "Views (2)", "order_totals")
    assert _children(view) == ["total"]  # no indexes: no folder


def test_what_opens_by_default(tree):
    tree.set_items(_postgres_like(), PG_KINDS)
    assert tree.find_row("public").isExpanded()
    assert tree.find_row("public", "Tables (2)").isExpanded()
    assert tree.find_row("public", "Views (2)").isExpanded()
    assert not tree.find_row("public", "Functions (2)").isExpanded()
    assert not tree.find_row("public", "Tables (2)", "orders").isExpanded()


def test_open_rows_survive_a_refresh_even_when_counts_change(tree):
    tree.set_items(_postgres_like(), PG_KINDS)
    tree.find_row("public", "Tables (2)", "orders").setExpanded(True)
    tree.find_row("public", "Tables (2)", "orders", "Indexes (1)").setExpanded(True)
    tree.find_row("public", "Views (2)").setExpanded(False)
    items = _postgres_like()
    items[0].children.insert(0, CatalogItem("customers", "table"))
    tree.set_items(items)
    assert tree.find_row("public", "Tables (3)", "orders").isExpanded()
    assert tree.find_row("public", "Tables (3)", "orders", "Indexes (1)").isExpanded()
    assert not tree.find_row("public", "Views (2)").isExpanded()
    assert tree.find_row("public", "Tables (3)").isExpanded()


def test_filter_shows_the_folders_that_hold_a_match(tree):
    tree.set_items(_postgres_like(), PG_KINDS)
    tree.filter_field.setText("seq")
    assert tree.row_labels(visible_only=True) == [
        ("public",), ("public", "Sequences (1)"), ("public", "Sequences (1)", "orders_id_seq"),
    ]
    assert tree.find_row("public", "Sequences (1)").isExpanded()
    tree.filter_field.setText("Tables")  # folder names are not objects
    assert tree.row_labels(visible_only=True) == []
    tree.filter_field.setText("pkey")
    assert ("public", "Tables (2)", "orders", "Indexes (1)", "orders_pkey") in tree.row_labels(
        visible_only=True
    )
    tree.filter_field.clear()
    assert len(tree.row_labels(visible_only=True)) == len(tree.row_labels())


def test_other_engines_kinds_still_show(tree):
    """MongoDB-like: collections with fields and indexes, and kinds nobody knows yet."""
    shop = CatalogItem("shop", "database", children=[
        CatalogItem("orders", "collection", children=[
            CatalogItem("_id", "field", "objectId"),
            CatalogItem("total", "field", "double"),
            CatalogItem("_id_", "index", "{_id: 1}"),
        ]),
        CatalogItem("users", "collection"),
        CatalogItem("by_day", "search index"),
        CatalogItem("nightly", "policy"),
    ])
    loose = CatalogItem("notes", "collection", children=[CatalogItem("text", "field", "string")])
    tree.set_items([shop, loose])
    assert _children(tree.find_row("shop")) == [
        "Collections (2)", "Search indexes (1)", "Policies (1)",
    ]
    orders = tree.find_row("shop", "Collections (2)", "orders")
    assert _children(orders) == ["_id", "total", "Indexes (1)"]
    assert orders.child(0).text(1) == "objectId"
    assert _children(tree.find_row("notes")) == ["text"]  # top level stays flat
    assert tree.find_row("shop", "Policies (1)").isExpanded()


def test_folder_names():
    assert [plural(kind) for kind in ("collection", "index", "policy", "key", "match", "")] == [
        "Collections", "Indexes", "Policies", "Keys", "Matches", "Objects",
    ]
    assert folder_name("partitioned table", PG_KINDS) == "Tables"
    assert folder_name("materialized view", PG_KINDS) == "Views"
    assert folder_name("procedure", PG_KINDS) == "Functions"
    assert folder_name("vector index", PG_KINDS) == "Vector indexes"
    assert folder_name("partitioned table") == "Partitioned tables"  # no kinds: pluralised
    assert display_tree([]) == []


def test_folders_follow_the_engine_of_the_playground(tree):
    """SQLite's kinds: tables with their triggers in a closed folder; the same items on
    another engine's kinds (or none) are arranged by those."""
    items = [CatalogItem("main", "schema", children=[
        CatalogItem("orders", "table", children=[
            CatalogItem("id", "column", "INTEGER"),
            CatalogItem("orders_total", "index", "CREATE INDEX ..."),
        ]),
        CatalogItem("stamp", "trigger", "AFTER INSERT"),
        CatalogItem("recent", "view"),
    ])]
    tree.set_items(items, SQLITE_KINDS)
    assert _children(tree.find_row("main")) == ["Tables (1)", "Views (1)", "Triggers (1)"]
    assert not tree.find_row("main", "Triggers (1)").isExpanded()
    assert tree.find_row("main", "Tables (1)").isExpanded()
    assert not tree.find_row("main", "Triggers (1)", "stamp").icon(0).isNull()
    tree.set_items(items, ())
    assert _children(tree.find_row("main")) == ["Tables (1)", "Triggers (1)", "Views (1)"]
    tree.set_items([], ())
    tree.set_items(items)  # the kinds shown last are kept: still none
    assert tree.find_row("main", "Triggers (1)").isExpanded()  # nothing says collapsed


def test_double_click_inserts_objects_but_not_folders(qtbot, tree):
    tree.set_items(_postgres_like(), PG_KINDS)
    inserted: list[str] = []
    tree.insert_requested.connect(inserted.append)
    folder = tree.find_row("public", "Tables (2)")
    tree.tree.itemDoubleClicked.emit(folder, 0)
    tree.tree.itemDoubleClicked.emit(tree.find_row("public"), 0)
    assert inserted == []
    tree.tree.itemDoubleClicked.emit(tree.find_row("public", "Tables (2)", "orders"), 0)
    assert inserted == ["orders"]


def test_empty_database_says_so(tree):
    tree.set_items([])
    assert tree.tree.isHidden() and "empty" in tree.placeholder.text()


def test_real_postgres_catalog_in_folders(qtbot, main_window, shop_template):
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    tree = main_window.catalog_tree
    assert _children(tree.find_row("public")) == ["Tables (2)", "Sequences (1)"]
    customers = tree.find_row("public", "Tables (2)", "customers")
    assert _children(customers) == ["id", "name", "Indexes (1)"]
    assert customers.child(0).text(1) == "integer primary key"
    assert customers.child(1).text(1) == "text not null"
    assert _children(customers.child(2)) == ["customers_pkey"]
    playground.editor.setPlainText(
        "CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 5;"
    )
    run_and_wait(qtbot, playground)
    qtbot.waitUntil(lambda: tree.find_row("public", "Views (1)") is not None, timeout=10_000)
    assert _children(tree.find_row("public", "Views (1)", "big_orders")) == [
        "id", "customer_id", "total",
    ]
