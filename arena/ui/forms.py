"""Forms that own their fields and read them into the library's values: the Parameters panel into
GenerationParams, the gallery's filters into a store Filter.

Events take a form's fields as a set (Gradio then hands the handler one dict, component → value), so a handler
reads the whole form in one call instead of taking a positional parameter per field.
"""

from __future__ import annotations

import gradio as gr

from arena.inputs import DATE_EXAMPLE, parse_day
from arena.request import GenerationParams
from arena.store import Filter

SIZES = ["model default", "256×256", "512×512", "768×768", "1024×1024"]


class ParamsForm:
    """The Parameters panel's fields. Text boxes, not number fields: a blank box is the model's own default and
    sends nothing (an empty gr.Number shows and sends 0 in the browser).

    ``id_prefix`` names the fields' elem_ids (``arena-seed``, ``battle-seed``…); ``hints`` replaces a field's
    placeholder (the size list shows its hint as info)."""

    HINTS = {"max_tokens": "model default", "temperature": "model default, e.g. 0.7", "seed": "random for images",
             "steps": "model default", "guidance": "model default"}

    def __init__(self, id_prefix: str = "arena", hints: dict[str, str] | None = None):
        self.id_prefix = id_prefix
        self.hints = {**self.HINTS, **(hints or {})}

    def build(self) -> None:
        with gr.Row():
            self.max_tokens = self._box("max_tokens", "Max tokens (text)")
            self.temperature = self._box("temperature", "Temperature (text)")
            self.seed = self._box("seed", "Seed")
        with gr.Row():
            self.steps = self._box("steps", "Steps (images)")
            self.guidance = self._box("guidance", "Guidance (images)")
            self.size = gr.Dropdown(label="Size (images)", choices=SIZES, value=SIZES[0], allow_custom_value=True,
                                    info=self.hints.get("size"), elem_id=f"{self.id_prefix}-size")
        self.fields: dict[str, gr.components.Component] = {
            "max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed,
            "steps": self.steps, "guidance": self.guidance, "size": self.size,
        }

    def _box(self, name: str, label: str) -> gr.Textbox:
        return gr.Textbox(label=label, placeholder=self.hints[name], value="", max_lines=1,
                          elem_id=f"{self.id_prefix}-{name.replace('_', '-')}", elem_classes=["arena-param"])

    @property
    def components(self) -> set:
        return set(self.fields.values())

    def read(self, values: dict) -> GenerationParams:
        """The fields' values (an event's dict) as GenerationParams: a blank field is the model's default; a bad
        one raises InputError naming it."""
        return GenerationParams.from_form({name: values.get(box) for name, box in self.fields.items()})


class FilterForm:
    """The gallery's filters: models, kind, words, favourites, and under "More filters" dates and a suite run."""

    def build(self) -> None:
        with gr.Row(equal_height=True):
            self.models = gr.Dropdown(label="Models", multiselect=True, choices=[], scale=2, elem_id="gallery-models")
            self.kind = gr.Radio(label="Kind", choices=["all", "text", "image"], value="all", scale=1, min_width=300)
            self.words = gr.Textbox(label="Words in the prompt", scale=2, elem_id="gallery-words")
            self.favourites = gr.Checkbox(label="Favourites only", scale=1, elem_id="gallery-favourites")
        with gr.Accordion("More filters: dates, suite run", open=False, elem_id="gallery-more-filters"):
            with gr.Row(equal_height=True):
                self.since = gr.Textbox(label="From (YYYY-MM-DD)", scale=1, placeholder=f"e.g. {DATE_EXAMPLE}")
                self.until = gr.Textbox(label="To (YYYY-MM-DD)", scale=1)
                self.run = gr.Textbox(label="Suite run (its id)", scale=2)

    @property
    def components(self) -> set:
        return {self.models, self.kind, self.words, self.favourites, self.since, self.until, self.run}

    def read(self, values: dict) -> Filter:
        """The filters' values (an event's dict) as a store Filter; a date that is not one raises InputError."""
        kind = values.get(self.kind)
        return Filter(models=list(values.get(self.models) or []), output=None if kind in (None, "all") else kind,
                      words=values.get(self.words) or "", since=parse_day(values.get(self.since)),
                      until=parse_day(values.get(self.until), end_of_day=True),
                      favourites=bool(values.get(self.favourites)),
                      run_id=(values.get(self.run) or "").strip() or None)

