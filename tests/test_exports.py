"""Gallery exports (arena.store.export), read back: every output on the contact sheet, the HTML page laid out by
comparison, model text rendered safely, the labels, and a chain kept as one strip."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from PIL import Image

from arena.store import Filter, OutputRecord, Store, labels, new_id
from arena.store.export import CELL, LABEL, SHEET_COLUMNS, _sheet_label, export
from tests.helpers import chat_engine, output_record

COLOURS = [(200, 30 * i % 256, 255 - 20 * i) for i in range(12)]


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "data")
    yield store
    store.close()


def _twelve_pictures(store: Store) -> list[OutputRecord]:
    comparison = new_id()
    base = time.time() - 100
    store.ensure_comparison(comparison, "a red fox", base)
    for number, colour in enumerate(COLOURS):
        picture = Image.new("RGB", (64, 64), colour)
        store.save(output_record(comparison, seed=100 + number, created_at=base + number), [picture])
    return store.all(Filter())


def test_the_contact_sheet_shows_every_output_of_one_model_and_prompt(store, tmp_path):
    records = _twelve_pictures(store)
    assert len(records) == 12
    sheet = Image.open(export(store, records, tmp_path / "sheet.png", "sheet")).convert("RGB")
    lines = -(-12 // SHEET_COLUMNS)
    assert sheet.size == (220 + SHEET_COLUMNS * CELL, lines * (CELL + LABEL))
    seen = []
    for number in range(12):
        left, top = 220 + (number % SHEET_COLUMNS) * CELL, (number // SHEET_COLUMNS) * (CELL + LABEL)
        seen.append(sheet.getpixel((left + CELL // 2, top + CELL // 2)))
        label_box = sheet.crop((left, top + CELL, left + CELL, top + CELL + LABEL))
        assert label_box.getextrema() != ((255, 255), (255, 255), (255, 255))  # the label is drawn
    assert seen == COLOURS  # every output, oldest first
    oldest_first = sorted(records, key=lambda r: r.created_at)
    assert [_sheet_label(r) for r in oldest_first] == [f"painter · seed {100 + n}" for n in range(12)]


def test_a_long_model_name_keeps_its_seed_on_the_label():
    record = output_record("c", model="a-very-long-model-name-from-some-provider-v2", seed=123456)
    label = _sheet_label(record)
    assert len(label) <= 34 and label.endswith("· seed 123456") and label.startswith("a-very-long")


def test_two_prompts_two_models_keep_one_line_each(store, tmp_path):
    for prompt in ("a cat", "a dog"):
        comparison = new_id()
        store.ensure_comparison(comparison, prompt, time.time())
        for model in ("a", "b"):
            store.save(output_record(comparison, model=model, prompt=prompt, seed=1), [Image.new("RGB", (8, 8), "red")])
    sheet = Image.open(export(store, store.all(Filter()), tmp_path / "s.png", "sheet"))
    assert sheet.size == (220 + 2 * CELL, 2 * (CELL + LABEL))


class _Page(HTMLParser):
    """Sections, their headings and the cards in each."""

    def __init__(self):
        super().__init__()
        self.sections: list[dict] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self.sections.append({"prompt": "", "cards": 0, "inputs": 0})
        elif tag == "h2":
            self._in_h2 = True
        elif tag == "div" and attributes.get("class") == "card":
            self.sections[-1]["cards"] += 1
        elif tag == "img" and attributes.get("class") == "input":
            self.sections[-1]["inputs"] += 1
        elif tag in ("script", "iframe", "object") or any(name.startswith("on") for name, _ in attrs):
            raise AssertionError(f"active content in the export: <{tag} {attrs}>")

    def handle_endtag(self, tag):
        self._in_h2 = self._in_h2 and tag != "h2"

    def handle_data(self, data):
        if self._in_h2:
            self.sections[-1]["prompt"] += data


def test_the_html_export_has_one_block_per_comparison_and_renders_answers_safely(store, tmp_path):
    picture = Image.new("RGB", (16, 16), "blue")
    png = tmp_path / "input.png"
    picture.save(png)
    sha = store.images.put(png.read_bytes())
    first, second = new_id(), new_id()
    store.ensure_comparison(first, "describe this", time.time())
    store.ensure_comparison(second, "a red fox", time.time())
    hostile = "**bold** and <img src=x onerror=alert(1)> <script>alert('x')</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    for model in ("reader-1", "reader-2", "reader-3"):
        store.save(output_record(first, model=model, prompt="describe this", text=hostile, output="text",
                                 input_image=sha))
    store.save(output_record(second, seed=7), [picture])
    folder = export(store, store.all(Filter()), tmp_path / "page", "html")
    page = (folder / "index.html").read_text()
    parsed = _Page()
    parsed.feed(page)
    assert sorted((s["prompt"], s["cards"]) for s in parsed.sections) == [("a red fox", 1), ("describe this", 3)]
    assert page.count("describe this") == 1  # the prompt once per comparison, not per output
    assert "<strong>bold</strong>" in page and "<table" in page  # Markdown rendered
    assert "<script>" not in page and "onerror" not in page.replace("onerror=alert(1)&gt;", "")
    assert "Seed 7" in page and "Total time 1.25 s" in page
    assert "First token" not in page.split('id="c-' + second)[1]  # no first-token time on a picture
    assert "grid-auto-flow: column" in page and "prefers-color-scheme: dark" in page


def test_labels_are_words_and_only_what_fits_the_output():
    picture = output_record("c", seed=3)
    picture.used = {"seed": 3, "num_inference_steps": 4, "guidance_scale": 0.0, "max_new_tokens": 9}
    assert labels.shown(picture, picture.used | picture.metrics) == [
        ("Guidance", "0"), ("Steps", "4"), ("Seed", "3"), ("Total time", "1.25 s")]
    answer = output_record("c", output="text", text="hi")
    assert labels.line(answer, answer.metrics) == "Tokens 9 · First token 0.2 s"


def test_a_chain_is_exported_as_one_strip_with_its_links(loopback, keys, engine_factory, tmp_path):
    from arena.chains import DescribeThenDraw

    engine = chat_engine(engine_factory, loopback, tmp_path)
    describe, draw = DescribeThenDraw(engine, "a charming spider at work", ["seer"], ["painter"]).run()
    store = engine.store
    picture = store.get(draw.snapshots()[0].record_id)
    strip = store.chain(picture)
    html = (export(store, strip, tmp_path / "page", "html") / "index.html").read_text()
    assert f'href="#o-{describe.snapshots()[0].record_id}"' in html and "made from" in html
    lines = (export(store, strip, tmp_path / "lines", "jsonl") / "records.jsonl").read_text().splitlines()
    assert '"parent_id": "' + describe.snapshots()[0].record_id in lines[1]
