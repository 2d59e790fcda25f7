"""The forms that read their own fields: the Compare view's Parameters into GenerationParams, the gallery's
filters into a store Filter; and events that hand a handler the whole form as one dict."""

from __future__ import annotations

from datetime import datetime, timezone

import gradio as gr
import pytest

from arena.errors import InputError
from arena.request import GenerationParams
from arena.store import Filter
from arena.ui.forms import FilterForm, ParamsForm
from arena.ui.words import md


def built(form):
    with gr.Blocks() as blocks:
        form.build()
    return form, blocks


def typed(form: ParamsForm, **values) -> dict:
    """The Parameters fields as the page sends them: these typed, the others blank, the size list untouched."""
    return {box: values.get(name, "model default" if name == "size" else "") for name, box in form.fields.items()}


# --- the Parameters form --------------------------------------------------------------------------------------

def test_the_parameters_form_owns_text_boxes_and_the_size_list():
    form, _ = built(ParamsForm())
    assert list(form.fields) == ["max_tokens", "temperature", "seed", "steps", "guidance", "size"]
    assert all(isinstance(form.fields[name], gr.Textbox) and form.fields[name].value == ""
               for name in list(form.fields)[:5])  # not gr.Number: an empty number field sends 0
    assert form.size.value == "model default" and form.components == set(form.fields.values())


def test_blank_parameter_fields_stay_unset_and_typed_ones_are_parsed():
    form, _ = built(ParamsForm())
    assert form.read(typed(form)) == GenerationParams()
    assert form.read({}) == GenerationParams()  # fields the event did not send are blank too
    assert form.read({box: None for box in form.components}) == GenerationParams()
    values = typed(form, max_tokens=" 200 ", temperature="0.3", seed="7", steps="4", guidance="1.5", size="512×512")
    assert form.read(values) == GenerationParams(max_tokens=200, temperature=0.3, seed=7, steps=4, guidance=1.5,
                                                 width=512, height=512)
    assert form.read(typed(form, seed="0")).seed == 0  # a typed 0 is a value, not "empty"
    assert form.read(typed(form, size="640x480")).width == 640


@pytest.mark.parametrize("field, value, says", [
    ("max_tokens", "0", "Max tokens must be at least 1"),
    ("max_tokens", "many", "Max tokens must be a whole number"),
    ("temperature", "3", "Temperature must be at most 2"),
    ("seed", "1.5", "Seed must be a whole number"),
    ("guidance", "strong", "Guidance must be a number"),
    ("steps", "500", "Steps must be at most 200"),
    ("seed", "99999999999", "Seed must be at most 4294967295"),
    ("temperature", "nan", "Temperature must be a number (not infinity or NaN)"),
    ("guidance", "inf", "Guidance must be a number (not infinity or NaN)"),
    ("size", "huge", "Size must be width×height"),
])
def test_a_bad_parameter_names_its_field_in_a_sentence(field, value, says):
    form, _ = built(ParamsForm())
    with pytest.raises(InputError) as error:
        form.read(typed(form, **{field: value}))
    assert str(error.value).startswith(says) and f"“{value}”" in str(error.value)


# --- the gallery's filters ------------------------------------------------------------------------------------

def test_the_filter_form_reads_its_fields_into_a_store_filter():
    form, _ = built(FilterForm())
    assert form.read({}) == Filter()
    assert form.read({form.kind: "all", form.words: "", form.run: "  "}) == Filter()
    where = form.read({form.models: ["offline-sd"], form.kind: "image", form.words: "spider",
                       form.favourites: True, form.since: "2026-11-01", form.until: "2026-11-02",
                       form.run: " run-1 "})
    day = datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp()
    assert where == Filter(models=["offline-sd"], output="image", words="spider", favourites=True, since=day,
                           until=day + 2 * 86400, run_id="run-1")


def test_a_filter_date_that_is_not_one_is_refused_in_words():
    form, _ = built(FilterForm())
    with pytest.raises(InputError, match="dates look like 2026-11-01"):
        form.read({form.since: "yesterday"})


# --- an event hands the handler the whole form ----------------------------------------------------------------

def test_an_event_with_the_form_as_a_set_hands_one_dict_to_the_handler():
    form = ParamsForm()
    seen = []
    with gr.Blocks() as blocks:
        form.build()
        button = gr.Button()
        out = gr.Textbox()
        button.click(lambda values: seen.append(form.read(values)) or "", form.components, out)
    [dependency] = [fn for fn in blocks.fns.values() if fn.inputs]
    assert dependency.inputs_as_dict and set(dependency.inputs) == form.components
    dependency.fn(typed(form, seed="3"))
    assert seen == [GenerationParams(seed=3)]


def test_the_gallery_reads_its_filters_from_one_dict(loopback, keys, engine_factory, tmp_path):
    from arena.request import Request
    from arena.store import Store
    from arena.ui.gallery import GalleryView
    from tests.conftest import openai_entry

    engine = engine_factory([openai_entry(loopback, "echo", model="echo-gallery-form"),
                             openai_entry(loopback, "other", model="echo-gallery-other")])
    engine.store = Store(tmp_path / "data")
    for prompt in ("a spider at work", "a cat asleep"):
        engine.start(Request(prompt), ["echo", "other"]).wait()
    view = GalleryView(engine, engine.store)
    with gr.Blocks():
        view.build()
    form = view.filters
    assert view.page_inputs == {view.page, view.group, *form.components}
    shown = view.show_page({view.page: 1, form.words: "spider", form.models: ["echo"]}, 1)
    assert shown[view.page_info] == "1 output · page 1 of 1" and "a spider at work" in shown[view.grid]
    assert shown[form.models].constructor_args["value"] == ["echo"]
    grouped = view.show_current({view.page: 1, view.group: True})
    assert grouped[view.grid].count('class="ga-group"') == 2 and grouped[view.page_info].startswith("4 outputs")
    refused = view.show_page({view.page: 1, form.until: "tomorrow"}, 1)
    assert refused == {view.message: "**Cannot filter:** " + md("dates look like 2026-11-01, not 'tomorrow'")}


def test_the_parameters_form_names_its_fields_by_its_prefix_and_takes_its_own_hints():
    form, _ = built(ParamsForm("battle", hints={"seed": "random, the same for both generators",
                                                "size": "the same for both"}))
    assert [box.elem_id for box in form.fields.values()] == [
        "battle-max-tokens", "battle-temperature", "battle-seed", "battle-steps", "battle-guidance", "battle-size"]
    assert form.seed.placeholder == "random, the same for both generators" and form.size.info == "the same for both"
    compare, _ = built(ParamsForm())
    assert compare.seed.elem_id == "arena-seed" and compare.size.elem_id == "arena-size"
