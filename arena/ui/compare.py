"""The compare view: prompt, optional image, models, parameters; one pane per model, filled as they stream.

Layout and wiring only: every handler calls the engine and renders what it returns.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image, UnidentifiedImageError

from arena import images
from arena.engine import MAX_MODELS, Comparison, Engine
from arena.errors import InputError
from arena.pane import PaneSnapshot
from arena.request import GenerationParams, Request
from arena.results import pane_dict
from arena.ui import panes as look
from arena.ui.words import session_of

ASSETS = Path(__file__).resolve().parents[2] / "assets"

EXAMPLES = [
    ("a charming spider at work", None),
    ("Describe this picture in a few sentences.", "scene.png"),
    ("What word is written in this image?", "captcha.png"),
    ("Write the HTML for the website in this sketch.", "website-sketch.png"),
]


def image_upload(**options) -> gr.Image:
    """A gr.Image whose unreadable uploads become a clear message instead of a bare "Error".

    The instance's preprocess is wrapped rather than subclassed: Gradio writes a .pyi file beside the
    source of every Component subclass it sees.
    """
    component = gr.Image(**options)
    preprocess = component.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return UnreadableUpload()

    component.preprocess = checked
    return component


class UnreadableUpload:
    """Stands in for an upload Gradio itself could not open, so the handler can say so in plain words."""


@dataclass
class PaneSlot:
    column: gr.Column
    header: gr.HTML
    image: gr.Image
    text: gr.Markdown
    footer: gr.HTML


class CompareView:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._running: dict[str, Comparison] = {}
        self._running_lock = threading.Lock()

    # --- layout ----------------------------------------------------------------------------------------------

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.prompt = gr.Textbox(
                    label="Prompt", lines=3, max_lines=12, placeholder="a charming spider at work",
                    elem_id="arena-prompt",
                )
                with gr.Row():
                    self.run_button = gr.Button("Run", variant="primary", elem_id="arena-run")
                    self.stop_button = gr.Button("Stop", variant="stop", elem_id="arena-stop")
            with gr.Column(scale=1, min_width=220):
                self.image = image_upload(
                    label="Image (optional)", type="filepath", sources=["upload", "clipboard"], height=190,
                    elem_id="arena-image",
                )
        choices, unavailable = self._model_lists()
        self.models = gr.CheckboxGroup(
            label="Models", choices=choices, value=self._default_models(), elem_id="arena-models",
        )
        self.unavailable = gr.Markdown(unavailable, elem_id="arena-unavailable")
        with gr.Accordion("Parameters", open=False):
            with gr.Row():
                self.max_tokens = gr.Number(label="Max tokens (text)", value=None, precision=0, minimum=1)
                self.temperature = gr.Number(label="Temperature (text)", value=None, minimum=0, maximum=2, step=0.05)
                self.seed = gr.Number(label="Seed (empty: random for images)", value=None, precision=0, minimum=0)
            with gr.Row():
                self.steps = gr.Number(label="Steps (images)", value=None, precision=0, minimum=1, maximum=200)
                self.guidance = gr.Number(label="Guidance (images)", value=None, minimum=0, maximum=30)
                self.size = gr.Dropdown(
                    label="Size (images)", choices=["model default", "256×256", "512×512", "768×768", "1024×1024"],
                    value="model default",
                )
            self.save = gr.Checkbox(label="Keep the outputs in the gallery", value=self.engine.settings.save_outputs,
                                    elem_id="arena-save")
            gr.Markdown("Empty fields use each model's own defaults from the catalog.")
        self.message = gr.Markdown(elem_id="arena-message")
        self.slots: list[PaneSlot] = []
        with gr.Row(equal_height=False, elem_id="arena-panes"):
            for index in range(MAX_MODELS):
                with gr.Column(
                    visible=False, min_width=300, elem_classes=["arena-pane"], elem_id=f"arena-pane-{index}"
                ) as column:
                    header = gr.HTML()
                    image = gr.Image(
                        type="pil", format="png", show_label=False, interactive=False, visible=False, height=320,
                        buttons=["download", "fullscreen"],
                    )
                    text = gr.Markdown(elem_classes=["arena-text"], sanitize_html=True, buttons=["copy"])
                    footer = gr.HTML()
                self.slots.append(PaneSlot(column, header, image, text, footer))
        gr.Examples(
            examples=[[prompt, str(ASSETS / name) if name else None] for prompt, name in EXAMPLES],
            inputs=[self.prompt, self.image], label="Examples",
        )
        with gr.Accordion("Catalog", open=False):
            self.catalog_table = gr.Markdown(self._catalog_markdown())
            self.refresh_button = gr.Button("Check availability again", size="sm")
        self._build_api()
        self._wire()

    def _build_api(self) -> None:
        """Hidden inputs and output behind the documented /compare endpoint."""
        with gr.Group(visible=False):
            self.api_prompt = gr.Textbox(label="prompt")
            self.api_models = gr.JSON(label="models")
            self.api_image = gr.File(label="image", type="filepath")
            self.api_params = gr.JSON(label="params")
            self.api_result = gr.JSON(label="result")
            self.api_trigger = gr.Button()

    def _wire(self) -> None:
        pane_outputs = [c for s in self.slots for c in (s.column, s.header, s.image, s.text, s.footer)]
        inputs = [self.prompt, self.image, self.models, self.max_tokens, self.temperature, self.seed,
                  self.steps, self.guidance, self.size, self.save]
        run = dict(fn=self.run, inputs=inputs, outputs=[self.message, *pane_outputs], show_progress="hidden",
                   concurrency_limit=8, concurrency_id="compare", api_visibility="private")
        self.run_button.click(**run)
        self.prompt.submit(**run)
        self.stop_button.click(self.stop, inputs=None, outputs=None, queue=False, api_visibility="private")
        self.refresh_button.click(
            self.refresh, outputs=[self.models, self.unavailable, self.catalog_table], api_visibility="private"
        )
        self.api_trigger.click(
            self.compare_api,
            inputs=[self.api_prompt, self.api_models, self.api_image, self.api_params],
            outputs=[self.api_result],
            api_name="compare",
            api_description=(
                "Send one prompt (and optionally one image) to several models at once. Yields the panes as they "
                "stream; the last value holds every model's final text, images (PNG data URLs), error, "
                "and metrics."
            ),
            concurrency_limit=8,
            concurrency_id="compare",
        )

    # --- handlers --------------------------------------------------------------------------------------------

    def run(self, prompt, image_path, models, max_tokens, temperature, seed, steps, guidance, size, save,
            request: gr.Request):
        width = height = None
        if size and "×" in size:
            width, height = (int(v) for v in size.split("×"))
        try:
            params = GenerationParams.parse(dict(
                max_tokens=_int(max_tokens), temperature=temperature, seed=_int(seed), steps=_int(steps),
                guidance=guidance, width=width, height=height,
            ))
            comparison = self._start(prompt, image_path, models or [], params, save=bool(save))
        except InputError as error:
            gr.Warning(str(error), title="Cannot run")
            yield {self.message: f"**Cannot run:** {error}",
                   **{slot.column: gr.Column(visible=False) for slot in self.slots}}
            return
        session = session_of(request)
        with self._running_lock:
            self._running[session] = comparison
        shown_images = [0] * len(comparison.panes)
        try:
            yield {self.message: "", **self._layout(comparison)}
            for changed in comparison.updates():
                yield self._render(comparison, changed, shown_images)
            yield {self.message: _summary(comparison.snapshots()),
                   **self._render(comparison, set(range(len(comparison.panes))), shown_images)}
        finally:
            comparison.cancel()
            with self._running_lock:
                if self._running.get(session) is comparison:
                    del self._running[session]

    def stop(self, request: gr.Request) -> None:
        with self._running_lock:
            comparison = self._running.get(session_of(request))
        if comparison is not None:
            comparison.cancel()

    def refresh(self):
        self.engine.availability.forget()
        return self.availability()

    def availability(self):
        """Model choices, the unavailable list and the catalog table, as the checks see them now."""
        choices, unavailable = self._model_lists()
        return gr.CheckboxGroup(choices=choices), unavailable, self._catalog_markdown()

    def compare_api(self, prompt: str, models, image: str | None = None, params=None):
        """Yield {"panes": [...]} snapshots as models stream; the last one is final."""
        try:
            if isinstance(models, str):
                models = [m for m in models.split(",")] if "[" not in models else json.loads(models)
            if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
                raise InputError('models must be a list of model names, e.g. ["offline-pixtral", "offline-sd"]')
            if params is not None and not isinstance(params, dict):
                raise InputError('params must be an object, e.g. {"seed": 7, "max_tokens": 200}')
            comparison = self._start(prompt or "", image, models, GenerationParams.parse(params))
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        try:
            yield _api_result(comparison, with_images=False)
            for _ in comparison.updates():
                yield _api_result(comparison, with_images=False)
            yield _api_result(comparison, with_images=True)
        finally:
            comparison.cancel()

    # --- helpers ---------------------------------------------------------------------------------------------

    def _start(self, prompt: str, image_path, models: list[str], params: GenerationParams, save: bool = True):
        settings = self.engine.settings
        image = None
        if isinstance(image_path, UnreadableUpload):
            raise InputError("The uploaded file is not an image Arena can read (PNG, JPEG, WebP, GIF, BMP…).")
        if image_path:
            image = images.load_image(image_path, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)
        return self.engine.start(Request(prompt=prompt or "", image=image, params=params), models, save=save)

    def _layout(self, comparison: Comparison) -> dict:
        updates = {}
        snapshots = comparison.snapshots()
        for index, slot in enumerate(self.slots):
            if index < len(snapshots):
                pane = snapshots[index]
                updates[slot.column] = gr.Column(visible=True)
                updates[slot.header] = look.header_html(pane)
                updates[slot.image] = gr.Image(value=None, visible=pane.output == "image")
                updates[slot.text] = look.body_markdown(pane)
                updates[slot.footer] = look.footer_html(pane)
            else:
                updates[slot.column] = gr.Column(visible=False)
        return updates

    def _render(self, comparison: Comparison, changed: set[int], shown_images: list[int]) -> dict:
        updates = {}
        for index in sorted(changed):
            pane = comparison.panes[index].snapshot()
            slot = self.slots[index]
            updates[slot.header] = look.header_html(pane)
            updates[slot.text] = look.body_markdown(pane)
            updates[slot.footer] = look.footer_html(pane)
            if len(pane.images) != shown_images[index]:
                shown_images[index] = len(pane.images)
                updates[slot.image] = gr.Image(value=pane.images[-1], visible=True)
        return updates

    def _model_lists(self) -> tuple[list[tuple[str, str]], str]:
        """The models that can run now, as checkbox choices; the others, grouped by why not, as Markdown."""
        entries = list(self.engine.catalog)
        availability = self.engine.availability.check_all(entries)
        choices = [(f"{e.name} · {e.kind_label}", e.name) for e in entries if availability[e.name].ok]
        by_reason: dict[str, list[str]] = {}
        for entry in entries:
            if not availability[entry.name].ok:
                by_reason.setdefault(availability[entry.name].reason, []).append(entry.name)
        if not by_reason:
            return choices, ""
        lines = [f"- {', '.join(f'`{_cell(n)}`' for n in names)}: {_cell(reason)}"
                 for reason, names in by_reason.items()]
        return choices, "<small>**Unavailable now** (see Catalog below):</small>\n\n" + "\n".join(lines)

    def _default_models(self) -> list[str]:
        return [e.name for e in self.engine.catalog if e.is_offline_model][:MAX_MODELS]

    def _catalog_markdown(self) -> str:
        entries = list(self.engine.catalog)
        availability = self.engine.availability.check_all(entries)
        rows = ["| model | kind | id | image in | status |", "|---|---|---|---|---|"]
        for entry in entries:
            state = availability[entry.name]
            status = ("available" if state.ok else "**unavailable**") + (f": {state.reason}" if state.reason else "")
            rows.append(
                f"| {_cell(entry.name)} | {_cell(entry.kind_label)} | `{_cell(entry.model)}` | "
                f"{'yes' if entry.image_input else 'no'} | {_cell(status)} |"
            )
        return f"Catalog: `{_cell(self.engine.catalog.source)}`\n\n" + "\n".join(rows)


def _api_result(comparison: Comparison, with_images: bool) -> dict:
    return {
        "finished": comparison.finished,
        "panes": [pane_dict(p, with_images=with_images) for p in comparison.snapshots()],
    }


def _summary(snapshots: list[PaneSnapshot]) -> str:
    counts: dict[str, int] = {}
    for pane in snapshots:
        counts[pane.status] = counts.get(pane.status, 0) + 1
    words = {"done": "done", "error": "failed", "cancelled": "stopped"}
    return "Finished: " + ", ".join(f"{n} {words.get(s, s)}" for s, n in counts.items()) + "."



def _int(value) -> int | None:
    return None if value is None or value == "" else int(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
