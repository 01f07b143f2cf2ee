"""The sample templates' contents: schemas, seeded row generators and descriptions.

Kept apart from ``make_samples.py`` (which builds, saves and checks the files) so the
data of a sample can be read and changed on its own. Everything is generated from a
fixed seed: no downloads, and the same rows on every run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

Rows = dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]]


@dataclass(frozen=True)
class Sample:
    """One sample template: its file, how it is described, and how its data is made."""

    file_name: str
    name: str
    description: str
    schema: str
    rows: Callable[[random.Random], Rows]
    after: str = ""
    seed: int = 2024


SHOP_SCHEMA = """
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled');

CREATE TABLE customers (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE CHECK (position('@' in email) > 1),
    country    char(2) NOT NULL,
    joined_on  date NOT NULL
);

CREATE TABLE products (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku       text NOT NULL UNIQUE,
    name      text NOT NULL,
    category  text NOT NULL,
    price     numeric(10, 2) NOT NULL CHECK (price > 0),
    stock     integer NOT NULL DEFAULT 0 CHECK (stock >= 0)
);

CREATE TABLE orders (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  integer NOT NULL REFERENCES customers (id),
    status       order_status NOT NULL DEFAULT 'pending',
    ordered_at   timestamptz NOT NULL
);

CREATE TABLE order_items (
    order_id    integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  integer NOT NULL REFERENCES products (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_price  numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, product_id)
);

CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_ordered_at_idx ON orders (ordered_at);
CREATE INDEX products_category_idx ON products (category);
"""

SHOP_AFTER = """
CREATE VIEW order_totals AS
SELECT o.id AS order_id, c.name AS customer, o.status, o.ordered_at,
       sum(i.quantity * i.unit_price) AS total, sum(i.quantity) AS items
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN order_items i ON i.order_id = o.id
GROUP BY o.id, c.name;

COMMENT ON VIEW order_totals IS 'One row per order with its total value and item count';
"""

LIBRARY_SCHEMA = """
CREATE TABLE authors (
    id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL,
    born     integer CHECK (born BETWEEN 1500 AND 2020),
    country  text
);

CREATE TABLE books (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text NOT NULL,
    author_id  integer NOT NULL REFERENCES authors (id),
    isbn       char(13) NOT NULL UNIQUE,
    published  integer NOT NULL,
    genre      text NOT NULL,
    copies     integer NOT NULL DEFAULT 1 CHECK (copies >= 0)
);

CREATE TABLE members (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE,
    joined_on  date NOT NULL
);

CREATE TABLE loans (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id      integer NOT NULL REFERENCES books (id),
    member_id    integer NOT NULL REFERENCES members (id),
    loaned_on    date NOT NULL,
    due_on       date NOT NULL,
    returned_on  date,
    CHECK (due_on > loaned_on),
    CHECK (returned_on IS NULL OR returned_on >= loaned_on)
);

CREATE INDEX loans_member_idx ON loans (member_id);
CREATE INDEX loans_open_idx ON loans (book_id) WHERE returned_on IS NULL;

-- Three weeks unless the librarian says otherwise.
CREATE FUNCTION set_due_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.due_on IS NULL THEN
        NEW.due_on := NEW.loaned_on + 21;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER loans_set_due_date
    BEFORE INSERT ON loans
    FOR EACH ROW EXECUTE FUNCTION set_due_date();

CREATE FUNCTION available_copies(book integer) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT b.copies - (SELECT count(*) FROM loans l
                       WHERE l.book_id = b.id AND l.returned_on IS NULL)::integer
    FROM books b WHERE b.id = book;
$$;
"""

LIBRARY_AFTER = """
CREATE VIEW open_loans AS
SELECT l.id AS loan_id, b.title, m.name AS member, l.loaned_on, l.due_on
FROM loans l
JOIN books b ON b.id = l.book_id
JOIN members m ON m.id = l.member_id
WHERE l.returned_on IS NULL;
"""

SCHOOL_SCHEMA = """
CREATE TABLE teachers (
    id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL,
    subject  text NOT NULL
);

CREATE TABLE rooms (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code      text NOT NULL UNIQUE,
    capacity  integer NOT NULL CHECK (capacity > 0),
    kind      text NOT NULL DEFAULT 'classroom'
);

CREATE TABLE classes (
    id        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name      text NOT NULL UNIQUE,
    year      integer NOT NULL CHECK (year BETWEEN 5 AND 13),
    students  integer NOT NULL CHECK (students > 0)
);

CREATE TABLE periods (
    id       integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    weekday  integer NOT NULL CHECK (weekday BETWEEN 1 AND 5),
    slot     integer NOT NULL CHECK (slot BETWEEN 1 AND 8),
    starts   time NOT NULL,
    ends     time NOT NULL,
    UNIQUE (weekday, slot),
    CHECK (ends > starts)
);

-- A class, a teacher and a room can each be in only one place per period.
CREATE TABLE timetable (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    class_id    integer NOT NULL REFERENCES classes (id),
    teacher_id  integer NOT NULL REFERENCES teachers (id),
    room_id     integer NOT NULL REFERENCES rooms (id),
    period_id   integer NOT NULL REFERENCES periods (id),
    UNIQUE (class_id, period_id),
    UNIQUE (teacher_id, period_id),
    UNIQUE (room_id, period_id)
);
"""

SCHOOL_AFTER = """
CREATE MATERIALIZED VIEW teacher_load AS
SELECT t.id AS teacher_id, t.name, t.subject, count(tt.id) AS lessons_per_week,
       count(DISTINCT tt.class_id) AS classes
FROM teachers t
LEFT JOIN timetable tt ON tt.teacher_id = t.id
GROUP BY t.id;

CREATE UNIQUE INDEX teacher_load_teacher_idx ON teacher_load (teacher_id);
"""

# --------------------------------------------------------------------------- data

FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Kira", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wen", "Yara", "Zoe",
)
LAST_NAMES = (
    "Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quist",
    "Rossi", "Sato", "Tanaka", "Usman", "Varga", "Weber", "Young", "Zhang",
)
COUNTRIES = ("DE", "FR", "GB", "NL", "ES", "IT", "PL", "SE", "US", "JP")


def people(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct full names."""
    pairs = [(f, la) for f in FIRST_NAMES for la in LAST_NAMES]
    return [f"{f} {la}" for f, la in rng.sample(pairs, count)]


def email(name: str, number: int) -> str:
    return f"{name.lower().replace(' ', '.')}{number}@example.com"


def day(rng: random.Random, start: date, span_days: int) -> date:
    return start + timedelta(days=rng.randrange(span_days))


def shop_rows(rng: random.Random) -> Rows:
    names = people(rng, 60)
    customers = [
        (i, name, email(name, i), rng.choice(COUNTRIES), day(rng, date(2022, 1, 1), 720))
        for i, name in enumerate(names, 1)
    ]
    catalog = {
        "Coffee": ("Espresso beans", "Filter roast", "Cold brew kit", "Decaf blend", "Moka pot"),
        "Tea": ("Green sencha", "Earl grey", "Rooibos", "Chai mix", "Teapot"),
        "Kitchen": ("Chef knife", "Cutting board", "Cast-iron pan", "Spice rack", "Apron"),
        "Books": ("Baking basics", "Fermentation", "Street food", "Coffee atlas", "Tea ritual"),
    }
    products = []
    for category, items in catalog.items():
        for item in items:
            for size in ("small", "large"):
                i = len(products) + 1
                price = Decimal(rng.randrange(299, 8999)) / 100
                products.append(
                    (i, f"{category[:3].upper()}-{i:04d}", f"{item} ({size})", category, price,
                     rng.randrange(0, 250))
                )
    statuses = ["delivered"] * 6 + ["shipped"] * 2 + ["paid", "pending", "cancelled"]
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    orders, items = [], []
    for order_id in range(1, 221):
        when = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        orders.append((order_id, rng.randint(1, len(customers)), rng.choice(statuses), when))
        for product in rng.sample(products, rng.choice((1, 1, 2, 2, 3, 4))):
            items.append((order_id, product[0], rng.choice((1, 1, 1, 2, 3)), product[4]))
    return {
        "customers": (("id", "name", "email", "country", "joined_on"), customers),
        "products": (("id", "sku", "name", "category", "price", "stock"), products),
        "orders": (("id", "customer_id", "status", "ordered_at"), orders),
        "order_items": (("order_id", "product_id", "quantity", "unit_price"), items),
    }


def isbn13(rng: random.Random) -> str:
    digits = [9, 7, 8] + [rng.randrange(10) for _ in range(9)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def library_rows(rng: random.Random) -> Rows:
    authors = [
        (i, name, rng.randint(1900, 1995), rng.choice(COUNTRIES))
        for i, name in enumerate(people(rng, 30), 1)
    ]
    adjectives = ("Silent", "Hidden", "Last", "Golden", "Winter", "Paper", "Distant", "Quiet",
                  "Broken", "Northern", "Little", "Endless")
    nouns = ("River", "Garden", "Lighthouse", "Orchard", "Harbour", "Letters", "Mountain",
             "Station", "Island", "Clockmaker", "Library", "Voyage")
    genres = ("novel", "mystery", "science fiction", "history", "poetry", "biography")
    titles = rng.sample([f"The {a} {n}" for a in adjectives for n in nouns], 90)
    books, isbns = [], set()
    for i, title in enumerate(titles, 1):
        author = rng.choice(authors)
        isbn = isbn13(rng)
        while isbn in isbns:
            isbn = isbn13(rng)
        isbns.add(isbn)
        published = rng.randint(author[2] + 20, min(author[2] + 80, 2024))
        books.append((i, title, author[0], isbn, published, rng.choice(genres),
                      rng.randint(1, 4)))
    members = [
        (i, name, email(name, i), day(rng, date(2020, 1, 1), 1400))
        for i, name in enumerate(people(rng, 60), 1)
    ]
    loans, open_count = [], dict.fromkeys(range(1, len(books) + 1), 0)
    for i in range(1, 351):
        book = rng.choice(books)
        loaned = day(rng, date(2024, 1, 1), 330)
        # Most loans get the trigger's default due date (NULL here); some a custom one.
        due = loaned + timedelta(days=14) if rng.random() < 0.2 else None
        returned: date | None = loaned + timedelta(days=rng.randint(1, 35))
        if rng.random() < 0.12 and open_count[book[0]] < book[6]:
            returned = None
            open_count[book[0]] += 1
        loans.append((i, book[0], rng.randint(1, len(members)), loaned, due, returned))
    return {
        "authors": (("id", "name", "born", "country"), authors),
        "books": (("id", "title", "author_id", "isbn", "published", "genre", "copies"), books),
        "members": (("id", "name", "email", "joined_on"), members),
        "loans": (("id", "book_id", "member_id", "loaned_on", "due_on", "returned_on"), loans),
    }


def school_rows(rng: random.Random) -> Rows:
    subjects = ("Maths", "Maths", "English", "English", "Science", "Science", "History",
                "Geography", "French", "Art", "Music", "PE", "Computing", "Maths")
    surnames = rng.sample(LAST_NAMES, len(subjects))
    teachers = [
        (i, f"{rng.choice(('Ms', 'Mr', 'Dr'))} {surname}", subject)
        for i, (surname, subject) in enumerate(zip(surnames, subjects, strict=True), 1)
    ]
    rooms = [(i, f"A{100 + i}", rng.randint(24, 32), "classroom") for i in range(1, 9)]
    rooms += [(9, "LAB1", 28, "lab"), (10, "LAB2", 28, "lab"), (11, "GYM", 60, "gym"),
              (12, "STUDIO", 30, "studio")]
    classes = [
        (i, f"{year}{section}", year, rng.randint(20, 30))
        for i, (year, section) in enumerate(
            ((y, s) for y in range(7, 12) for s in "AB"), 1
        )
    ]
    slots = ((time(8, 30), time(9, 20)), (time(9, 25), time(10, 15)),
             (time(10, 35), time(11, 25)), (time(11, 30), time(12, 20)),
             (time(13, 10), time(14, 0)), (time(14, 5), time(14, 55)))
    periods = [
        (len(slots) * (weekday - 1) + slot, weekday, slot, starts, ends)
        for weekday in range(1, 6)
        for slot, (starts, ends) in enumerate(slots, 1)
    ]
    special = {"Science": "lab", "PE": "gym", "Art": "studio", "Music": "studio"}
    load = dict.fromkeys((t[0] for t in teachers), 0)
    lessons = []
    for period in periods:
        busy_teachers: set[int] = set()
        busy_rooms: set[int] = set()
        for cls in rng.sample(classes, len(classes)):
            if rng.random() < 0.12:
                continue  # a free period for this class
            free = [t for t in teachers if t[0] not in busy_teachers and load[t[0]] < 22]
            if not free:
                continue
            teacher = rng.choice(free)
            kind = special.get(teacher[2], "classroom")
            fits = [r for r in rooms if r[0] not in busy_rooms and r[2] >= cls[3]]
            preferred = [r for r in fits if r[3] == kind]
            preferred = preferred or [r for r in fits if r[3] == "classroom"]
            if not preferred:
                continue
            room = rng.choice(preferred)
            busy_teachers.add(teacher[0])
            busy_rooms.add(room[0])
            load[teacher[0]] += 1
            lessons.append((cls[0], teacher[0], room[0], period[0]))
    timetable = [(i, *lesson) for i, lesson in enumerate(lessons, 1)]
    return {
        "teachers": (("id", "name", "subject"), teachers),
        "rooms": (("id", "code", "capacity", "kind"), rooms),
        "classes": (("id", "name", "year", "students"), classes),
        "periods": (("id", "weekday", "slot", "starts", "ends"), periods),
        "timetable": (("id", "class_id", "teacher_id", "room_id", "period_id"), timetable),
    }


SAMPLES = (
    Sample(
        "shop.dbtpl",
        "Shop",
        "A small web shop: customers, products, orders and order items. Shows foreign "
        "keys, an enum type for the order status, check constraints on prices and stock, "
        "indexes, and the view order_totals. Try: which customers spent the most?",
        SHOP_SCHEMA,
        shop_rows,
        SHOP_AFTER,
        seed=1,
    ),
    Sample(
        "library.dbtpl",
        "Library",
        "A lending library: authors, books, members and loans. A trigger sets a loan's due "
        "date, the function available_copies(book) counts copies on the shelf, and the view "
        "open_loans lists what is out. Try: which loans are overdue?",
        LIBRARY_SCHEMA,
        library_rows,
        LIBRARY_AFTER,
        seed=2,
    ),
    Sample(
        "school-timetable.dbtpl",
        "School timetable",
        "A week's timetable: teachers, classes, rooms and periods. Unique constraints keep "
        "every class, teacher and room in one place per period; the materialized view "
        "teacher_load counts lessons per teacher. Try: which rooms are free on Friday?",
        SCHOOL_SCHEMA,
        school_rows,
        SCHOOL_AFTER,
        seed=3,
    ),
)
