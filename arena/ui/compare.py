"""The compare view: prompt, optional image, models, parameters; one pane per model, filled as they stream.

Layout and wiring only: every handler calls the engine and renders what it returns.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import gradio as gr
from PIL import Image, UnidentifiedImageError

from arena import images
from arena.chains import (
    CRITIQUE_PROMPT,
    DESCRIBE_PROMPT,
    DescribeThenDraw,
    critique_jobs,
    critique_prompt,
    draw_jobs,
    parse_score,
)
from arena.conversation import Conversation
from arena.engine import MAX_MODELS, Comparison, Engine
from arena.errors import InputError
from arena.images import InputImage
from arena.pane import PaneSnapshot
from arena.paths import ASSETS
from arena.render import markdown_html
from arena.request import GenerationParams, Request
from arena.results import pane_dict
from arena.ui import panes as look
from arena.ui.api_files import SERVER_PATH_REFUSED, ServerPath, api_file
from arena.ui.board import Board
from arena.ui.words import session_of

# Steady redraws: every pane that changed since the last frame, at most this often (one redraw per streamed chunk
# costs the app a core at 12 panes). Running panes' timers move at least every TICK_S.
FRAME_S = 0.12
TICK_S = 0.5

KEYS_HINT = "<small>**Enter** sends · **Shift+Enter** starts a new line</small>"
# Enter in the prompt box clicks Run, in the follow-up box Send; Shift+Enter is left to the browser (a new line).
# Listening in the capture phase keeps Gradio's own handler (Shift+Enter submits there) from seeing either.
KEYS_JS = """() => {
  if (window.arenaKeys) return;
  window.arenaKeys = true;
  const buttons = {"arena-prompt": "arena-run", "arena-follow-up": "arena-send"};
  const boxOf = (event) => event.key === "Enter" && event.target.tagName === "TEXTAREA" && event.target.closest
    && event.target.closest("#arena-prompt, #arena-follow-up");
  document.addEventListener("keydown", (event) => {
    const box = boxOf(event);
    if (!box || event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    event.stopPropagation();
    if (event.shiftKey) return;
    event.preventDefault();
    const button = document.getElementById(buttons[box.id]);
    if (button && !button.disabled) button.click();
  }, true);
  // Gradio's textbox submits on Shift+Enter at keypress: keep it from seeing it, so the new line goes in.
  document.addEventListener("keypress", (event) => { if (boxOf(event)) event.stopPropagation(); }, true);
}"""
SCROLL_TO_RESULTS_JS = """() => {
  const target = document.getElementById("arena-message");
  if (target) target.scrollIntoView({behavior: "smooth", block: "start"});
}"""
WIDEN_JS = """() => {
  const pane = document.getElementById("arena-pane-INDEX");
  const wide = pane.classList.toggle("arena-wide");
  const button = pane.querySelector(".arena-widen");
  if (button) button.textContent = wide ? "⤡ Narrow" : "⤢ Widen";
  pane.scrollIntoView({block: "nearest"});
}"""

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
    # image_mode=None: Gradio hands the uploaded file over as it came, undecoded (arena.images decodes it once,
    # within its limits); with a mode, Gradio itself decoded and converted every upload at full size.
    component = gr.Image(**{"image_mode": None, **options})
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
    text: gr.HTML
    footer: gr.HTML
    again: gr.Button
    clear: gr.Button
    chain: gr.Button
    widen: gr.Button


class CompareView:
    params_from = staticmethod(lambda *values: params_from(*values))

    def __init__(self, engine: Engine):
        self.engine = engine
        self._boards: dict[str, Board] = {}
        self._boards_lock = threading.Lock()
        self._sent: dict[str, dict] = {}  # per session: component id → the properties the page shows
        self._last: dict[str, dict] = {}  # per session: component id → the value the page shows (see _complete)

    # --- layout ----------------------------------------------------------------------------------------------

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.prompt = gr.Textbox(
                    label="Prompt", lines=3, max_lines=12, placeholder="e.g. a charming spider at work",
                    elem_id="arena-prompt",
                )
                with gr.Row():
                    self.run_button = gr.Button("Run", variant="primary", elem_id="arena-run")
                    # Each chosen text model describes the picture; each chosen generator draws each description.
                    self.describe_draw_button = gr.Button("Describe, then draw", elem_id="arena-describe-draw")
                    self.stop_button = gr.Button("Stop", variant="stop", interactive=False, elem_id="arena-stop")
                gr.Markdown(KEYS_HINT, elem_classes=["arena-hint"])
            with gr.Column(scale=1, min_width=220):
                self.image = image_upload(
                    label="Image (optional)", type="filepath", sources=["upload", "clipboard"], height=190,
                    elem_id="arena-image",
                )
                self.image_note = gr.Markdown(elem_id="arena-image-note", elem_classes=["arena-upload-note"])
        choices, unavailable = self._model_lists()
        self.models = gr.CheckboxGroup(
            label="Models", choices=choices, value=self._default_models(), elem_id="arena-models",
        )
        self.unavailable = gr.Markdown(unavailable, elem_id="arena-unavailable")
        with gr.Accordion("Parameters", open=False, elem_id="arena-params"):
            with gr.Row():
                self.max_tokens = _param_box("Max tokens (text)", "model default", "arena-max-tokens")
                self.temperature = _param_box("Temperature (text)", "model default, e.g. 0.7", "arena-temperature")
                self.seed = _param_box("Seed", "random for images", "arena-seed")
            with gr.Row():
                self.steps = _param_box("Steps (images)", "model default", "arena-steps")
                self.guidance = _param_box("Guidance (images)", "model default", "arena-guidance")
                self.size = gr.Dropdown(
                    label="Size (images)", choices=["model default", "256×256", "512×512", "768×768", "1024×1024"],
                    value="model default", allow_custom_value=True, elem_id="arena-size",
                )
            # The parameter fields in PARAM_FIELDS order: params_from(*their values) reads them (sweeps reuse it).
            self.param_inputs = [self.max_tokens, self.temperature, self.seed, self.steps, self.guidance, self.size]
            self.save = gr.Checkbox(label="Keep the outputs in the gallery", value=self.engine.settings.save_outputs,
                                    elem_id="arena-save")
            gr.Markdown("Empty fields use each model's own defaults from the catalog (and a random seed for "
                        "pictures).")
        self.message = gr.Markdown(elem_id="arena-message")
        self.slots: list[PaneSlot] = []
        with gr.Row(equal_height=False, elem_id="arena-panes"):
            for index in range(MAX_MODELS):
                # Always rendered: a pane whose header is empty is hidden by panes.CSS (no property updates).
                with gr.Column(min_width=300, elem_classes=["arena-pane"], elem_id=f"arena-pane-{index}") as column:
                    header = gr.HTML()
                    image = gr.Image(
                        type="pil", format="png", show_label=False, interactive=False, visible=False, height=420,
                        buttons=["download", "fullscreen"], elem_classes=["arena-picture"],
                    )
                    text = gr.HTML(js_on_load=look.BODY_JS, elem_classes=["arena-text"])  # arena.render
                    footer = gr.HTML()
                    with gr.Row(elem_classes=["arena-pane-actions"]):
                        again = gr.Button("↻ Regenerate", size="sm", visible=False,
                                          elem_classes=["arena-again"])
                        clear = gr.Button("Clear", size="sm", visible=False, elem_classes=["arena-clear"])
                        chain = gr.Button("Draw this", size="sm", visible=False, elem_classes=["arena-chain"])
                        widen = gr.Button("⤢ Widen", size="sm", elem_classes=["arena-widen"])
                self.slots.append(PaneSlot(column, header, image, text, footer, again, clear, chain, widen))
        with gr.Row(equal_height=True, elem_id="arena-follow-row"):
            self.follow_up = gr.Textbox(
                label="Follow-up (to every text pane; each model answers with its own history)", lines=1,
                max_lines=6, scale=5, elem_id="arena-follow-up",
                placeholder="e.g. and what is the spider working on?")
            with gr.Column(scale=1, min_width=160):
                self.follow_image = image_upload(label="New image (optional)", type="filepath", height=110,
                                                 sources=["upload", "clipboard"], elem_id="arena-follow-image")
                self.follow_image_note = gr.Markdown(elem_id="arena-follow-image-note",
                                                     elem_classes=["arena-upload-note"])
            with gr.Column(scale=1, min_width=160):
                self.send_button = gr.Button("Send", variant="primary", elem_id="arena-send")
                self.edit_button = gr.Button("✎ Edit last message", size="sm", elem_id="arena-edit")
                self.new_button = gr.Button("New conversation", size="sm", elem_id="arena-new")
        gr.Markdown(KEYS_HINT.replace("</small>", " · **Edit last message** puts your last message back in the "
                                                   "box: sending it replaces the last answer in every pane.</small>"),
                    elem_classes=["arena-hint"])
        with gr.Accordion("Chains: draw a description, critique a picture", open=False, elem_id="arena-chains"):
            gr.Markdown("**Draw this** under a text answer sends it to the generators chosen here; **Critique this** "
                        "under a picture sends it to the vision models chosen here. The new panes appear after "
                        "the others, and each output records what it was made from.")
            with gr.Row():
                self.drawers = gr.CheckboxGroup(label="Draw with", choices=[], elem_id="arena-drawers")
                self.critics = gr.CheckboxGroup(label="Critique with", choices=[], elem_id="arena-critics")
            self.critique_template = gr.Textbox(label="Critique prompt ({prompt} is the picture's own prompt)",
                                                value=CRITIQUE_PROMPT, elem_id="arena-critique-prompt")
            self.describe_template = gr.Textbox(label="What “Describe, then draw” asks the text models",
                                                value=DESCRIBE_PROMPT, elem_id="arena-describe-prompt")
            with gr.Row(equal_height=True):
                self.draw_text = gr.Textbox(label="Text to draw (filled by Draw this; edit it and draw again)",
                                            lines=2, scale=4, elem_id="arena-draw-text")
                self.draw_text_button = gr.Button("Draw this text", scale=1, elem_id="arena-draw-text-button")
        gr.Examples(
            examples=[[prompt, str(ASSETS / name) if name else None] for prompt, name in EXAMPLES],
            inputs=[self.prompt, self.image], label="Examples",
        )
        with gr.Accordion("Catalog", open=False, elem_id="arena-catalog"):
            self.catalog_table = gr.Markdown(self._catalog_markdown())
            self.refresh_button = gr.Button("Check availability again", size="sm")
        self._build_api()
        self._wire()

    def _build_api(self) -> None:
        """Hidden inputs and output behind the documented /compare endpoint."""
        with gr.Group(visible=False):
            self.api_prompt = gr.Textbox(label="prompt")
            self.api_models = gr.JSON(label="models")
            self.api_image = api_file(label="image")
            self.api_params = gr.JSON(label="params")
            self.api_describe = gr.JSON(label="describe")
            self.api_draw = gr.JSON(label="draw")
            self.api_result = gr.JSON(label="result")
            self.api_trigger = gr.Button()
            self.api_describe_trigger = gr.Button()
            self.api_critique_trigger = gr.Button()

    def _wire(self) -> None:
        self.pane_outputs = [c for s in self.slots
                             for c in (s.header, s.image, s.text, s.footer, s.again, s.clear, s.chain)]
        self.run_state = [self.run_button, self.describe_draw_button, self.stop_button]
        outputs = [self.message, self.prompt, self.follow_up, self.follow_image, self.draw_text, *self.run_state,
                   *self.pane_outputs]
        # What each of these shows at first; _stream repeats what it last sent instead of skipping them (below).
        self._initial = {c._id: c.value if isinstance(c, gr.Button) else None if isinstance(c, gr.Image) else ""
                         for c in [self.message, *self.run_state, *self.pane_outputs]}
        self.stream_outputs = outputs
        streaming = dict(outputs=outputs, show_progress="hidden", concurrency_limit=8, concurrency_id="compare",
                         api_visibility="private")
        inputs = [self.prompt, self.image, self.models, *self.param_inputs, self.save]
        # Enter in the prompt boxes clicks Run / Send (KEYS_JS); Gradio's own submit is never fired for them.
        self.run_button.click(self.run, inputs, **streaming)
        self.describe_draw_button.click(self.describe_then_draw, [*inputs, self.describe_template], **streaming)
        for button in (self.run_button, self.describe_draw_button):
            button.click(None, js=SCROLL_TO_RESULTS_JS)
        self.send_button.click(self.send, [self.follow_up, self.follow_image], **streaming)
        self.edit_button.click(self.edit_last, None, outputs, api_visibility="private")
        self.new_button.click(self.new_conversation, None, outputs, api_visibility="private")
        for box, note in ((self.image, self.image_note), (self.follow_image, self.follow_image_note)):
            box.upload(self.check_upload, box, [box, note], api_visibility="private", show_progress="hidden")
            box.clear(lambda: "", None, note, api_visibility="private", show_progress="hidden")
        for index, slot in enumerate(self.slots):
            again, clear, chain = self._slot_handlers(index)
            slot.again.click(again, None, **streaming)
            slot.clear.click(clear, None, outputs, api_visibility="private")
            slot.chain.click(chain, [self.drawers, self.critics, self.critique_template], **streaming)
            slot.widen.click(None, js=WIDEN_JS.replace("INDEX", str(index)))
        self.draw_text_button.click(self.draw_edited, [self.draw_text, self.drawers], **streaming)
        self.stop_button.click(self.stop, inputs=None, outputs=None, queue=False, api_visibility="private")
        self.refresh_button.click(self.refresh, outputs=self.availability_outputs, api_visibility="private")
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
        self.api_describe_trigger.click(
            self.describe_draw_api, inputs=[self.api_prompt, self.api_describe, self.api_draw, self.api_image,
                                            self.api_params],
            outputs=[self.api_result], api_name="describe_draw", concurrency_limit=8, concurrency_id="compare",
            api_description=("Describe, then draw: each text model in `describe` describes the picture of `prompt`; "
                             "each generator in `draw` draws each description. Returns the descriptions and the "
                             "pictures (PNG data URLs), each picture naming the description it was drawn from."),
        )
        self.api_critique_trigger.click(
            self.critique_api, inputs=[self.api_image, self.api_models, self.api_prompt],
            outputs=[self.api_result], api_name="critique", concurrency_limit=8, concurrency_id="compare",
            api_description=("Critique a picture: each vision-language model in `models` gets the image and a "
                             "critique prompt (default: does it match its prompt, 1 to 10); returns each critique "
                             "with the score parsed from it, when it gives one."),
        )

    def _slot_handlers(self, index: int):
        """Handlers for one pane slot's buttons: Gradio passes no index, and reads the request from type hints."""

        def again(request: gr.Request):
            yield from self.again(index, request)

        def clear(request: gr.Request):
            return self.clear(index, request)

        def chain(drawers, critics, template, request: gr.Request):
            yield from self.chain(index, drawers, critics, template, request)

        return again, clear, chain

    # --- handlers --------------------------------------------------------------------------------------------

    def run(self, prompt, image_path, models, max_tokens, temperature, seed, steps, guidance, size, save,
            request: gr.Request):
        """The first message of a conversation, to every chosen model (the generators draw it)."""
        try:
            params = params_from(max_tokens, temperature, seed, steps, guidance, size)
            image = self._image(image_path)
            models = self.engine.check(Request(prompt or "", image, params), models or [])
            board = self._new_board(request, save=bool(save))
            board.conversation = Conversation(self.engine, models, save=board.save)
            talking = board.conversation.models
            comparison = board.conversation.send(prompt, image, params, models=talking,
                                                 also=[m for m in models if m not in talking])
            placed = board.place(comparison)
            for slot in placed.values():
                board.slots[slot].chat = board.slots[slot].model in talking
        except InputError as error:
            gr.Warning(str(error), title="Cannot run")
            yield {self.message: f"**Cannot run:** {error}"}
            return
        yield from self._stream(board, comparison, placed, fresh=True)

    def send(self, text, image_path, request: gr.Request):
        """A follow-up to every text pane, each model with its own history."""
        board = self._board(request)
        try:
            if board is None or board.conversation is None or not board.conversation.models:
                raise InputError("Start a conversation first: type a prompt, pick models and Run.")
            if not text or not text.strip():
                raise InputError("Type a follow-up message first.")
            chat = board.conversation
            image = self._image(image_path)
            if board.editing:  # the edited message replaces the last one, and its answers, everywhere
                board.editing = False
                replaced = chat.drop_last()
                image = image or (replaced.image if replaced else None)
            earlier = {model: tuple(chat.history(model)) for model in chat.models}
            comparison = chat.send(text, image)
            placed = board.replace(comparison, earlier)
        except InputError as error:
            yield {self.message: f"**Cannot send:** {error}"}
            return
        yield from self._stream(board, comparison, placed, also={self.follow_up: "", self.follow_image: None})

    def again(self, index: int, request: gr.Request):
        """Regenerate this pane's last answer, or retry it after an error; the other panes are not asked."""
        board = self._board(request)
        shown = board.slots[index] if board and index < len(board.slots) else None
        try:
            if shown is None or not shown.chat or board.conversation is None:
                raise InputError("This pane is not part of a conversation.")
            comparison = board.conversation.again(shown.model)
            earlier = {shown.model: tuple(board.conversation.history(shown.model))}
            placed = board.replace(comparison, earlier)
        except InputError as error:
            yield {self.message: f"**Cannot answer again:** {error}"}
            return
        yield from self._stream(board, comparison, placed)

    def clear(self, index: int, request: gr.Request):
        """Forget this model's side of the conversation; the next follow-up starts afresh for it."""
        board = self._board(request)
        shown = board.slots[index] if board and index < len(board.slots) else None
        if shown is None or not shown.chat or board.conversation is None:
            return {self.message: "This pane is not part of a conversation."}
        board.conversation.clear(shown.model)
        shown.earlier = ()
        slot = self.slots[index]
        self._forget(request, slot.text, slot.image, slot.again)
        return {slot.text: markdown_html("*Cleared: the next follow-up starts a new conversation with this model.*"),
                slot.image: gr.Image(visible=False), slot.again: gr.Button(visible=False),
                self.message: f"Cleared {shown.model}'s history."}

    def edit_last(self, request: gr.Request):
        """Put the last message back in its box; sending it again replaces the last turn of every conversation."""
        board = self._board(request)
        chat = board.conversation if board else None
        last = chat.last_message() if chat else None
        if last is None:
            return {self.message: "Nothing to edit yet: send a message first."}
        if chat.sent == 1:  # the first message: Run again, with the image generators too
            return {self.prompt: last.text,
                    self.message: "Your first message is back in the prompt box: edit it and press Enter to run "
                                  "it again."}
        board.editing = True
        return {self.follow_up: last.text,
                self.message: "Your last message is back in the follow-up box: edit it and press Enter; the new "
                              "answers replace the last ones in every pane."}

    def check_upload(self, image_path):
        """Said next to the box as soon as a file is dropped there, not at Run."""
        try:
            self._image(image_path)
        except InputError as error:
            return None, f"⚠️ {error}"
        return gr.skip(), ""

    def new_conversation(self, request: gr.Request):
        self._forget(request, *(slot.header for slot in self.slots))
        self._new_board(request, save=self.engine.settings.save_outputs)
        return {self.message: "New conversation: type a prompt, pick models and Run.", self.follow_up: "",
                **{slot.header: "" for slot in self.slots}}

    def chain(self, index: int, drawers, critics, template, request: gr.Request):
        """Draw this text answer with the chosen generators, or critique this picture with the chosen models."""
        board = self._board(request)
        shown = board.slots[index] if board and index < len(board.slots) else None
        extra = {}
        try:
            if shown is None:
                raise InputError("This pane holds nothing to chain from.")
            pane = shown.snapshot()
            if pane.output == "image" or shown.picture is not None and not pane.text:
                picture = pane.images[-1] if pane.images else shown.picture
                if picture is None:
                    raise InputError("This pane has no picture to critique.")
                prompt = critique_prompt(template, shown.asked)
                jobs = critique_jobs(self.engine, InputImage(picture), prompt, list(critics or []), pane.record_id)
                how = {"origin": f"critique of {pane.model}'s picture", "picture": picture}
            else:
                jobs = draw_jobs(self.engine, pane.text, list(drawers or []), parent_id=pane.record_id)
                how = {"origin": f"drawn from {pane.model}'s answer"}
                board.draw_parent = pane.record_id
                extra = {self.draw_text: pane.text}
            comparison = self.engine.start_each(jobs, save=board.save)
            placed = board.place(comparison, **how)
        except InputError as error:
            yield {self.message: f"**Cannot chain:** {error}"}
            return
        yield from self._stream(board, comparison, placed, also=extra)

    def draw_edited(self, text, drawers, request: gr.Request):
        board = self._board(request) or self._new_board(request, save=self.engine.settings.save_outputs)
        try:
            jobs = draw_jobs(self.engine, text, list(drawers or []), parent_id=board.draw_parent)
            comparison = self.engine.start_each(jobs, save=board.save)
            placed = board.place(comparison, origin="drawn from the edited text")
        except InputError as error:
            yield {self.message: f"**Cannot draw:** {error}"}
            return
        yield from self._stream(board, comparison, placed)

    def describe_then_draw(self, prompt, image_path, models, max_tokens, temperature, seed, steps, guidance, size,
                           save, template, request: gr.Request):
        """Each chosen text model describes the picture; then each chosen generator draws each description."""
        try:
            params = params_from(max_tokens, temperature, seed, steps, guidance, size)
            chosen = self.engine.check(Request(prompt or "", None, params), models or [])
            describers = [m for m in chosen if self.engine.catalog[m].output == "text"]
            drawers = [m for m in chosen if self.engine.catalog[m].output == "image"]
            chain = DescribeThenDraw(self.engine, prompt, describers, drawers, image=self._image(image_path),
                                     params=params, template=template or DESCRIBE_PROMPT, save=bool(save))
            board = self._new_board(request, save=bool(save))
            board.chain = chain
            describing = chain.describe()
            placed = board.place(describing, origin="describing the picture")
        except InputError as error:
            gr.Warning(str(error), title="Cannot run")
            yield {self.message: f"**Cannot run:** {error}"}
            return
        yield from self._stream(board, describing, placed, fresh=True, last=False)
        if self._replaced(board):
            return
        try:
            drawing = chain.draw()
            if drawing is None:
                why = "Stopped before drawing." if chain.cancelled else "No description to draw."
                yield {self.message: f"{_summary([describing])} {why}", **self._busy(bool(board.running), board)}
                return
            placed = board.place(drawing)
        except InputError as error:
            yield {self.message: f"**Cannot draw:** {error}", **self._busy(bool(board.running), board)}
            return
        for index, slot in placed.items():
            board.slots[slot].origin = f"drawn from {chain.drawn_from[index]}'s description"
        yield from self._stream(board, drawing, placed, before=[describing])

    def stop(self, request: gr.Request) -> None:
        board = self._board(request)
        if board is not None:
            board.stop()

    def refresh(self):
        self.engine.availability.forget()
        return self.availability()

    @property
    def availability_outputs(self) -> list:
        return [self.models, self.unavailable, self.catalog_table, self.drawers, self.critics]

    def availability(self):
        """Model choices, the unavailable list and the catalog table, as the checks see them now."""
        choices, unavailable = self._model_lists()
        entries = {e.name: e for e in self.engine.catalog}
        drawers = [(label, name) for label, name in choices if entries[name].output == "image"]
        critics = [(label, name) for label, name in choices
                   if entries[name].output == "text" and entries[name].image_input]
        return (gr.CheckboxGroup(choices=choices), unavailable, self._catalog_markdown(),
                gr.CheckboxGroup(choices=drawers, value=[n for _, n in drawers][:1]),
                gr.CheckboxGroup(choices=critics, value=[n for _, n in critics][:2]))

    def compare_api(self, prompt: str, models, image: str | None = None, params=None):
        """Yield {"panes": [...]} snapshots as models stream; the last one is final."""
        try:
            comparison = self._start(prompt or "", image, _names(models, "models"),
                                     GenerationParams.parse(_mapping(params)))
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        try:
            yield _api_result(comparison, with_images=False)
            for _ in comparison.updates():
                yield _api_result(comparison, with_images=False)
            yield _api_result(comparison, with_images=True)
        finally:
            comparison.cancel()

    def describe_draw_api(self, prompt: str, describe, draw, image: str | None = None, params=None) -> dict:
        """Both steps of a describe → draw chain; every picture names the description it was drawn from."""
        try:
            chain = DescribeThenDraw(self.engine, prompt or "", _names(describe, "describe"), _names(draw, "draw"),
                                     image=self._image(image), params=GenerationParams.parse(_mapping(params)))
            steps = chain.run()
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        descriptions = steps[0].snapshots()
        pictures = []
        if len(steps) > 1:
            for source, job, pane in zip(chain.drawn_from, steps[1].jobs, steps[1].snapshots(), strict=True):
                pictures.append(pane_dict(pane) | {"output_id": pane.record_id, "description_from": source,
                                                   "parent_id": job.lineage.get("parent_id")})
        return {"descriptions": [pane_dict(p) | {"output_id": p.record_id} for p in descriptions],
                "pictures": pictures}

    def critique_api(self, image: str | None, models, prompt: str | None = None) -> dict:
        """Each vision-language model critiques the picture; the score is parsed from each answer."""
        try:
            picture = self._image(image)
            if picture is None:
                raise InputError("Send the picture to critique.")
            jobs = critique_jobs(self.engine, picture, critique_prompt(prompt, None), _names(models, "critique"))
            critiques = self.engine.start_each(jobs).wait()
        except InputError as error:
            raise gr.Error(str(error), title="Cannot run") from None
        return {"critiques": [pane_dict(p) | {"score": parse_score(p.text), "output_id": p.record_id}
                              for p in critiques]}

    # --- helpers ---------------------------------------------------------------------------------------------

    def _start(self, prompt: str, image_path, models: list[str], params: GenerationParams, save: bool = True):
        return self.engine.start(Request(prompt=prompt or "", image=self._image(image_path), params=params), models,
                                 save=save)

    def _image(self, image_path) -> InputImage | None:
        settings = self.engine.settings
        if isinstance(image_path, UnreadableUpload):
            raise InputError("The uploaded file is not an image Arena can read (PNG, JPEG, WebP, GIF, BMP…).")
        if isinstance(image_path, ServerPath):
            raise InputError(SERVER_PATH_REFUSED)
        if not image_path:
            return None
        return images.load_image(image_path, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels)

    def _board(self, request: gr.Request | None) -> Board | None:
        with self._boards_lock:
            return self._boards.get(session_of(request))

    def _new_board(self, request: gr.Request | None, save: bool) -> Board:
        """A clean set of panes for this session; whatever the old one still runs is stopped."""
        board = Board(MAX_MODELS, session=session_of(request), save=save)
        with self._boards_lock:
            old = self._boards.get(session_of(request))
            self._boards[session_of(request)] = board
        if old is not None:
            old.stop()
        return board

    def _replaced(self, board: Board) -> bool:
        with self._boards_lock:
            return self._boards.get(board.session) is not board

    def _stream(self, board: Board, comparison: Comparison, placed: dict[int, int], fresh: bool = False,
                last: bool = True, also: dict | None = None, before: list[Comparison] = ()):
        """Show ``comparison``'s panes in their slots as they change; the other slots are left as they are.

        ``before`` are earlier steps of the same run (describe → draw): the progress line and summary count them.
        """
        board.running.add(comparison)
        counted = [*before, comparison]
        try:
            first = {self.message: _progress(counted), **self._busy(True, board), **(also or {}),
                     **self._show(board, placed.values(), whole=True)}
            if fresh:
                first |= {slot.header: "" for slot in self.slots[len(board.slots):]}
            yield self._complete(board, first)
            ticked = time.monotonic()
            for changed in comparison.updates(frame_s=FRAME_S, tick_s=TICK_S):
                if self._replaced(board):  # a new Run took the panes: stop drawing into them
                    return
                timers = []
                if time.monotonic() - ticked >= TICK_S:  # running panes' clocks move even when nothing comes
                    ticked = time.monotonic()
                    timers = [slot for index, slot in placed.items() if not comparison.panes[index].finished]
                frame = self._show(board, [placed[i] for i in changed if i in placed], timers=timers)
                yield self._complete(board, {self.message: _progress(counted), **frame})
            if board.conversation is not None:
                board.conversation.record(comparison)
            if self._replaced(board):
                return
            final = self._show(board, placed.values(), whole=True)
            still_running = bool(board.running - {comparison})
            ended = {self.message: _summary(counted), **self._busy(still_running, board)} if last else {}
            yield self._complete(board, {**ended, **final})
        finally:
            comparison.cancel()
            board.running.discard(comparison)

    def _busy(self, running: bool, board: Board | None = None) -> dict:
        """Run and Describe, then draw are off, and Stop on, only while something runs."""
        updates: dict = {}
        for button, on in ((self.run_button, not running), (self.describe_draw_button, not running),
                           (self.stop_button, running)):
            self._set(board, updates, button, on, gr.Button, button.value, interactive=on)
        return updates

    def _set(self, board: Board | None, updates: dict, component, key, make, *args, **props) -> None:
        """Put ``make(*args, **props)`` in ``updates`` unless the page already shows ``key`` for ``component``.

        Every property update costs Gradio a new component and its API schema (milliseconds each): a run of 12
        panes would send about a hundred that change nothing."""
        sent = self._sent.setdefault(board.session, {}) if board is not None else {}
        if sent.get(component._id, _UNSENT) != key:
            sent[component._id] = key
            updates[component] = make(*args, **props)

    def _forget(self, request, *components) -> None:
        """After a handler that sets these components itself (clear, new conversation): send them again."""
        for cache in (self._sent, self._last):
            for component in components:
                cache.get(session_of(request), {}).pop(component._id, None)

    def _complete(self, board: Board, frame: dict) -> dict:
        """``frame`` with every output it leaves out that can be repeated cheaply (text, labels) set to what the
        page shows already. Gradio turns a left-out output into an empty property update, which costs it a new
        component and its API schema each time: for 12 panes, about a hundred per frame."""
        last = self._last.setdefault(board.session, dict(self._initial))
        for component, value in frame.items():
            if component._id not in last:
                continue
            if isinstance(value, str):
                last[component._id] = value
            elif isinstance(value, gr.Button) and isinstance(value.constructor_args.get("value"), str):
                last[component._id] = value.constructor_args["value"]
            elif isinstance(value, gr.Image) and value.constructor_args.get("value") is None:
                last[component._id] = None
            else:  # a picture: sent again only when it changes
                last.pop(component._id)
        return {**{c: last[c._id] for c in self.stream_outputs if c._id in last}, **frame}

    def _show(self, board: Board, slots, whole: bool = False, timers=()) -> dict:
        """Updates for the panes in ``slots``; for those in ``timers``, the header and footer (the clock)."""
        updates = {}
        for index in sorted(set(timers) | set(slots)):
            shown = board.slots[index]
            pane = shown.snapshot()
            ui = self.slots[index]
            # A streaming pane's metrics change with every token: its footer goes out with the clock (timers),
            # or when something a reader waits for changes (status, a step, the record, an error).
            head = look.header_html(pane, shown.origin)
            if whole or head != shown.head_shown:
                updates[ui.header] = shown.head_shown = head
            foot = (pane.status, pane.steps_done, pane.record_id, pane.error)
            if whole or index in timers or foot != shown.foot_shown:
                updates[ui.footer] = look.footer_html(pane)
                shown.foot_shown = foot
            if index not in slots:
                continue
            updates[ui.text] = look.body_html(pane, shown.earlier, shown.asked)
            if whole or len(pane.images) != shown.images_shown:
                self._picture(board, updates, ui.image, shown, pane)
                shown.images_shown = len(pane.images)
            if whole and pane.finished:  # while a pane runs, the page hides its buttons itself (panes.CSS)
                ended = True
                kept = bool(pane.images) or bool(pane.text.strip())
                again = "↻ Retry" if pane.status == "error" or pane.status == "cancelled" and not kept \
                    else "↻ Regenerate"
                chat = shown.chat and ended
                self._set(board, updates, ui.again, (again, chat), gr.Button, again, visible=chat)
                self._set(board, updates, ui.clear, chat, gr.Button, "Clear", visible=chat)
                can_chain = ended and pane.status in ("done", "cancelled") and kept
                label = "Critique this" if pane.images else "Draw this"
                self._set(board, updates, ui.chain, (label, can_chain),
                          gr.Button, label, visible=can_chain)
        return updates

    def _picture(self, board: Board, updates: dict, image: gr.Image, shown, pane: PaneSnapshot) -> None:
        if pane.images:
            picture = pane.images[-1]
            self._set(board, updates, image, ("picture", id(picture)),
                      gr.Image, value=picture, visible=True, show_label=False)
        elif shown.picture is not None:  # a critique: the picture it judged, with the score when it gives one
            score = parse_score(pane.text) if pane.finished else None
            label = f"score {score:g}/10 · {pane.model}" if score is not None else "the picture critiqued"
            self._set(board, updates, image, ("critiqued", id(shown.picture), label),
                      gr.Image, value=shown.picture, visible=True, label=label, show_label=True)
        else:
            visible = pane.output == "image"
            self._set(board, updates, image, ("empty", visible),
                      gr.Image, value=None, visible=visible, show_label=False)

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
        names = [name for group in by_reason.values() for name in group]
        shown = ", ".join(_cell(n) for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return choices, (f"<small>{len(names)} unavailable now: {shown} · "
                         f"[why: see the Catalog](#arena-catalog)</small>")

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


def _names(value, what: str) -> list[str]:
    """Model names from the API: a list, a JSON list, or comma-separated."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        except ValueError:
            value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{what} must be a list of model names, e.g. ["offline-pixtral", "offline-sd"]')
    return [v.strip() for v in value if v.strip()]


def _mapping(value) -> dict | None:
    if value is not None and not isinstance(value, dict):
        raise InputError('params must be an object, e.g. {"seed": 7, "max_tokens": 200}')
    return value


PARAM_FIELDS = ("max_tokens", "temperature", "seed", "steps", "guidance", "size")


def params_from(*values) -> GenerationParams:
    """The Parameters panel's values (CompareView.param_inputs, in PARAM_FIELDS order) as GenerationParams:
    a blank field is the model's default; a bad one raises InputError naming it."""
    return GenerationParams.from_form(dict(zip(PARAM_FIELDS, values, strict=True)))


def _param_box(label: str, hint: str, elem_id: str) -> gr.Textbox:
    return gr.Textbox(label=label, placeholder=hint, value="", max_lines=1, elem_id=elem_id,
                      elem_classes=["arena-param"])


def _api_result(comparison: Comparison, with_images: bool) -> dict:
    return {
        "finished": comparison.finished,
        "panes": [pane_dict(p, with_images=with_images) for p in comparison.snapshots()],
    }


_UNSENT = object()


def _progress(comparisons: list[Comparison]) -> str:
    """The overall progress line while panes stream: "2 of 3 done · 4.1 s"."""
    panes = [pane for comparison in comparisons for pane in comparison.panes]
    done = sum(pane.finished for pane in panes)
    return f"{done} of {len(panes)} done · {time.monotonic() - comparisons[0].started_at:.1f} s"


def _summary(comparisons: list[Comparison]) -> str:
    counts: dict[str, int] = {}
    for comparison in comparisons:
        for pane in comparison.snapshots():
            counts[pane.status] = counts.get(pane.status, 0) + 1
    words = {"done": "done", "error": "failed", "cancelled": "stopped"}
    took = time.monotonic() - comparisons[0].started_at
    return "Finished: " + ", ".join(f"{n} {words.get(s, s)}" for s, n in counts.items()) + f". Took {took:.1f} s."


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
