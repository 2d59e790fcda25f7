"""What differs between the two database engines, in one place: the SQL each needs for an insert that ignores or
replaces a row already there, the prompt-word search, matching a tag in a JSON list, and a lock held until the
transaction ends. The query modules write everything else once, with ``?`` placeholders, for both engines.

Why no SQLAlchemy: the store's queries are plain SQL that both engines take as written once these few pieces are
named here, and the command line's start-up time is measured, which an ORM's import (~0.15 s) would spend on every
command that touches the gallery. SQLite stays on the standard library's ``sqlite3``; PostgreSQL goes through
psycopg 3 and its pool (arena/store/postgres.py), imported only for a ``postgresql://`` URL.
"""

from __future__ import annotations

# Each table's primary key: what "already there" means for an insert that ignores or replaces.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "comparisons": ("id",), "outputs": ("id",), "output_images": ("output_id", "position"), "runs": ("id",),
    "run_cells": ("run_id", "case_id", "model", "sample"), "votes": ("id",), "vote_images": ("vote_id", "sha"),
}

# Columns the database computes itself (PostgreSQL's prompt-word vector): never inserted, never copied.
COMPUTED: dict[str, frozenset[str]] = {"outputs": frozenset({"prompt_words"})}


class SQLite:
    name = "sqlite"

    def insert(self, table: str, columns: list[str], on_conflict: str | None = None) -> str:
        """``INSERT`` of these columns; ``on_conflict`` ``ignore`` keeps the row already there, ``replace``
        overwrites it."""
        verb = {None: "INSERT", "ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}[on_conflict]
        return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"

    def prompt_words(self, words: list[str]) -> tuple[str, str]:
        """A condition on ``outputs o`` true where its prompt holds every word (any case), and its value."""
        query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        return "o.rowid IN (SELECT rowid FROM outputs_prompt WHERE outputs_prompt MATCH ?)", query

    def json_list_holds(self, column: str) -> str:
        """A condition true where the JSON list in ``column`` holds the value of its one ``?``."""
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = ?)"

    def json_list_items(self, column: str) -> str:
        """A table expression (for FROM) whose column ``value`` is each item of the JSON list in ``column``."""
        return f"json_each({column})"

    def lock(self, db, key: str) -> None:
        """Hold ``key`` until the transaction ends: SQLite's write transaction holds the whole database already."""


class Postgres(SQLite):
    name = "postgresql"

    def insert(self, table: str, columns: list[str], on_conflict: str | None = None) -> str:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        if on_conflict == "ignore":
            return sql + " ON CONFLICT DO NOTHING"
        if on_conflict == "replace":
            key = PRIMARY_KEYS[table]
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
            return sql + f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
        return sql

    def prompt_words(self, words: list[str]) -> tuple[str, str]:
        # outputs.prompt_words and its GIN index (arena/store/schema.py) answer this; arena_words ('simple' after
        # unaccent) neither stems nor drops words, and folds accents, as FTS5's default tokenizer.
        return ("o.prompt_words @@ plainto_tsquery('arena_words', ?)",
                " ".join(w.replace('"', " ") for w in words))

    def json_list_holds(self, column: str) -> str:
        return f"({column})::jsonb @> jsonb_build_array(CAST(? AS text))"

    def json_list_items(self, column: str) -> str:
        return f"jsonb_array_elements_text(({column})::jsonb) AS json_each(value)"

    def lock(self, db, key: str) -> None:
        db.execute("SELECT pg_advisory_xact_lock(hashtextextended(CAST(? AS text), 0))", (key,))


SQLITE = SQLite()
POSTGRES = Postgres()
