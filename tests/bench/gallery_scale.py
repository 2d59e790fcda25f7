"""gallery_page_ms, gallery_filter_ms, gallery_save_ms: the gallery with 100,000 records (small images).

Goals: first page, filter by model and filter by a prompt word each ≤ 200 ms; saving one record ≤ 20 ms
excluding image encoding; thumbnails ≤ 50 KB. Run: python tests/bench/gallery_scale.py [RECORDS]
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from PIL import Image

from arena.store import Filter, OutputRecord, Store, new_id
from arena.store.pictures import png_with_record, thumbnail

WORDS = "spider web house tree sun cat dog river boat castle robot garden city night rain snow".split()
MODELS = [f"model-{i}" for i in range(20)]


def synthetic(rng: random.Random, comparison_id: str, created_at: float) -> tuple[OutputRecord, list[Image.Image]]:
    prompt = " ".join(rng.choice(WORDS) for _ in range(6))
    picture = rng.random() < 0.5
    record = OutputRecord(
        id=new_id(), comparison_id=comparison_id, created_at=created_at, model=rng.choice(MODELS),
        kind="diffusers" if picture else "openai-chat", output="image" if picture else "text", status="done",
        prompt=prompt, input_image=None, text="" if picture else f"An answer about {prompt}.", error=None,
        images=[], thumb=None, entry={}, params={}, used={"seed": rng.randrange(10**6)}, versions={}, metrics={},
        notices=[],
    )
    images = [Image.new("RGB", (24, 24), tuple(rng.randrange(256) for _ in range(3)))] if picture else []
    return record, images


def timed(function, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder))
        started = time.perf_counter()
        now = time.time() - count
        for batch_start in range(0, count, 2000):
            comparison_id = new_id()
            store.ensure_comparison(comparison_id, "bench", now + batch_start)
            store.save_many([synthetic(rng, comparison_id, now + i) for i in range(batch_start,
                                                                                    min(count, batch_start + 2000))])
        print(f"built {store.count()} records in {time.perf_counter() - started:.0f} s")
        page_ms = timed(lambda: store.query(Filter(), page=1))
        model_ms = timed(lambda: store.query(Filter(models=["model-7"]), page=1))
        word_ms = timed(lambda: store.query(Filter(words="castle"), page=1))
        both_ms = timed(lambda: store.query(Filter(words="robot night", output="image"), page=1))
        print(f"first page {page_ms:.1f} ms; by model {model_ms:.1f} ms; by a prompt word {word_ms:.1f} ms; "
              f"two words and a kind {both_ms:.1f} ms")

        comparison_id = new_id()
        store.ensure_comparison(comparison_id, "bench", time.time())
        whole, encoding = [], []
        for _ in range(30):
            record, images = synthetic(random.Random(rng.random()), comparison_id, time.time())
            images = images or [Image.new("RGB", (24, 24), "red")]
            record.output = "image"
            started = time.perf_counter()
            thumbnail(Image.open(__import__("io").BytesIO(png_with_record(images[0], record.provenance()))))
            encoding.append(time.perf_counter() - started)
            started = time.perf_counter()
            store.save(record, images)
            whole.append(time.perf_counter() - started)
        save_ms = (statistics.median(whole) - statistics.median(encoding)) * 1000
        print(f"save one record: {statistics.median(whole) * 1000:.1f} ms in all, "
              f"{statistics.median(encoding) * 1000:.1f} ms of it encoding the PNG and thumbnail")

        noisy = Image.effect_noise((1024, 1024), 90).convert("RGB")
        print(f"largest thumbnail (1024 px of noise): {len(thumbnail(noisy)) / 1024:.1f} KB")
        print(f"gallery_page_ms: {page_ms:.1f}")
        print(f"gallery_filter_ms: {max(model_ms, word_ms):.1f}")
        print(f"gallery_save_ms: {save_ms:.1f}")


if __name__ == "__main__":
    main()
