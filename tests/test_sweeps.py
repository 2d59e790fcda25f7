"""Sweeps (X/Y/Z grid): planning and validation, a real run on offline models, the grid PNG and HTML, the CLI."""

from __future__ import annotations

import pytest
import yaml
from PIL import Image, ImageStat

from arena.cli import main
from arena.errors import InputError
from arena.pane import PaneSnapshot
from arena.request import GenerationParams, Request
from arena.settings import Settings
from arena.store import Filter, Store
from arena.store.pictures import read_record
from arena.sweep_grid import CELL, block_image, caption, grid_html, grid_image, layout
from arena.sweeps import MAX_CELLS, SweepRun, make_axis, parse_axis, plan
from tests.conftest import OFFLINE_ENTRIES, make_engine

SD, PIXTRAL = OFFLINE_ENTRIES[2], OFFLINE_ENTRIES[0]
SD_B = dict(SD, name="offline-sd-b", params={"steps": 2, "guidance": 0.0, "width": 64, "height": 64})
PROMPT = "a charming spider at work"


@pytest.fixture
def engine(tmp_path):
    engine = make_engine([PIXTRAL, SD, SD_B])
    engine.store = Store(Settings.from_env().data_dir)
    yield engine
    engine.close()


def seeds_by_steps(engine, models):
    axes = [parse_axis("seed=1,2", PROMPT), parse_axis("steps=1,2", PROMPT)]
    return plan(engine, Request(PROMPT), models, axes)


def fake(model: str, text: str = "", status: str = "done", seed=None, images=()) -> PaneSnapshot:
    return PaneSnapshot(0, model, "transformers", "", "image" if images else "text", status, "", text, list(images),
                        [], None, {"seed": seed} if seed is not None else {}, None, 1.0, None, None, 0, 0, None,
                        settled=True)


# --- a real sweep -------------------------------------------------------------------------------------------


def test_two_seeds_by_two_step_counts_by_two_generators_gives_eight_outputs_in_grid_gallery_and_png(engine):
    sweep = seeds_by_steps(engine, ["offline-sd", "offline-sd-b"])
    assert len(sweep.cells) == len(sweep.jobs) == 8
    run = SweepRun(engine, sweep)
    outputs = run.wait()
    assert [o.status for o in outputs] == ["done"] * 8

    records = engine.store.all(Filter(comparison_id=run.comparison_id))
    assert len(records) == 8  # every output kept, found together under the sweep's one comparison
    asked = sorted((r.model, r.params["seed"], r.params["steps"]) for r in records)
    assert asked == sorted((m, seed, steps) for m in ("offline-sd", "offline-sd-b") for seed in (1, 2)
                           for steps in (1, 2))
    assert all(r.used["seed"] == r.params["seed"] and r.used["num_inference_steps"] == r.params["steps"]
               for r in records)

    png = grid_image(sweep, outputs)
    shape = layout(sweep)
    assert png.size == (shape.width, shape.height)
    assert len(shape.boxes) == 8 and len(shape.rows) == 4  # 2 step counts × 2 models, one per row
    assert len({left for left, _ in shape.boxes.values()}) == 2  # a column per seed
    for index, (left, top) in shape.boxes.items():
        picture = png.crop((left, top, left + CELL, top + CELL))
        assert max(ImageStat.Stat(picture).stddev) > 10, f"cell {index} is blank"
    assert {caption(sweep, c, outputs[c.run]) for c in sweep.cells} == {"seed 1", "seed 2"}
    html = grid_html(sweep, outputs, run.comparison_id)
    assert html.count("<img ") == 8 and html.count("<tr>") == 1 + 4
    assert run.comparison_id in html


def test_a_text_model_runs_once_where_only_steps_change_and_its_cells_say_n_a(engine):
    sweep = seeds_by_steps(engine, ["offline-sd", "offline-pixtral"])
    assert len(sweep.cells) == 8 and len(sweep.jobs) == 6
    text_cells = [c for c in sweep.cells if c.model == "offline-pixtral"]
    assert all(c.na == ("steps",) for c in text_cells)
    assert len({c.run for c in text_cells}) == 2  # one run per seed, shown in both step rows
    run = SweepRun(engine, sweep)
    outputs = run.wait()
    records = engine.store.all(Filter(comparison_id=run.comparison_id))
    assert len(records) == 6
    assert all("steps" not in r.params for r in records if r.model == "offline-pixtral")
    assert caption(sweep, text_cells[0], outputs[text_cells[0].run]) == "seed 1 · steps n/a"
    png = grid_image(sweep, outputs)
    for left, top in layout(sweep).boxes.values():
        assert max(ImageStat.Stat(png.crop((left, top, left + CELL, top + CELL))).stddev) > 10


def test_the_cli_writes_every_cell_and_the_grid(tmp_path, capsys):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"models": [PIXTRAL, SD]}))
    out = tmp_path / "out"
    code = main(["--catalog", str(catalog), "compare", PROMPT, "--models", "offline-sd,offline-pixtral",
                 "--sweep", "seed=1,2", "--sweep", "steps=1,2", "--out", str(out)])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["grid.html", "grid.png", "offline-pixtral_seed-1.md", "offline-pixtral_seed-2.md",
                            *[f"offline-sd_seed-{s}_steps-{n}.png" for s in (1, 2) for n in (1, 2)]])
    with Image.open(out / "grid.png") as png:
        assert png.width >= 2 * CELL and png.height >= 4 * CELL
    assert read_record(out / "offline-sd_seed-2_steps-1.png")["used"]["seed"] == 2  # each picture with its record
    printed = capsys.readouterr().out
    assert "kept in the gallery as comparison" in printed
    comparison = printed.rsplit("comparison ", 1)[1].strip()
    store = Store(Settings.from_env().data_dir)
    assert len(store.all(Filter(comparison_id=comparison))) == 6


def test_the_cli_says_a_bad_sweep_in_a_sentence(tmp_path, capsys):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"models": [SD]}))
    code = main(["--catalog", str(catalog), "compare", PROMPT, "--models", "offline-sd", "--sweep", "colour=red"])
    assert code == 2
    assert "Unknown sweep axis “colour”" in capsys.readouterr().err


# --- planning and validation (no model runs) --------------------------------------------------------------


@pytest.fixture
def planner():
    engine = make_engine([PIXTRAL, SD, SD_B])
    yield engine
    engine.close()


@pytest.mark.parametrize(("text", "message"), [
    ("colour=1,2", "Unknown sweep axis “colour”: use one of seed, steps"),
    ("seed 1,2", "A sweep looks like seed=1,2,3"),
    ("seed=", "The seed axis has no values"),
    ("seed=1,x", "The seed axis: “x” is not a whole number."),
    ("steps=0,4", "The steps axis: steps 0 is out of range (steps must be at least 1)."),
    ("guidance=1,lots", "The guidance axis: “lots” is not a number."),
    ("temperature=0.5,9", "The temperature axis: temperature 9 is out of range (temperature must be at most 2)."),
    ("size=512x512,big", "“big” is not width×height in pixels"),
    ("size=8x8", "The size axis: 8×8 is out of range"),
    ("seed=5-1", "The seed range “5-1” must go up"),
    ("seed=1-1000", "has 1000 values; an axis takes at most 32"),
    ("seed=9-2", "must go up, e.g. 9-12"),
    ("prompt_sr=dragon,cat", "Prompt S/R: “dragon” is not in the prompt"),
    ("prompt_sr=spider", "Prompt S/R needs the words to find, then what replaces them"),
])
def test_a_bad_axis_is_one_clear_sentence(text, message):
    with pytest.raises(InputError, match=None) as error:
        parse_axis(text, PROMPT)
    assert message in str(error.value)


def test_a_sweep_checks_its_shape_before_any_model_runs(planner):
    base = Request(PROMPT)
    seeds = make_axis("seed", "1-8")
    with pytest.raises(InputError, match="A sweep needs at least one axis"):
        plan(planner, base, ["offline-sd"], [])
    with pytest.raises(InputError, match="The seed axis is given twice"):
        plan(planner, base, ["offline-sd"], [seeds, make_axis("seed", "3")])
    with pytest.raises(InputError, match="at most 3"):
        plan(planner, base, ["offline-sd"], [seeds, make_axis("steps", "1"), make_axis("guidance", "0"),
                                             make_axis("size", "64")])
    with pytest.raises(InputError, match=f"This sweep has 96 cells .*; at most {MAX_CELLS}. Use fewer"):
        plan(planner, base, ["offline-sd", "offline-sd-b", "offline-pixtral"], [seeds, make_axis("steps", "1-4")])
    with pytest.raises(InputError, match="None of the chosen models takes temperature: text models"):
        plan(planner, base, ["offline-sd"], [make_axis("temperature", "0, 1")])
    with pytest.raises(InputError, match="Pick at least one model"):
        plan(planner, base, [], [seeds])
    with pytest.raises(InputError, match="both change the prompt"):
        plan(planner, base, ["offline-sd"], [make_axis("prompt", "a, b"), make_axis("prompt_sr", "spider, cat",
                                                                                    PROMPT)])


def test_prompt_axes_and_values_as_people_type_them(planner):
    assert make_axis("seed", "1-3, 7").values == (1, 2, 3, 7)
    assert make_axis("Max tokens", "50,200").values == (50, 200)
    assert make_axis("size", "256x256, 512×384, 128").values == ((256, 256), (512, 384), (128, 128))
    assert make_axis("prompt", '"a cat, sleeping", a dog').values == ("a cat, sleeping", "a dog")
    assert make_axis("prompt", "a cat, sleeping\na dog").values == ("a cat, sleeping", "a dog")
    swap = make_axis("prompt_sr", "spider, cat, dog", PROMPT)
    sweep = plan(planner, Request(PROMPT, params=GenerationParams(seed=5)), ["offline-sd"], [swap])
    assert [job.request.prompt for job in sweep.jobs] == [PROMPT, "a charming cat at work", "a charming dog at work"]
    assert all(job.request.params.seed == 5 for job in sweep.jobs)  # the Compare view's fields still apply
    assert [a.labels for a in sweep.axes] == [["“spider”", "“cat”", "“dog”"]]
    assert sweep.file_stem(1) == "offline-sd_prompt_sr-2"
    alternatives = plan(planner, Request(""), ["offline-pixtral"], [make_axis("prompt", "a cat\na dog")])
    assert [job.request.prompt for job in alternatives.jobs] == ["a cat", "a dog"]


def test_a_third_axis_makes_one_labelled_block_per_value(planner):
    axes = [make_axis("seed", "1,2"), make_axis("steps", "1,2,3"), make_axis("guidance", "0, 7.5")]
    sweep = plan(planner, Request(PROMPT), ["offline-sd"], axes)
    assert len(sweep.cells) == 12
    outputs = [fake("offline-sd", images=[Image.new("RGB", (64, 64), (200, 30, 30))], seed=1)
               for _ in sweep.jobs]
    shape = layout(sweep)
    assert len(shape.blocks) == 2 and shape.rows == [(0, "offline-sd"), (1, "offline-sd"), (2, "offline-sd")]
    whole = grid_image(sweep, outputs)
    top, bottom = shape.blocks[1]
    assert block_image(sweep, outputs, 1).size == (whole.width, bottom - top)
    html = grid_html(sweep, outputs)
    assert html.count("<table>") == 2 and "<h2>guidance 7.5</h2>" in html and "<h2>guidance 0</h2>" in html


def test_model_text_in_the_html_grid_cannot_run_or_load_anything(planner):
    sweep = plan(planner, Request(PROMPT), ["offline-pixtral"], [make_axis("seed", "1")])
    evil = fake("offline-pixtral", '<script>alert(1)</script><img src=x onerror=alert(2)> **bold**', seed=1)
    html = grid_html(sweep, [evil])
    assert "<script" not in html and "<img src=x" not in html  # shown as text, if at all
    assert "<strong>bold</strong>" in html or "**bold**" in html
    assert "default-src 'none'" in html


def test_a_cell_not_run_yet_is_drawn_as_such(planner):
    sweep = plan(planner, Request(PROMPT), ["offline-sd", "offline-pixtral"], [make_axis("seed", "1,2")])
    png = grid_image(sweep, [None] * len(sweep.jobs))
    assert png.size == (layout(sweep).width, layout(sweep).height)
    assert "not run" in grid_html(sweep, [None] * len(sweep.jobs))


def test_stop_ends_the_running_batch_and_leaves_the_rest_unrun(loopback, keys):
    from tests.conftest import openai_entry

    engine = make_engine([openai_entry(loopback, "loopback-slow", model="drip300")])
    try:
        sweep = plan(engine, Request(PROMPT), ["loopback-slow"], [make_axis("seed", "1-13")])
        assert len(sweep.jobs) == 13  # two batches: twelve at once, then one
        run = SweepRun(engine, sweep, save=False)
        for changed in run.updates():
            if any(run.outputs[i] is not None and run.outputs[i].text for i in changed):
                run.cancel()
        assert run.finished and run.outputs[12] is None
        assert {o.status for o in run.outputs[:12]} == {"cancelled"}
        assert caption(sweep, sweep.cells[0], run.outputs[0]).endswith("stopped")
        assert "not run yet" in grid_html(sweep, run.outputs)
    finally:
        engine.close()
