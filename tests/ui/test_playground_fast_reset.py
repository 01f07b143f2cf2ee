"""A playground's fast reset on the real test PostgreSQL: the template is restored once
into a pristine copy, a reset adopts a clone of it made in the background, and nothing
of the copies outlives the playground."""

from __future__ import annotations

import psycopg

from tests.engines.test_sandbox_wall import databases, sandbox_roles
from tests.helpers import with_database
from tests.ui.conftest import run_and_wait, wait_ready


def count_orders(qtbot, playground) -> object:
    playground.editor.setPlainText("SELECT count(*) FROM orders;")
    run_and_wait(qtbot, playground)
    return playground.result_models()[0].value(0, 0)


def change_and_reset(qtbot, main_window, playground) -> str:
    """Delete the orders, reset, wait for the new database; returns the old one."""
    playground.editor.setPlainText("DELETE FROM orders;")
    run_and_wait(qtbot, playground)
    assert count_orders(qtbot, playground) == 0
    old = playground.database
    main_window.reset_action.trigger()
    qtbot.waitUntil(lambda: playground.state == "ready" and playground.database != old,
                    timeout=60_000)
    return old


def test_open_reset_reset_close_gives_the_template_state_and_leaves_nothing(
    qtbot, main_window, shop_template, pg_admin_uri
):
    roles_before, databases_before = sandbox_roles(pg_admin_uri), databases(pg_admin_uri)
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    pristine = playground.clones.pristine
    assert pristine is not None and pristine != playground.database
    qtbot.waitUntil(lambda: playground.clones.ready is not None, timeout=60_000)
    ready = playground.clones.ready

    old = change_and_reset(qtbot, main_window, playground)
    assert playground.database == ready  # the clone made ahead of time, adopted
    assert not playground.modified
    assert count_orders(qtbot, playground) == 3  # the template's rows are back
    qtbot.waitUntil(lambda: old not in databases(pg_admin_uri), timeout=30_000)
    assert pristine in databases(pg_admin_uri)

    qtbot.waitUntil(lambda: playground.clones.ready is not None, timeout=60_000)
    old = change_and_reset(qtbot, main_window, playground)
    assert count_orders(qtbot, playground) == 3
    playground.editor.setPlainText("INSERT INTO orders (customer_id, total) VALUES (3, 1);"
                                   "\nSELECT count(*) FROM orders;")
    run_and_wait(qtbot, playground)  # the session works: it writes and reads
    assert playground.result_models()[0].value(0, 0) == 4
    qtbot.waitUntil(lambda: old not in databases(pg_admin_uri), timeout=30_000)

    with qtbot.waitSignal(playground.closed, timeout=60_000):
        assert main_window.close_playground(playground, ask=False)
    assert databases(pg_admin_uri) == databases_before
    assert sandbox_roles(pg_admin_uri) == roles_before


def test_a_reset_before_the_ready_clone_exists_clones_the_pristine_copy(
    qtbot, main_window, shop_template, pg_admin_uri
):
    roles_before, databases_before = sandbox_roles(pg_admin_uri), databases(pg_admin_uri)
    playground = main_window.open_template(shop_template)
    asked: list[tuple[object, bool]] = []

    def reset_at_once(_text: str) -> None:
        # Right after the playground became ready: the background clone has just started.
        if not asked and playground.is_ready:
            asked.append((playground.clones.ready, playground.clones.busy))
            playground.editor.setPlainText("")
            assert playground.reset()

    playground.status_message.connect(reset_at_once)
    qtbot.waitUntil(lambda: bool(asked), timeout=60_000)
    assert asked == [(None, True)]
    first = playground.database
    qtbot.waitUntil(lambda: playground.state == "ready" and playground.database != first,
                    timeout=60_000)
    assert count_orders(qtbot, playground) == 3
    # The background clone still ends up as the next reset's.
    qtbot.waitUntil(lambda: playground.clones.ready is not None and not playground.clones.busy,
                    timeout=60_000)
    change_and_reset(qtbot, main_window, playground)
    assert count_orders(qtbot, playground) == 3
    with qtbot.waitSignal(playground.closed, timeout=60_000):
        assert main_window.close_playground(playground, ask=False)
    assert databases(pg_admin_uri) == databases_before
    assert sandbox_roles(pg_admin_uri) == roles_before


def test_a_reset_whose_clone_fails_restores_the_template_again(
    qtbot, main_window, shop_template, pg_admin_uri, pg_engine
):
    roles_before, databases_before = sandbox_roles(pg_admin_uri), databases(pg_admin_uri)
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    qtbot.waitUntil(lambda: playground.clones.ready is not None, timeout=60_000)
    pristine, ready = playground.clones.pristine, playground.clones.ready
    # The ready clone is gone, and the pristine copy is in use, so PostgreSQL refuses
    # to copy it: the reset must restore the template again.
    pg_engine.drop_sandbox(ready)
    with psycopg.connect(with_database(pg_admin_uri, pristine), autocommit=True):
        old = change_and_reset(qtbot, main_window, playground)
    assert count_orders(qtbot, playground) == 3
    assert playground.clones.pristine not in (None, pristine)  # a new pristine copy
    assert playground.database not in (old, ready, pristine)
    qtbot.waitUntil(lambda: not {old, ready, pristine} & databases(pg_admin_uri),
                    timeout=30_000)
    with qtbot.waitSignal(playground.closed, timeout=60_000):
        assert main_window.close_playground(playground, ask=False)
    assert databases(pg_admin_uri) == databases_before
    assert sandbox_roles(pg_admin_uri) == roles_before


def test_closing_the_window_drops_the_pristine_copy_and_the_ready_clone(
    qtbot, main_window, shop_template, pg_admin_uri
):
    roles_before, databases_before = sandbox_roles(pg_admin_uri), databases(pg_admin_uri)
    playground = main_window.open_template(shop_template)
    wait_ready(qtbot, playground)
    qtbot.waitUntil(lambda: playground.clones.ready is not None, timeout=60_000)
    assert len(databases(pg_admin_uri) - databases_before) == 3
    with qtbot.waitSignal(main_window.shutdown_finished, timeout=60_000):
        main_window.close()
    assert databases(pg_admin_uri) == databases_before
    assert sandbox_roles(pg_admin_uri) == roles_before
