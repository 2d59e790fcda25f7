"""Gallery exports and the suite report, read back: every output on the contact sheet, the HTML page laid out by
comparison, model text rendered safely, a chain kept as one strip, the report's layout rules, and the text diff."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest
from PIL import Image

from arena.store import Filter, OutputRecord, Run, Store, labels, new_id
from arena.store.export import CELL, LABEL, SHEET_COLUMNS, _sheet_label, export
from arena.suites import report
from arena.suites.results import Cell, Matrix
from tests.helpers import chat_engine

COLOURS = [(200, 30 * i % 256, 255 - 20 * i) for i in range(12)]


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "data")
    yield store
    store.close()


def _record(comparison_id: str, *, model="painter", prompt="a red fox", seed=None, text="", output="image",
            created_at=None, input_image=None) -> OutputRecord:
    return OutputRecord(
        id=new_id(), comparison_id=comparison_id, created_at=created_at or time.time(), model=model,
        kind="diffusers" if output == "image" else "openai-chat", output=output, status="done", prompt=prompt,
        input_image=input_image, text=text, error=None, images=[], thumb=None, entry={"name": model}, params={},
        used={"seed": seed} if seed is not None else {}, versions={},
        metrics={"total_s": 1.25, "ttft_s": 0.2, "steps": 4} if output == "image" else {"ttft_s": 0.2, "tokens": 9},
        notices=[],
    )


def _twelve_pictures(store: Store) -> list[OutputRecord]:
    comparison = new_id()
    base = time.time() - 100
    store.ensure_comparison(comparison, "a red fox", base)
    for number, colour in enumerate(COLOURS):
        store.save(_record(comparison, seed=100 + number, created_at=base + number), [Image.new("RGB", (64, 64),
                                                                                               colour)])
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
    record = _record("c", model="a-very-long-model-name-from-some-provider-v2", seed=123456)
    label = _sheet_label(record)
    assert len(label) <= 34 and label.endswith("· seed 123456") and label.startswith("a-very-long")


def test_two_prompts_two_models_keep_one_line_each(store, tmp_path):
    for prompt in ("a cat", "a dog"):
        comparison = new_id()
        store.ensure_comparison(comparison, prompt, time.time())
        for model in ("a", "b"):
            store.save(_record(comparison, model=model, prompt=prompt, seed=1), [Image.new("RGB", (8, 8), "red")])
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
        store.save(_record(first, model=model, prompt="describe this", text=hostile, output="text", input_image=sha))
    store.save(_record(second, seed=7), [picture])
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
    picture = _record("c", seed=3)
    picture.used = {"seed": 3, "num_inference_steps": 4, "guidance_scale": 0.0, "max_new_tokens": 9}
    assert labels.shown(picture, picture.used | picture.metrics) == [
        ("Guidance", "0"), ("Steps", "4"), ("Seed", "3"), ("Total time", "1.25 s")]
    answer = _record("c", output="text", text="hi")
    assert labels.line(answer, answer.metrics) == "Tokens 9 · First token 0.2 s"


def _cell(case_id: str, model: str, status="done", text="an answer", passed=True, total=1.0) -> Cell:
    record = _record("c", model=model, output="text", text=text)
    record.metrics = {"total_s": total}
    record.status = status
    return Cell(run_id="r", case_id=case_id, model=model, sample=0, case_hash="h", status=status, cached=False,
                refused=False, checks=[{"check": "contains", "passed": passed, "detail": ""}], record=record)


def _matrix() -> Matrix:
    long_token = "x" * 400
    cells = {
        ("alpha", "m1"): [_cell("alpha", "m1", text=long_token, total=3.0)],
        ("alpha", "m2"): [_cell("alpha", "m2")],
        ("bravo", "m1"): [_cell("bravo", "m1", status="error", total=0.5)],
        ("bravo", "m2"): [_cell("bravo", "m2")],
        ("charlie", "m1"): [_cell("charlie", "m1", passed=False, total=9.0)],
        ("charlie", "m2"): [_cell("charlie", "m2", passed=False)],
    }
    return Matrix(run={"id": "r", "suite": "s", "version": 1, "started_at": 0, "status": "finished"},
                  cases=["charlie", "alpha", "bravo"], models=["m1", "m2"],
                  prompts={"alpha": "say hi", "bravo": "draw a fox", "charlie": "count to three"}, cells=cells)


def test_the_matrix_sorts_and_searches_cases():
    matrix = _matrix()
    assert matrix.arranged() == ["charlie", "alpha", "bravo"]
    assert matrix.arranged(sort="case") == ["alpha", "bravo", "charlie"]
    assert matrix.arranged(sort="status") == ["bravo", "charlie", "alpha"]
    assert matrix.arranged(sort="time") == ["charlie", "alpha", "bravo"]
    assert matrix.arranged(search="FOX") == ["bravo"]
    assert matrix.arranged(search="al") == ["alpha"]
    html = report.matrix_table(matrix, lambda record: None, search="nothing like it")
    assert "no case matches" in html


def test_the_matrix_keeps_columns_readable_and_long_tokens_inside_their_cell():
    html = report.matrix_table(_matrix(), lambda record: None)
    assert 'class="sx sx-scroll"' in html and f"min-width: {report.CASE_EM + 2 * report.COLUMN_EM}em" in html
    css = report.CSS
    assert "table-layout: fixed" in css and "box-sizing: border-box" in css and "overflow-wrap: anywhere" in css
    assert "overflow-x: auto" in css and "var(--body-text-color" in css and "#fef2f2" not in css


def test_the_report_is_one_page_in_the_readers_colours_that_loads_nothing(store):
    matrix = _matrix()
    matrix.run = Run(id="r", suite="<b>s</b>", version="1", source="", models=["m1", "m2"], judge=None,
                     started_at=0, finished_at=None, status="finished")
    page = report.report_page(store, matrix)
    assert "prefers-color-scheme: dark" in page and "default-src 'none'; img-src data:" in page
    assert "<title>&lt;b&gt;s&lt;/b&gt; v1</title>" in page and '<body class="sx">' in page
    assert ".sx .sx-diff > div" in page  # the stylesheet is not escaped, only what fills the page
    assert page.count('class="sx-cell') == 6 and "data-cell" not in page  # nothing to click in a file
    assert "--sx-bg: var(--card)" in page  # the matrix takes the page's colours, light or dark


def test_the_gallery_export_and_the_sweep_grid_share_one_page():
    from arena.templates import environment

    for name in ("gallery_export.html.j2", "sweep_grid.html.j2", "suite_report.html.j2"):
        source = environment().loader.get_source(environment(), name)[0]
        assert '{% extends "page.html.j2" %}' in source, name
    assert environment().autoescape is True


def test_templates_escape_everything_and_ship_with_the_package():
    import fnmatch
    import tomllib

    from tests.conftest import ROOT

    templates = sorted((ROOT / "arena" / "templates").glob("*.j2"))
    for template in templates:
        source = template.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape", source), template.name  # no way around escaping
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["arena.templates"]
    assert templates and all(any(fnmatch.fnmatch(t.name, glob) for glob in shipped) for t in templates)


def test_the_text_diff_marks_words_and_escapes_everything():
    html = report.text_diff("the cat sat <b>here</b>", "the dog sat <b>here</b> <script>x</script>", "A", "B")
    assert "<del>cat</del>" in html and "<ins>dog</ins>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>here" not in html
    assert "only in A" in html and "only in B" in html


def test_run_a_against_run_b_shows_a_text_diff_of_a_changed_answer():
    from arena.suites.results import Change

    before, after = _cell("greet", "m1", text="hello there"), _cell("greet", "m1", text="hello <i>spider</i>")
    html = report.changes_table([Change("greet", "m1", 0, before, after, ["a different answer"])], lambda r: None)
    assert "text diff, run A → run B" in html and "<ins>&lt;i&gt;spider&lt;/i&gt;</ins>" in html
    assert "<del>there</del>" in html and "<i>" not in html


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
