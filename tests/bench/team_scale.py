"""team_save_per_s, team_page_ms, team_words_ms: a team's Arena on PostgreSQL and an S3 server (both throwaway, on
loopback, started here).

4 writer processes save records with a small picture each (the PNG into the bucket, then the record; thumbnails are
drawn when the gallery first shows them) for 20 s: saves per second in all (goal ≥ 200). Then, with 100,000 records
stored, a third process reads the first gallery page and a prompt-word filter (goal ≤ 200 ms each, as SQLite does
today).

Run: python tests/bench/team_scale.py [RECORDS] [SECONDS]
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
import uuid
from pathlib import Path

import _common  # noqa: F401
from gallery_scale import synthetic, timed

from arena.settings import Settings
from arena.store import Filter, new_id, open_store
from tests.helpers import free_port
from tests.postgres import BIN, PostgresServer
from tests.s3 import S3Server, s3_environment

WRITERS = 4


def writer(folder: str, url: str, seconds: float, seed: int, counts, storage: str = "s3") -> None:
    store = open_store(Settings(data_dir=Path(folder), database_url=url, storage=storage), recover=False)
    rng = random.Random(seed)
    comparison_id = new_id()
    store.ensure_comparison(comparison_id, "bench", time.time())
    saves = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        record, images = synthetic(rng, comparison_id, time.time())
        if not images:
            from PIL import Image

            images = [Image.new("RGB", (24, 24), tuple(rng.randrange(256) for _ in range(3)))]
            record.output, record.text = "image", ""
        store.save(record, images)
        saves += 1
    counts[seed] = saves


def save_for(folder: Path, url: str, seconds: float, storage: str) -> int:
    """Records saved by WRITERS processes in ``seconds``."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        counts = manager.dict()
        writers = [context.Process(target=writer, args=(str(folder / f"w{i}"), url, seconds, i, counts, storage))
                   for i in range(WRITERS)]
        for process in writers:
            process.start()
        for process in writers:
            process.join()
        return sum(counts.values())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    if BIN is None:
        raise SystemExit("PostgreSQL is not installed (tests/run.sh installs Debian's postgresql)")
    postgres = PostgresServer(BIN)
    s3 = S3Server(free_port())
    s3.start()
    try:
        url = postgres.fresh_database()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3.client().create_bucket(Bucket=bucket)
        os.environ.update(s3_environment(s3, bucket), AWS_CONFIG_FILE=os.devnull,
                          AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        folder = Path(postgres.folder) / "app"
        open_store(Settings(data_dir=folder / "first", database_url=url, storage="s3"), recover=False)  # migrate

        saved = save_for(folder, url, seconds, "s3")
        print(f"{WRITERS} writers saved {saved} records with pictures in {seconds:g} s")
        # The same writers with their pictures in local folders: what the bucket stand-in (moto, a Python
        # server sharing these cores) costs beside the database.
        saved_folder = save_for(folder / "folders", url, seconds, "local")
        print(f"... and {saved_folder} with the pictures in local folders instead of the bucket")

        store = open_store(Settings(data_dir=folder / "filler", database_url=url, storage="s3"), recover=False)
        rng = random.Random(1)
        started = time.perf_counter()
        now = time.time() - count
        while store.count() < count:
            comparison_id = new_id()
            store.ensure_comparison(comparison_id, "bench", now)
            batch = min(5000, count - store.count())
            records = []
            for i in range(batch):
                record, _ = synthetic(rng, comparison_id, now + i)
                record.output, record.kind = "text", "openai-chat"
                record.text = record.text or f"An answer about {record.prompt}."
                records.append((record, []))
            store.save_many(records)
            now += batch
        print(f"filled to {store.count()} records in {time.perf_counter() - started:.0f} s")

        reader = open_store(Settings(data_dir=folder / "reader", database_url=url, storage="s3"), recover=False)
        page_ms = timed(lambda: reader.query(Filter(), page=1))
        words_ms = timed(lambda: reader.query(Filter(words="castle"), page=1))
        both_ms = timed(lambda: reader.query(Filter(words="robot night", output="image"), page=1))
        print(f"first page {page_ms:.1f} ms; a prompt word {words_ms:.1f} ms; two words and a kind {both_ms:.1f} ms")
        print(f"team_save_per_s: {saved / seconds:.0f}")
        print(f"team_save_per_s_pictures_in_folders: {saved_folder / seconds:.0f}")
        print(f"team_page_ms: {page_ms:.1f}")
        print(f"team_words_ms: {max(words_ms, both_ms):.1f}")
    finally:
        s3.stop()
        postgres.remove()


if __name__ == "__main__":
    main()
