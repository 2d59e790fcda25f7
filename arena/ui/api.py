"""The documented API: /compare (streamed), /describe_draw and /critique, beside the Compare view.

Each endpoint is a hidden button's event: its image is an api_file (uploads only, a path or URL on the server is
refused in words). gr.api() would take the image as a bare FileData, which Gradio moves into its cache before
the handler runs, fetching an http(s) URL from the server itself.
"""

from __future__ import annotations

import gradio as gr

from arena.chains import DescribeThenDraw, critique_jobs, critique_prompt, parse_score
from arena.engine import Comparison, Engine
from arena.errors import InputError
from arena.pane_export import pane_dict
from arena.request import Request
from arena.ui.api_files import api_file
from arena.ui.compare_inputs import api_params, model_names, read_image
from arena.ui.words import user_of

ENDPOINT = dict(concurrency_limit=8, concurrency_id="compare")  # one pool with the Compare view's runs


class ApiEndpoints:
    def __init__(self, engine: Engine):
        self.engine = engine

    def build(self) -> None:
        with gr.Group(visible=False):
            prompt = gr.Textbox(label="prompt")
            models = gr.JSON(label="models")
            image = api_file(label="image")
            params = gr.JSON(label="params")
            describe = gr.JSON(label="describe")
            draw = gr.JSON(label="draw")
            result = gr.JSON(label="result")
            compare_trigger, describe_trigger, critique_trigger = gr.Button(), gr.Button(), gr.Button()
        compare_trigger.click(
            self.compare, inputs=[prompt, models, image, params], outputs=[result], api_name="compare",
            api_description=("Send one prompt (and optionally one image) to several models at once. Yields the panes "
                             "as they stream; the last value holds every model's final text, images (PNG data "
                             "URLs), error, and metrics."),
            **ENDPOINT)
        describe_trigger.click(
            self.describe_draw, inputs=[prompt, describe, draw, image, params], outputs=[result],
            api_name="describe_draw",
            api_description=("Describe, then draw: each text model in `describe` describes the picture of `prompt`; "
                             "each generator in `draw` draws each description. Returns the descriptions and the "
                             "pictures (PNG data URLs), each picture naming the description it was drawn from."),
            **ENDPOINT)
        critique_trigger.click(
            self.critique, inputs=[image, models, prompt], outputs=[result], api_name="critique",
            api_description=("Critique a picture: each vision-language model in `models` gets the image and a "
                             "critique prompt (default: does it match its prompt, 1 to 10); returns each critique "
                             "with the score parsed from it, when it gives one."),
            **ENDPOINT)

    def compare(self, prompt: str, models, image: str | None = None, params=None, request: gr.Request = None):
        """Yield {"panes": [...]} snapshots as models stream; the last one is final."""
        try:
            names, asked = model_names(models, "models"), api_params(params)
            engine = self.engine.signed_in(user_of(request))
            comparison = engine.start(Request(prompt or "", read_image(image, self.engine.settings), asked), names)
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        try:
            yield _result(comparison, with_images=False)
            for _ in comparison.updates():
                yield _result(comparison, with_images=False)
            yield _result(comparison, with_images=True)
        finally:
            comparison.cancel()

    def describe_draw(self, prompt: str, describe, draw, image: str | None = None, params=None,
                      request: gr.Request = None) -> dict:
        """Both steps of a describe → draw chain; every picture names the description it was drawn from."""
        try:
            chain = DescribeThenDraw(self.engine.signed_in(user_of(request)), prompt or "",
                                     model_names(describe, "describe"), model_names(draw, "draw"),
                                     image=read_image(image, self.engine.settings), params=api_params(params))
            steps = chain.run()
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        descriptions = steps[0].snapshots()
        pictures = []
        if len(steps) > 1:
            for source, job, pane in zip(chain.drawn_from, steps[1].jobs, steps[1].snapshots(), strict=True):
                pictures.append(pane_dict(pane) | {"output_id": pane.record_id, "description_from": source,
                                                   "parent_id": job.lineage.parent_id})
        return {"descriptions": [pane_dict(p) | {"output_id": p.record_id} for p in descriptions],
                "pictures": pictures}

    def critique(self, image: str | None, models, prompt: str | None = None, request: gr.Request = None) -> dict:
        """Each vision-language model critiques the picture; the score is parsed from each answer."""
        try:
            picture = read_image(image, self.engine.settings)
            if picture is None:
                raise InputError("Send the picture to critique.")
            jobs = critique_jobs(self.engine, picture, critique_prompt(prompt, None), model_names(models, "critique"))
            critiques = self.engine.signed_in(user_of(request)).start_each(jobs).wait()
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        return {"critiques": [pane_dict(p) | {"score": parse_score(p.text), "output_id": p.record_id}
                              for p in critiques]}


def _result(comparison: Comparison, with_images: bool) -> dict:
    return {
        "finished": comparison.finished,
        "panes": [pane_dict(p, with_images=with_images) for p in comparison.snapshots()],
    }
