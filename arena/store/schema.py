"""The database layout, as one ordered list of migrations that both engines follow; the applied ones are recorded in
the database's ``migrations`` table. Each migration's tables are written once for both engines, with ``{time}``
for the type a time is kept in; what only one engine has (SQLite's FTS5 prompt index and its triggers,
PostgreSQL's tsvector column and plpgsql function) follows as that engine's own DDL."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from arena.errors import StorageError


@dataclass(frozen=True)
class Migration:
    name: str
    sqlite: str
    postgres: str


# A time (seconds since the epoch) as each engine keeps it: the one word their shared tables differ in.
TIME_TYPES = {"sqlite": "REAL", "postgres": "DOUBLE PRECISION"}


def _migration(name: str, both: str, sqlite: str = "", postgres: str = "") -> Migration:
    """A migration whose DDL ``both`` engines run (``{time}`` standing for their time type), then each its own."""
    return Migration(name, sqlite=both.replace("{time}", TIME_TYPES["sqlite"]) + sqlite,
                     postgres=both.replace("{time}", TIME_TYPES["postgres"]) + postgres)


_INITIAL = _migration(
    "_initial",
    both="""
        CREATE TABLE comparisons (
            id TEXT PRIMARY KEY,
            created_at {time} NOT NULL,
            prompt TEXT NOT NULL,
            input_image TEXT,
            params TEXT NOT NULL,
            models TEXT NOT NULL
        );
        CREATE TABLE outputs (
            id TEXT PRIMARY KEY,
            comparison_id TEXT NOT NULL REFERENCES comparisons(id),
            created_at {time} NOT NULL,
            model TEXT NOT NULL,
            kind TEXT NOT NULL,
            output TEXT NOT NULL,
            status TEXT NOT NULL,
            prompt TEXT NOT NULL,
            input_image TEXT,
            text TEXT NOT NULL,
            error TEXT,
            thumb TEXT,
            entry TEXT NOT NULL,
            params TEXT NOT NULL,
            used TEXT NOT NULL,
            versions TEXT NOT NULL,
            metrics TEXT NOT NULL,
            notices TEXT NOT NULL,
            parent_id TEXT,
            rerun_of TEXT,
            run_id TEXT,
            favourite INTEGER NOT NULL DEFAULT 0,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE output_images (
            output_id TEXT NOT NULL REFERENCES outputs(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            sha TEXT NOT NULL,
            PRIMARY KEY (output_id, position)
        );
        CREATE INDEX outputs_newest ON outputs(created_at DESC);
        CREATE INDEX outputs_model ON outputs(model, created_at DESC);
        CREATE INDEX outputs_kind ON outputs(output, created_at DESC);
        CREATE INDEX outputs_favourite ON outputs(favourite, created_at DESC);
        CREATE INDEX outputs_comparison ON outputs(comparison_id);
        CREATE INDEX outputs_run ON outputs(run_id);
        CREATE INDEX output_images_sha ON output_images(sha);
        CREATE INDEX outputs_thumb ON outputs(thumb);
        CREATE INDEX comparisons_image ON comparisons(input_image);
        """,
    sqlite="""
        CREATE VIRTUAL TABLE outputs_prompt USING fts5(prompt, content='outputs', content_rowid='rowid');
        CREATE TRIGGER outputs_prompt_insert AFTER INSERT ON outputs BEGIN
            INSERT INTO outputs_prompt(rowid, prompt) VALUES (new.rowid, new.prompt);
        END;
        CREATE TRIGGER outputs_prompt_delete AFTER DELETE ON outputs BEGIN
            INSERT INTO outputs_prompt(outputs_prompt, rowid, prompt) VALUES ('delete', old.rowid, old.prompt);
        END;
        """,
    postgres="""
        -- Prompt-word search (FTS5's outputs_prompt on SQLite): the prompt's words kept beside it, so the planner
        -- has their statistics and a row's check is cheap, under a GIN index.
        ALTER TABLE outputs ADD COLUMN prompt_words tsvector
            GENERATED ALWAYS AS (to_tsvector('simple', prompt)) STORED;
        CREATE INDEX outputs_prompt_words ON outputs USING GIN (prompt_words);
        """,
)

_SUITE_RUNS = _migration(
    "_suite_runs",
    both="""
        ALTER TABLE outputs ADD COLUMN case_id TEXT;
        ALTER TABLE outputs ADD COLUMN case_hash TEXT;
        ALTER TABLE outputs ADD COLUMN sample INTEGER;
        CREATE INDEX outputs_cache ON outputs(model, case_hash, sample, status);
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            suite TEXT NOT NULL,
            version TEXT NOT NULL,
            source TEXT NOT NULL,
            models TEXT NOT NULL,
            judge TEXT,
            started_at {time} NOT NULL,
            finished_at {time},
            status TEXT NOT NULL
        );
        CREATE TABLE run_cells (
            run_id TEXT NOT NULL REFERENCES runs(id),
            case_id TEXT NOT NULL,
            case_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            sample INTEGER NOT NULL,
            output_id TEXT,
            status TEXT NOT NULL,
            cached INTEGER NOT NULL,
            refused INTEGER,
            checks TEXT NOT NULL,
            PRIMARY KEY (run_id, case_id, model, sample)
        );
        """,
)

_RUN_CASE_ORDER = _migration(
    "_run_case_order",
    both="""
        ALTER TABLE runs ADD COLUMN cases TEXT;
        CREATE INDEX run_cells_case ON run_cells(case_id);
        CREATE INDEX runs_started ON runs(started_at);
        CREATE INDEX outputs_parent ON outputs(parent_id);
        """,
)

# Votes on battles (people blind or named, judge models); vote_images keeps the judged pictures.
_VOTES = _migration(
    "_votes",
    both="""
        CREATE TABLE votes (
            id TEXT PRIMARY KEY,
            battle_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            model_a TEXT NOT NULL,
            model_b TEXT NOT NULL,
            side_a TEXT NOT NULL,
            side_b TEXT NOT NULL,
            outcome TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            output_a TEXT,
            output_b TEXT,
            prompt TEXT NOT NULL DEFAULT '',
            suite TEXT,
            case_id TEXT,
            case_tags TEXT NOT NULL DEFAULT '[]',
            voter TEXT NOT NULL,
            voter_kind TEXT NOT NULL,
            blind INTEGER NOT NULL,
            leak INTEGER NOT NULL DEFAULT 0,
            created_at {time} NOT NULL
        );
        CREATE UNIQUE INDEX votes_battle ON votes(battle_id);
        CREATE INDEX votes_board ON votes(kind, voter_kind, leak, model_a, model_b, outcome);
        CREATE INDEX votes_voter ON votes(voter, created_at);
        CREATE INDEX votes_time ON votes(created_at);
        CREATE TABLE vote_images (
            vote_id TEXT NOT NULL REFERENCES votes(id) ON DELETE CASCADE,
            sha TEXT NOT NULL
        );
        CREATE INDEX vote_images_vote ON vote_images(vote_id);
        CREATE INDEX vote_images_sha ON vote_images(sha);
        """,
    sqlite="""
        CREATE TRIGGER votes_keep_pictures AFTER INSERT ON votes
        WHEN new.output_a IS NOT NULL OR new.output_b IS NOT NULL BEGIN
            INSERT INTO vote_images(vote_id, sha)
            SELECT new.id, sha FROM output_images WHERE output_id IN (new.output_a, new.output_b);
        END;
        """,
    postgres="""
        CREATE FUNCTION votes_keep_pictures() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO vote_images(vote_id, sha)
            SELECT NEW.id, sha FROM output_images WHERE output_id IN (NEW.output_a, NEW.output_b);
            RETURN NULL;
        END $$;
        CREATE TRIGGER votes_keep_pictures AFTER INSERT ON votes FOR EACH ROW
        WHEN (NEW.output_a IS NOT NULL OR NEW.output_b IS NOT NULL) EXECUTE FUNCTION votes_keep_pictures();
        """,
)

# The signed-in person who made an output or started a suite run (NULL where nobody signed in).
_USER_NAMES = _migration(
    "_user_names",
    both="""
        ALTER TABLE outputs ADD COLUMN user_name TEXT;
        ALTER TABLE runs ADD COLUMN user_name TEXT;
        CREATE INDEX outputs_user ON outputs(user_name, created_at);
        """,
)


# The blind battle an output is a side of: the gallery lists it only once the battle has its vote.
_BATTLE_OUTPUTS = _migration(
    "_battle_outputs",
    both="""
        ALTER TABLE outputs ADD COLUMN battle_id TEXT;
        CREATE INDEX outputs_battle ON outputs(battle_id);
        """,
)


# Prompt words found with or without their accents ("cafe" finds "café"), as SQLite's FTS5 tokenizer does: a text
# search configuration ``arena_words``, 'simple' with PostgreSQL's unaccent dictionary in front. unaccent is a
# trusted extension (a database's owner may create it); where the role may not, arena_words is plain 'simple'.
_UNACCENTED_WORDS = _migration(
    "_unaccented_words",
    both="",
    postgres="""
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS unaccent;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'prompt words keep their accents: %', SQLERRM;
        END $$;
        CREATE TEXT SEARCH CONFIGURATION arena_words (COPY = simple);
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent') THEN
                ALTER TEXT SEARCH CONFIGURATION arena_words
                    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
            END IF;
        END $$;
        ALTER TABLE outputs DROP COLUMN prompt_words;
        ALTER TABLE outputs ADD COLUMN prompt_words tsvector
            GENERATED ALWAYS AS (to_tsvector('arena_words', prompt)) STORED;
        CREATE INDEX outputs_prompt_words ON outputs USING GIN (prompt_words);
        """,
)


MIGRATIONS: list[Migration] = [_INITIAL, _SUITE_RUNS, _RUN_CASE_ORDER, _VOTES, _USER_NAMES, _BATTLE_OUTPUTS,
                               _UNACCENTED_WORDS]


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations a SQLite database lacks, each in a write transaction (so two processes take turns);
    how many this call applied."""
    db.execute("CREATE TABLE IF NOT EXISTS migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT number FROM migrations")}
    refuse_newer(done)
    applied = 0
    for number, migration in enumerate(MIGRATIONS, start=1):
        if number in done:
            continue
        with db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM migrations WHERE number = ?", (number,)).fetchone():
                continue  # another process got there first
            _script(db, migration.sqlite)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (number, migration.name))
            applied += 1
    return applied


def refuse_newer(done: set[int]) -> None:
    """Stop an Arena whose code is older than the database: it would read and write tables it does not know."""
    newest = max(done, default=0)
    if newest > len(MIGRATIONS):
        raise StorageError(f"This database was upgraded by a newer Arena (schema {newest}; this Arena knows up to "
                           f"{len(MIGRATIONS)}): upgrade this Arena before it uses the database.")


def _script(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (executescript would commit the migration's transaction half-way)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
