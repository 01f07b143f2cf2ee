"""Drive the real dbplay window and save screenshots into ``docs/screenshots``.

Run under a virtual display (what ``make screenshots`` does)::

    xvfb-run -s '-screen 0 1400x900x24' .venv/bin/python scripts/screenshots.py

It uses the embedded PostgreSQL like a user would, a fresh profile (temporary data and
settings folders), and a shipped sample template (or one it makes when there are none).
Every picture comes from ``QWidget.grab()`` of the window, so no window manager is needed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SIZE = (1400, 860)

SAMPLE_SQL = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, country char(2) NOT NULL);
INSERT INTO customers VALUES (1, 'Ada', 'GB'), (2, 'Grace', 'US'), (3, 'Linus', 'FI');
CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, category text NOT NULL,
  price numeric(10, 2) NOT NULL, stock int NOT NULL DEFAULT 0);
INSERT INTO products VALUES (1, 'Notebook', 'books', 4.50, 10), (2, 'Pen', 'office', 1.20, 99);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers,
  ordered_at timestamptz NOT NULL DEFAULT now());
INSERT INTO orders (id, customer_id) VALUES (1, 1), (2, 1), (3, 2);
CREATE TABLE order_items (order_id int REFERENCES orders, product_id int REFERENCES products,
  quantity int NOT NULL, unit_price numeric(10, 2) NOT NULL);
INSERT INTO order_items VALUES (1, 1, 2, 4.50), (2, 2, 10, 1.20), (3, 1, 1, 4.50);
CREATE VIEW order_totals AS
  SELECT o.id AS order_id, c.name AS customer, o.ordered_at,
         sum(i.quantity * i.unit_price) AS total, count(*) AS items
  FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id
  GROUP BY o.id, c.name;
"""

QUERY_TEXT = """-- Ctrl+Enter runs the statement under the cursor, Ctrl+Shift+Enter runs all
SELECT c.name, c.country,
       count(DISTINCT o.id) AS orders,
       sum(i.quantity * i.unit_price) AS spent
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id
LEFT JOIN order_items i ON i.order_id = o.id
GROUP BY c.id
ORDER BY spent DESC NULLS LAST;

SELECT * FROM order_totals ORDER BY ordered_at DESC;
"""

ERROR_TEXT = """UPDATE products SET stock = stock + 10 WHERE stock < 20;
SELECT name, price FROM products ORDER BY price DESC LIMIT 5;
SELECT name, missing_column
FROM customers;
"""


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Serve Qt events until ``condition()`` holds; exit with a message on timeout."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"screenshots: timed out waiting for {what}")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def settle(seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    wait_until(lambda: time.monotonic() > end, seconds + 5, "the window to settle")


def save(window, name: str) -> None:
    settle()
    path = OUT / f"{name}.png"
    if not window.grab().save(str(path)):
        sys.exit(f"screenshots: could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")


def sample_template(engine, library_root: Path) -> Path:
    """A shipped sample, else a small shop template made on the embedded server."""
    samples = sorted((ROOT / "resources" / "samples").glob("*.dbtpl"))
    preferred = [p for p in samples if "shop" in p.stem] or samples
    if preferred:
        return preferred[0]
    from dbplay_desktop.templates.container import TemplateWriter

    database = engine.create_sandbox()
    try:
        with engine.connect(database) as session:
            for result in session.execute(SAMPLE_SQL):
                if result.error is not None:
                    raise result.error
        library_root.mkdir(parents=True, exist_ok=True)
        path = library_root / "shop.dbtpl"
        with TemplateWriter(path, engine="postgresql", name="Shop",
                            description="Customers and their orders") as writer:
            info = engine.dump(database, writer)
            writer.commit(info.engine_version, info.stats)
        return path
    finally:
        engine.drop_sandbox(database)


def main() -> int:
    profile = Path(tempfile.mkdtemp(prefix="dbplay-screenshots-"))
    # As root the server runs as the postgres account: the profile (made here) must be
    # one it can enter, or the cluster would go to /var/lib/dbplay and stay there.
    profile.chmod(0o711)
    (profile / "data").mkdir(mode=0o711)
    os.environ["DBPLAY_DATA_DIR"] = str(profile / "data")
    os.environ["DBPLAY_SETTINGS_DIR"] = str(profile / "settings")
    OUT.mkdir(parents=True, exist_ok=True)

    from dbplay_desktop.servers.manager import ServerManager
    from dbplay_desktop.ui.app import DbplayApplication, configure_application_identity
    from dbplay_desktop.ui.window.main_window import MainWindow

    app = DbplayApplication(sys.argv[:1])
    configure_application_identity()
    manager = ServerManager()
    window = MainWindow(manager=manager)
    window.resize(*SIZE)
    window.show()
    try:
        window.start_server()
        wait_until(lambda: window.engine is not None or window.engine_error is not None, 120,
                   "PostgreSQL to start")
        if window.engine is None:
            sys.exit(f"screenshots: {window.engine_error}")
        template = sample_template(window.engine, Path(os.environ["DBPLAY_DATA_DIR"]) / "templates")
        window.template_browser.refresh()
        save(window, "welcome")

        playground = window.open_template(template)
        wait_until(lambda: playground.state in ("ready", "failed"), 120, "the template restore")
        if playground.state != "ready":
            sys.exit(f"screenshots: {playground.error}")
        if not {"customers", "order_totals"} <= set(window.catalog_tree.names()):
            playground.editor.setPlainText("SELECT table_schema, table_name\n"
                                           "FROM information_schema.tables\n"
                                           "WHERE table_schema NOT IN "
                                           "('pg_catalog', 'information_schema');\n")
        else:
            playground.editor.setPlainText(QUERY_TEXT)
        playground.run_all()
        wait_until(lambda: not playground.is_running and playground.status == "Ready", 60,
                   "the query")
        playground.results_tabs.setCurrentIndex(1 if playground.results_tabs.count() > 1 else 0)
        save(window, "playground")

        if "products" in window.catalog_tree.names():
            playground.editor.setPlainText(ERROR_TEXT)
            playground.run_all()
            wait_until(lambda: not playground.is_running and playground.status == "Ready", 60,
                       "the failing batch")
            save(window, "error")
    finally:
        window.ask_save = lambda _playground: "discard"  # type: ignore[method-assign]
        window.close()
        wait_until(lambda: window._shutdown_done, 60, "the playgrounds to close")
        manager.stop()
        app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
