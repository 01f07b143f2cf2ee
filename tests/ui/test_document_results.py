"""Document results in the window, engine-neutral: summarised nested values in the grid,
the document tree beside it, the engine's own Copy as formats, and columns found while
documents stream.

Results are real ``StatementResult.streaming(...)`` objects over lists of dict-valued
rows (a result, not a database); the engine's copy formats come from a descriptor whose
``copy_formats`` point at the functions below.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QThreadPool
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QTabWidget

from dbplay_desktop.engines import registry
from dbplay_desktop.engines.base import (
    CatalogItem,
    Column,
    ColumnKind,
    ResultKind,
    Session,
    Statement,
    StatementResult,
)
from dbplay_desktop.ui.results import view as view_module
from dbplay_desktop.ui.results.document_tree import CHUNK, DocumentTreeModel
from dbplay_desktop.ui.results.model import ResultsModel, stream_result
from dbplay_desktop.ui.results.view import ResultsView
from dbplay_desktop.values import MISSING, MISSING_TOOLTIP, Tagged, summary_text

#: What the fake engine's copy functions were given (columns, rows), last call first.
CALLS: list[tuple[list[str], list[tuple[Any, ...]]]] = []


def copy_upper(columns, rows) -> str:
    """A fake engine copy format: one line per row, its plain cells upper-cased."""
    CALLS.insert(0, (list(columns), [tuple(row) for row in rows]))
    return "\n".join(" ".join(str(cell).upper() for cell in row) for row in rows)


def copy_broken(columns, rows) -> str:
    raise ValueError("cannot write\nthat value")


FORMATS = (
    ("Upper", "tests.ui.test_document_results:copy_upper"),
    ("Broken", "tests.ui.test_document_results:copy_broken"),
)

OID = Tagged("ObjectId", "665f1c2e9b1e8a3d4c5b6a70", {"$oid": "665f1c2e9b1e8a3d4c5b6a70"})
WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
PRICE = Tagged("Decimal128", "19.99", {"$numberDecimal": "19.99"}, number=True)
BIG = Tagged("Int64", "9007199254740993", {"$numberLong": "9007199254740993"}, number=True)
DOC_COLUMNS = [Column("_id", "ObjectId", ColumnKind.ID), Column("name", "string"),
               Column("address", "document", ColumnKind.JSON),
               Column("tags", "array", ColumnKind.JSON), Column("price"), Column("note")]
DOCS = [
    (OID, "Ada", {"city": "London", "zip": "N1", "lines": ["1 Main St", "Flat 2"]},
     ["a", "b", "c"], PRICE, None),
    (Tagged("ObjectId", "665f1c2e9b1e8a3d4c5b6a71"), "Bob", {}, [], BIG, MISSING),
    (Tagged("ObjectId", "665f1c2e9b1e8a3d4c5b6a72"), "Cy",
     {"when": WHEN, "big": list(range(12))}, list(range(12)), Decimal("1.50"), "x"),
]


@pytest.fixture(autouse=True)
def _drain_pool(qtbot):
    CALLS.clear()
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    qtbot.wait(10)


@pytest.fixture(autouse=True)
def _tree_shown_by_default():
    view_module._remember(view_module.TREE_SHOWN_KEY, True)
    yield
    view_module._remember(view_module.TREE_SHOWN_KEY, True)


def fake_descriptor():
    return dataclasses.replace(registry.descriptor("sqlite"), copy_formats=FORMATS)


def documents_result(batches, columns=DOC_COLUMNS, kind=ResultKind.DOCUMENTS):
    return StatementResult.streaming(0, Statement.at("find", 0, 4), columns, iter(batches),
                                     kind=kind, changes_state=False)


def shown(qtbot, model: ResultsModel, **kwargs) -> ResultsView:
    view = ResultsView(model, **kwargs)
    qtbot.addWidget(view)
    view.resize(1000, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def streamed(qtbot, result: StatementResult, **kwargs) -> ResultsView:
    model = ResultsModel(cap=None)
    view = shown(qtbot, model, **kwargs)
    stream_result(result, model)
    qtbot.waitUntil(lambda: model.is_finished, timeout=10_000)
    return view


def select_rows(view: ResultsView, *rows: int, column: int = 0) -> None:
    model = view.model()
    selection = view.table.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(model.index(row, column), QItemSelectionModel.SelectionFlag.Select)
    view.table.setCurrentIndex(model.index(rows[0], column))
    for row in rows:
        selection.select(model.index(row, column), QItemSelectionModel.SelectionFlag.Select)


def menu_labels(menu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


# --------------------------------------------------------------------------- the grid


def test_summary_text():
    assert summary_text({"a": 1, "b": 2, "c": 3}) == "{3 fields}"
    assert summary_text({"a": 1}) == "{1 field}"
    assert summary_text(list(range(12))) == "[12 items]"
    assert summary_text([1]) == "[1 item]"
    assert summary_text(list(range(12_000))) == "[12,000 items]"
    assert summary_text({}) == "{}" and summary_text([]) == "[]" and summary_text(()) == "[]"
    assert summary_text(None) == "NULL" and summary_text(MISSING) == ""
    assert summary_text(OID) == OID.text and summary_text(3) == "3"


def test_documents_summarise_nested_values_and_copies_keep_them_whole(qtbot):
    view = streamed(qtbot, documents_result([DOCS]))
    model = view.model()
    assert model.kind is ResultKind.DOCUMENTS and model.is_documents
    shown_cells = [[model.index(r, c).data() for c in range(6)] for r in range(3)]
    assert shown_cells[0] == [OID.text, "Ada", "{3 fields}", "[3 items]", "19.99", "NULL"]
    assert shown_cells[1][2:4] == ["{}", "[]"]
    assert shown_cells[1][5] == ""  # absent, not NULL
    assert model.index(1, 5).data(3) == MISSING_TOOLTIP  # ToolTipRole
    assert shown_cells[2][2:4] == ["{2 fields}", "[12 items]"]
    select_rows(view, 0, column=2)
    assert view.selection_text("tsv", header=False) == (
        '{"city":"London","zip":"N1","lines":["1 Main St","Flat 2"]}')
    parsed = json.loads(view.selection_text("json"))
    assert parsed == [{"address": DOCS[0][2]}]
    select_rows(view, 2, column=3)
    assert view.copy_selection("tsv", header=False) == json.dumps(list(range(12)),
                                                                separators=(",", ":"))
    assert QGuiApplication.clipboard().text() == "[0,1,2,3,4,5,6,7,8,9,10,11]"


def test_rows_results_keep_compact_json_and_no_tree(qtbot):
    rows = [(1, {"a": [1, 2]}, [1, 2, 3])]
    columns = [Column("id", "int4"), Column("payload", "jsonb", ColumnKind.JSON),
               Column("list", "int4[]")]
    view = streamed(qtbot, documents_result([rows], columns, kind=ResultKind.ROWS))
    model = view.model()
    assert model.kind is ResultKind.ROWS
    assert model.index(0, 1).data() == '{"a":[1,2]}'
    assert model.index(0, 2).data() == "[1,2,3]"
    assert not view.tree_visible() and view.footer.tree_button.isHidden()
    assert "Document tree" not in menu_labels(view.build_menu())


def test_column_widths_measure_the_summaries(qtbot):
    long_doc = {f"field_{i}": "x" * 50 for i in range(40)}
    view = streamed(qtbot, documents_result([[(1, long_doc)]], [Column("_id"),
                                                                  Column("doc")]))
    widths = view.table.widths
    summary_width = widths.content_width(long_doc)
    metrics = view.table.fontMetrics()
    assert summary_width < metrics.horizontalAdvance("{40 fields}") + 40
    assert view.table.columnWidth(1) < view_module.MAX_AUTO_COLUMN_WIDTH


# --------------------------------------------------------------------------- the tree


def tree_rows(model: DocumentTreeModel, parent: QModelIndex | None = None):
    parent = parent if parent is not None else QModelIndex()
    if model.canFetchMore(parent):  # what expanding the node in the view does
        model.fetchMore(parent)
    return [tuple(model.index(r, c, parent).data() for c in range(3))
            for r in range(model.rowCount(parent))]


def test_tree_shows_the_current_document_with_types_and_follows_the_selection(qtbot):
    view = streamed(qtbot, documents_result([DOCS]))
    assert view.tree_visible() and not view.footer.tree_button.isHidden()
    assert view.footer.tree_button.isChecked()
    tree = view.tree.tree_model
    select_rows(view, 0, column=1)
    assert tree_rows(tree) == [
        ("_id", OID.text, "ObjectId"),
        ("name", "Ada", "string"),
        ("address", "{3 fields}", "document"),
        ("tags", "[3 items]", "array"),
        ("price", "19.99", "Decimal128"),
        ("note", "NULL", "null"),
    ]
    address = tree.index(2, 0)
    assert tree_rows(tree, address) == [("city", "London", "string"), ("zip", "N1", "string"),
                                        ("lines", "[2 items]", "array")]
    lines = tree.index(2, 0, address)
    assert tree_rows(tree, lines) == [("[0]", "1 Main St", "string"),
                                      ("[1]", "Flat 2", "string")]
    assert tree.path(tree.index(1, 0, lines)) == "address.lines.1"

    # Another row: the tree follows; an absent field is left out, a moved cursor within
    # the row changes nothing.
    view.table.setCurrentIndex(view.model().index(1, 0))
    rows = tree_rows(tree)
    assert [r[0] for r in rows] == ["_id", "name", "address", "tags", "price"]
    assert rows[4] == ("price", "9007199254740993", "Int64")
    view.table.setCurrentIndex(view.model().index(2, 3))
    rows = dict((r[0], r[1:]) for r in tree_rows(tree))
    assert rows["price"] == ("1.50", "decimal") and rows["note"] == ("x", "string")
    address = tree.index(2, 0)
    assert tree_rows(tree, address)[0] == ("when", "2024-05-06 07:08:09+00:00", "date")


def test_tree_builds_big_arrays_and_wide_documents_lazily(qtbot):
    huge = list(range(100_000))
    wide = {f"f{i}": i for i in range(5_000)}
    columns = [Column("_id"), Column("huge"), Column("wide")]
    view = streamed(qtbot, documents_result([[(1, huge, wide)]], columns))
    view.table.setCurrentIndex(view.model().index(0, 0))
    tree = view.tree.tree_model
    assert tree.rowCount() == 3 and tree.node_count() == 3
    huge_index, wide_index = tree.index(1, 0), tree.index(2, 0)
    assert tree.hasChildren(huge_index) and tree.rowCount(huge_index) == 0
    assert tree.index(1, 1).data() == "[100,000 items]"

    view.tree.expand(huge_index)
    qtbot.waitUntil(lambda: tree.rowCount(huge_index) > 0, timeout=5_000)
    assert tree.rowCount(huge_index) <= 10 * CHUNK  # the screenful, never 100,000
    assert tree.canFetchMore(huge_index)
    before = tree.rowCount(huge_index)
    tree.fetchMore(huge_index)
    assert tree.rowCount(huge_index) == before + CHUNK
    last = tree.rowCount(huge_index) - 1
    assert tree.index(last, 0, huge_index).data() == f"[{last}]"

    view.tree.expand(wide_index)
    qtbot.waitUntil(lambda: tree.rowCount(wide_index) > 0, timeout=5_000)
    assert tree.rowCount(wide_index) <= 10 * CHUNK
    assert tree.node_count() < 30 * CHUNK

    # Fetching to the end gives every element exactly once.
    while tree.canFetchMore(wide_index):
        tree.fetchMore(wide_index)
    assert tree.rowCount(wide_index) == 5_000
    assert tree.index(4_999, 0, wide_index).data() == "f4999"


def test_a_wide_row_opens_with_one_chunk():
    model = DocumentTreeModel(chunk=50)
    names = [f"c{i}" for i in range(1_000)]
    model.set_row(names, list(range(1_000)))
    assert model.rowCount() == 50 and model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 100
    model.set_document({"a": MISSING, "b": 1})
    assert tree_rows(model) == [("b", "1", "int")]
    model.set_document(None)
    assert model.rowCount() == 0


def test_tree_node_menu_copies_exact_text_json_and_path(qtbot):
    view = streamed(qtbot, documents_result([DOCS]))
    view.table.setCurrentIndex(view.model().index(0, 0))
    tree = view.tree
    address = tree.tree_model.index(2, 0)
    menu = tree.build_menu(address)
    assert menu_labels(menu) == ["Copy value", "Copy value as JSON", "Copy field path"]
    menu.actions()[0].trigger()
    assert QGuiApplication.clipboard().text() == (
        '{"city":"London","zip":"N1","lines":["1 Main St","Flat 2"]}')
    assert "characters" in view.copy_message
    menu.actions()[1].trigger()
    assert json.loads(QGuiApplication.clipboard().text()) == DOCS[0][2]
    assert "\n" in QGuiApplication.clipboard().text()  # pretty
    oid = tree.tree_model.index(0, 0)
    assert tree.copy_value(oid) == OID.text
    assert tree.copy_value(oid, "json") == '{"$oid":"665f1c2e9b1e8a3d4c5b6a70"}'
    tree.expand(address)
    city = tree.tree_model.index(0, 0, address)
    assert city.isValid()
    tree.build_menu(city).actions()[2].trigger()
    assert QGuiApplication.clipboard().text() == "address.city"
    note = tree.tree_model.index(5, 0)
    assert tree.copy_value(note) == "" and tree.copy_value(note, "json") == "null"


def test_tree_toggle_is_remembered(qtbot):
    view = streamed(qtbot, documents_result([DOCS]))
    assert view.tree_visible()
    view.footer.tree_button.click()  # the user hides it
    assert not view.tree_visible() and not view.tree_action.isChecked()
    assert not view.footer.tree_button.isChecked()
    later = streamed(qtbot, documents_result([DOCS]))
    assert not later.tree_visible() and not later.footer.tree_button.isHidden()
    assert "Document tree" in menu_labels(later.build_menu())
    later.tree_action.trigger()  # from the context menu
    assert later.tree_visible()
    later.table.setCurrentIndex(later.model().index(1, 0))
    assert later.tree.tree_model.index(1, 1).data() == "Bob"
    again = streamed(qtbot, documents_result([DOCS]))
    assert again.tree_visible()


# --------------------------------------------------------------------------- copy formats


def test_engine_copy_formats_in_both_menus_get_raw_rows(qtbot):
    view = streamed(qtbot, documents_result([DOCS]), descriptor=fake_descriptor())
    assert view.copy_formats() == ["Upper", "Broken"]
    context = menu_labels(view.build_menu())
    assert context.index("Copy as Upper") > context.index("Copy as Markdown")
    assert "Copy as Broken" in context
    footer_menu = view.footer.copy_menu
    view.footer.copy_menu_requested.emit(footer_menu)
    assert menu_labels(footer_menu)[-2:] == ["Copy as Upper", "Copy as Broken"]

    select_rows(view, 0, 1, column=1)
    action = next(a for a in view.build_menu().actions() if a.text() == "Copy as Upper")
    assert action.isEnabled()
    action.trigger()
    columns, rows = CALLS[0]
    assert columns == [c.name for c in DOC_COLUMNS]
    assert rows[0] == DOCS[0]  # whole rows, raw cells (Tagged, dicts) as the model holds
    assert rows[0][0] is OID and rows[1][5] is MISSING
    assert QGuiApplication.clipboard().text().startswith(OID.text.upper() + " ADA")
    assert view.copy_message == "Copied 2 rows as Upper"


def test_a_failing_copy_format_says_so_in_one_line(qtbot):
    view = streamed(qtbot, documents_result([DOCS]), descriptor=fake_descriptor())
    QGuiApplication.clipboard().setText("before")
    select_rows(view, 0)
    with qtbot.waitSignal(view.status_message, timeout=5_000) as signal:
        assert view.copy_engine_format("Broken") == ""
    assert signal.args == ["Could not copy as Broken: cannot write that value"]
    assert QGuiApplication.clipboard().text() == "before"


def test_no_descriptor_no_engine_formats(qtbot):
    view = streamed(qtbot, documents_result([DOCS]))
    assert view.copy_formats() == []
    assert not [t for t in menu_labels(view.build_menu()) if t.startswith("Copy as U")]
    select_rows(view, 0)
    assert view.copy_engine_format("Upper") == ""
    view.set_descriptor(fake_descriptor())
    assert view.copy_engine_format("Upper").startswith(OID.text.upper())


def test_run_results_hand_the_descriptor_to_their_tabs(qtbot):
    from dbplay_desktop.ui.editor.editor import CodeEditor
    from dbplay_desktop.ui.playground.query_runner import QueryRunner
    from dbplay_desktop.ui.results.messages_pane import MessagesPane
    from dbplay_desktop.ui.results.run_results import RunResults

    class DocumentSession(Session):
        def execute(self, text: str) -> Iterator[StatementResult]:
            yield documents_result([DOCS])

        def cancel(self) -> None: ...

        def catalog(self) -> list[CatalogItem]:
            return []

        def close(self) -> None: ...

    editor = CodeEditor()
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    qtbot.addWidget(editor)
    messages = MessagesPane()
    tabs.addTab(messages, "Messages")
    results = RunResults(editor, tabs, messages, batch_size=100, row_cap=None,
                         descriptor=fake_descriptor())
    runner = QueryRunner(DocumentSession(), cap=None)
    results.attach(runner)
    results.begin("find", 0)
    with qtbot.waitSignal(runner.all_done, timeout=10_000):
        runner.run("find")
    results.end()
    (view,) = results.views()
    assert view.model().is_documents and view.copy_formats() == ["Upper", "Broken"]
    assert view.model().index(0, 2).data() == "{3 fields}"
    results.set_descriptor(None)
    assert view.copy_formats() == []


# --------------------------------------------------------------------------- new columns


def test_columns_appended_mid_stream_fit_their_headers_and_keep_the_others(qtbot):
    go = threading.Event()
    columns = [Column("_id"), Column("name")]
    holder: dict[str, StatementResult] = {}

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        yield [(i, f"n{i}") for i in range(20)]
        go.wait(10)
        holder["result"].add_columns([Column("a_rather_long_field_name_found_later"),
                                      Column("nested")])
        yield [(i, f"n{i}", "v", {"k": i, "j": [1]}) for i in range(20, 40)]

    result = StatementResult.streaming(0, Statement.at("find", 0, 4), columns, batches(),
                                       kind=ResultKind.DOCUMENTS)
    holder["result"] = result
    model = ResultsModel(cap=None)
    view = shown(qtbot, model, descriptor=fake_descriptor())
    stream_result(result, model)
    qtbot.waitUntil(lambda: model.received_count == 20, timeout=10_000)
    header = view.table.horizontalHeader()
    view.table.setColumnWidth(1, 237)  # the user sizes a column
    id_width = view.table.columnWidth(0)
    view.table.setCurrentIndex(model.index(3, 0))
    assert view.tree.tree_model.rowCount() == 2
    go.set()
    qtbot.waitUntil(lambda: model.is_finished, timeout=10_000)

    assert model.column_names() == ["_id", "name", "a_rather_long_field_name_found_later",
                                    "nested"]
    assert header.count() == 4
    assert model.headerData(2, header.orientation()) == "a_rather_long_field_name_found_later"
    assert view.table.columnWidth(1) == 237 and view.table.columnWidth(0) == id_width
    assert view.table.columnWidth(2) >= header.sectionSizeHint(2)
    assert view.table.columnWidth(3) >= header.sectionSizeHint(3)
    # Rows from before the new columns read absent there; later ones summarise.
    assert model.index(3, 2).data() == "" and model.index(3, 3).data() == ""
    assert model.index(25, 3).data() == "{2 fields}"
    # The tree of the row shown before keeps only its own fields; a later row has all.
    assert [r[0] for r in tree_rows(view.tree.tree_model)] == ["_id", "name"]
    view.table.setCurrentIndex(model.index(25, 0))
    assert [r[0] for r in tree_rows(view.tree.tree_model)] == [
        "_id", "name", "a_rather_long_field_name_found_later", "nested"]
    # Engine formats get every column, MISSING where an early row lacks one.
    select_rows(view, 3)
    view.copy_engine_format("Upper")
    assert CALLS[0][1] == [(3, "n3", MISSING, MISSING)]


def test_the_tree_pane_width_is_remembered(qtbot):
    view = streamed(qtbot, documents_result([DOCS]))
    view.splitter.setSizes([700, 250])
    view.splitter.splitterMoved.emit(700, 1)  # what a drag of the handle sends
    qtbot.waitUntil(lambda: view_module._remembered(view_module.TREE_SIZES_KEY, None)
                    is not None, timeout=5_000)
    grid, tree = (int(v) for v in view_module._remembered(view_module.TREE_SIZES_KEY, None))
    assert grid > tree > 0
    later = streamed(qtbot, documents_result([DOCS]))
    sizes = later.splitter.sizes()
    assert sizes[0] > sizes[1] > 0


def test_the_cell_viewer_names_tagged_types(qtbot):
    from dbplay_desktop.ui.results.cell_viewer import CellViewer

    viewer = CellViewer({"_id": OID, "n": BIG, "s": "x"}, "doc")
    qtbot.addWidget(viewer)
    tree = viewer.tree_view.model()
    assert [tree.index(r, 2).data() for r in range(3)] == ["ObjectId", "Int64", "string"]
