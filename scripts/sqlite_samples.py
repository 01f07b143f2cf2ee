"""The SQLite sample template: a film club, built with the standard library's sqlite3.

Seeded like the PostgreSQL samples (no downloads, the same file on every run), saved with
the code the app uses for "Save state as template" and restored once to prove it opens.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from pathlib import Path

FILE_NAME = "film-club.dbtpl"
NAME = "Film club"
DESCRIPTION = (
    "A SQLite film club: members, films, screenings and who came to which. A STRICT "
    "table, a generated column, a view of average ratings and a trigger that keeps each "
    "film's screening count. Try: SELECT * FROM film_ratings ORDER BY average DESC;"
)

SCHEMA = """
CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    joined TEXT NOT NULL
) STRICT;
CREATE TABLE films (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    year INTEGER NOT NULL CHECK (year BETWEEN 1890 AND 2100),
    minutes INTEGER NOT NULL,
    genre TEXT NOT NULL,
    hours REAL GENERATED ALWAYS AS (round(minutes / 60.0, 2)) VIRTUAL,
    screenings INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE screenings (
    id INTEGER PRIMARY KEY,
    film_id INTEGER NOT NULL REFERENCES films(id),
    shown_on TEXT NOT NULL,
    room TEXT NOT NULL
);
CREATE TABLE attendance (
    screening_id INTEGER NOT NULL REFERENCES screenings(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    rating INTEGER CHECK (rating BETWEEN 1 AND 5),
    PRIMARY KEY (screening_id, member_id)
) WITHOUT ROWID;
CREATE INDEX screenings_by_film ON screenings(film_id);
CREATE VIEW film_ratings AS
    SELECT f.title, f.year, count(a.rating) AS votes, round(avg(a.rating), 2) AS average
    FROM films f
    JOIN screenings s ON s.film_id = f.id
    LEFT JOIN attendance a ON a.screening_id = s.id
    GROUP BY f.id;
"""

TRIGGER = """
CREATE TRIGGER count_screenings AFTER INSERT ON screenings
BEGIN
    UPDATE films SET screenings = screenings + 1 WHERE id = NEW.film_id;
END;
"""

_FIRST = ["Ada", "Ben", "Chiara", "Dmitri", "Esi", "Farah", "Goran", "Hana", "Ivo", "Jun",
          "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomoko"]
_LAST = ["Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat",
         "Ito", "Jansen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Petrov"]
_FILMS = [
    ("Metropolis", 1927, 153, "science fiction"), ("City Lights", 1931, 87, "comedy"),
    ("Casablanca", 1942, 102, "drama"), ("Rashomon", 1950, 88, "drama"),
    ("Tokyo Story", 1953, 136, "drama"), ("Seven Samurai", 1954, 207, "action"),
    ("Vertigo", 1958, 128, "thriller"), ("Breathless", 1960, 90, "crime"),
    ("8½", 1963, 138, "drama"), ("Playtime", 1967, 124, "comedy"),
    ("Solaris", 1972, 167, "science fiction"), ("Stalker", 1979, 162, "science fiction"),
    ("Ran", 1985, 162, "drama"), ("Wings of Desire", 1987, 128, "fantasy"),
    ("Chungking Express", 1994, 102, "romance"), ("Spirited Away", 2001, 125, "animation"),
]
_ROOMS = ["Main hall", "Studio", "Garden"]


def build(path: Path, seed: int = 2024) -> None:
    """Create the film club database at ``path``."""
    rng = random.Random(seed)
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA + TRIGGER)
        members = []
        for number in range(60):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            members.append((f"{first} {last}", f"{first}.{last}{number}@example.org".lower(),
                            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"))
        conn.executemany("INSERT INTO members (name, email, joined) VALUES (?, ?, ?)", members)
        conn.executemany("INSERT INTO films (id, title, year, minutes, genre) "
                         "VALUES (?, ?, ?, ?, ?)",
                         [(i, *film) for i, film in enumerate(_FILMS, 1)])
        screenings = [(i, rng.randint(1, len(_FILMS)),
                       f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                       rng.choice(_ROOMS)) for i in range(1, 49)]
        conn.executemany("INSERT INTO screenings VALUES (?, ?, ?, ?)", screenings)
        attendance = set()
        while len(attendance) < 400:
            attendance.add((rng.randint(1, 48), rng.randint(1, 60)))
        conn.executemany("INSERT INTO attendance VALUES (?, ?, ?)",
                         [(s, m, rng.choice([None, 2, 3, 3, 4, 4, 4, 5, 5]))
                          for s, m in sorted(attendance)])
        conn.execute("PRAGMA user_version = 1")
    conn.close()


def make_sqlite_sample(out_dir: Path) -> Path:
    """Build, save and check the SQLite sample; returns the template's path."""
    from dbplay_desktop.engines.registry import engine_for_uri
    from dbplay_desktop.templates.container import TemplateReader
    from dbplay_desktop.templates.operations import save_template

    with tempfile.TemporaryDirectory(prefix="dbplay-sqlite-sample-") as scratch:
        source = Path(scratch) / "film-club.db"
        build(source)
        target = out_dir / FILE_NAME
        manifest = save_template(f"sqlite://{source}", target, name=NAME,
                                 description=DESCRIPTION)
        copy = Path(scratch) / "copy.db"
        engine = engine_for_uri(f"sqlite://{copy}")
        with TemplateReader(target) as reader:
            engine.restore(reader, str(copy))
        with sqlite3.connect(copy) as conn:
            rows = sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                       for t in ("members", "films", "screenings", "attendance"))
        conn.close()
        if rows != manifest.stats.get("rows"):
            raise SystemExit(f"{FILE_NAME}: restored {rows} rows, saved "
                             f"{manifest.stats.get('rows')}")
    return target
