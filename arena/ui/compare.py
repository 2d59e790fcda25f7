"""The compare view: prompt, optional image, models, parameters; one pane per model, filled as they stream.

Layout, wiring, and handlers that call the library. What a frame of the stream shows is compare_frames.py, what is
read from the page compare_inputs.py and forms.ParamsForm, each session's board compare_boards.py; the documented
API is api.py.
"""

from __future__ import annotations

import time
from html import escape

import gradio as gr

from arena.chains import CRITIQUE_PROMPT, DESCRIBE_PROMPT, DescribeThenDraw, critique_jobs, critique_prompt, draw_jobs
from arena.conversation import Conversation
from arena.engine import MAX_MODELS, Comparison, Engine
from arena.errors import InputError
from arena.images import InputImage
from arena.paths import ASSETS
from arena.render import markdown_html
from arena.request import Request
from arena.ui import panes as look
from arena.ui.board import Board
from arena.ui.catalog_panel import CatalogPanel
from arena.ui.compare_boards import Boards
from arena.ui.compare_frames import Frames, PaneSlot, progress, summary
from arena.ui.compare_inputs import Ask, image_upload, read_image
from arena.ui.forms import ParamsForm
from arena.ui.pick_best import PickBest
from arena.ui.words import md, session_of, user_of
from arena.wording import counted

# Steady redraws: every pane that changed since the last frame, at most this often (one redraw per streamed chunk
# costs the app a core at 12 panes; each frame carries about a hundred outputs, whatever changed: under a millisecond
# of the app's time without Gradio's postprocessing, 7 ms with it). Running panes' timers move at least every TICK_S.
FRAME_S = 0.2
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


class CompareView:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.boards = Boards(MAX_MODELS)
        self.params = ParamsForm()

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
            self.params.build()
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
        PickBest(self.engine, self._board).build()  # named votes on a finished comparison
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
        self.catalog = CatalogPanel(self.engine)  # the entries, and Download with progress for hub weights
        self.catalog_table, self.refresh_button = self.catalog.build(self._catalog_markdown())
        self._wire()

    def _wire(self) -> None:
        pane_outputs = [c for s in self.slots for c in (s.header, s.image, s.text, s.footer, s.again, s.clear, s.chain)]
        run_state = [self.run_button, self.describe_draw_button, self.stop_button]
        outputs = [self.message, self.prompt, self.follow_up, self.follow_image, self.draw_text, *run_state,
                   *pane_outputs]
        self.frames = Frames(self.slots, self.message, run_state, outputs)
        # The boxes one types in are outputs only of the events that set them: an output a frame leaves out costs
        # Gradio a new component at every frame (an Image or Textbox: about a millisecond each).
        boxes = [self.prompt, self.follow_up, self.follow_image, self.draw_text]
        shown = [c for c in outputs if c not in boxes]
        # postprocess=False: Gradio would hand each output of each frame to a worker thread to postprocess (a
        # string stays a string); the handlers send values the page takes as they are (compare_frames.picture_update).
        streaming = dict(outputs=shown, show_progress="hidden", concurrency_limit=8, concurrency_id="compare",
                         api_visibility="private", postprocess=False)
        # A set of inputs: each handler gets one dict (component → value) and reads it with ask().
        self.ask_inputs = {self.prompt, self.image, self.models, *self.params.components, self.save}
        # Enter in the prompt boxes clicks Run / Send (KEYS_JS); Gradio's own submit is never fired for them.
        self.run_button.click(self.run, self.ask_inputs, **streaming)
        self.describe_draw_button.click(self.describe_then_draw, {*self.ask_inputs, self.describe_template},
                                        **streaming)
        for button in (self.run_button, self.describe_draw_button):
            button.click(None, js=SCROLL_TO_RESULTS_JS)
        self.send_button.click(self.send, [self.follow_up, self.follow_image],
                               **{**streaming, "outputs": [*shown, self.follow_up, self.follow_image]})
        self.edit_button.click(self.edit_last, None, outputs, api_visibility="private")
        self.new_button.click(self.new_conversation, None, outputs, api_visibility="private")
        for box, note in ((self.image, self.image_note), (self.follow_image, self.follow_image_note)):
            box.upload(self.check_upload, box, [box, note], api_visibility="private", show_progress="hidden")
            box.clear(lambda: "", None, note, api_visibility="private", show_progress="hidden")
        for index, slot in enumerate(self.slots):
            again, clear, chain = self._slot_handlers(index)
            slot.again.click(again, None, **streaming)
            slot.clear.click(clear, None, outputs, api_visibility="private")
            slot.chain.click(chain, [self.drawers, self.critics, self.critique_template],
                             **{**streaming, "outputs": [*shown, self.draw_text]})
            slot.widen.click(None, js=WIDEN_JS.replace("INDEX", str(index)))
        self.draw_text_button.click(self.draw_edited, [self.draw_text, self.drawers], **streaming)
        self.stop_button.click(self.stop, inputs=None, outputs=None, queue=False, api_visibility="private")
        self.refresh_button.click(self.refresh, outputs=self.availability_outputs, api_visibility="private")
        self.catalog.wire(self)

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

    def ask(self, values: dict) -> Ask:
        """The prompt, image, models, parameters and "keep" box of an event's inputs (ask_inputs); a bad
        parameter or image raises InputError saying what is wrong."""
        params = self.params.read(values)
        image = read_image(values.get(self.image), self.engine.settings)
        return Ask(values.get(self.prompt) or "", image, list(values.get(self.models) or []), params,
                   bool(values.get(self.save)))

    def run(self, values: dict, request: gr.Request):
        """The first message of a conversation, to every chosen model (the generators draw it)."""
        try:
            ask = self.ask(values)
            models = self.engine.check(Request(ask.prompt, ask.image, ask.params), ask.models)
            board = self._new_board(request, save=ask.save)
            board.conversation = Conversation(self._engine(request), models, save=board.save)
            talking = board.conversation.models
            comparison = board.conversation.send(ask.prompt, ask.image, ask.params, models=talking,
                                                 also=[m for m in models if m not in talking])
            placed = board.place(comparison)
            for slot in placed.values():
                board.slots[slot].chat = board.slots[slot].model in talking
        except InputError as error:  # the click scrolled this line into view (SCROLL_TO_RESULTS_JS)
            yield {self.message: f"**Cannot run:** {md(error)}"}
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
            # Also in a toast: the line above the panes is out of sight from the follow-up box below them.
            gr.Warning(escape(str(error)), title="Cannot send")
            yield {self.message: f"**Cannot send:** {md(error)}"}
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
            yield {self.message: f"**Cannot answer again:** {md(error)}"}
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
        self.frames.forget(session_of(request), slot.text, slot.image, slot.again, slot.chain)
        return {slot.text: markdown_html("*Cleared: the next follow-up starts a new conversation with this model.*"),
                slot.image: gr.Image(visible=False), slot.again: gr.Button(visible=False),
                slot.chain: gr.Button(visible=False),  # nothing shown is left to draw or critique
                self.message: f"Cleared {shown.model}'s history."}

    def edit_last(self, request: gr.Request):
        """Put the last message back in its box; sending it again replaces the last turn of every conversation."""
        board = self._board(request)
        chat = board.conversation if board else None
        last = chat.last_message() if chat else None
        if last is None:
            gr.Warning("Nothing to edit yet: send a message first.", title="Cannot edit")
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
            return None, f"⚠️ {md(error)}"
        return gr.skip(), ""

    def new_conversation(self, request: gr.Request):
        self.frames.forget(session_of(request), *(slot.header for slot in self.slots))
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
            comparison = self._engine(request).start_each(jobs, save=board.save)
            placed = board.place(comparison, **how)
        except InputError as error:
            yield {self.message: f"**Cannot chain:** {md(error)}"}
            return
        yield from self._stream(board, comparison, placed, also=extra)

    def draw_edited(self, text, drawers, request: gr.Request):
        board = self._board(request) or self._new_board(request, save=self.engine.settings.save_outputs)
        try:
            jobs = draw_jobs(self.engine, text, list(drawers or []), parent_id=board.draw_parent)
            comparison = self._engine(request).start_each(jobs, save=board.save)
            placed = board.place(comparison, origin="drawn from the edited text")
        except InputError as error:
            yield {self.message: f"**Cannot draw:** {md(error)}"}
            return
        yield from self._stream(board, comparison, placed)

    def describe_then_draw(self, values: dict, request: gr.Request):
        """Each chosen text model describes the picture; then each chosen generator draws each description."""
        try:
            ask = self.ask(values)
            chosen = self.engine.check(Request(ask.prompt, None, ask.params), ask.models)
            describers = [m for m in chosen if self.engine.catalog[m].output == "text"]
            drawers = [m for m in chosen if self.engine.catalog[m].output == "image"]
            if not drawers:  # the Chains panel's "Draw with" is for Draw this, not for this button
                raise InputError("Tick an image generator in Models too: it draws each description.")
            if not describers:
                raise InputError("Tick a text model in Models too: it describes the picture first.")
            chain = DescribeThenDraw(self._engine(request), ask.prompt, describers, drawers, image=ask.image,
                                     params=ask.params, save=ask.save,
                                     template=values.get(self.describe_template) or DESCRIBE_PROMPT)
            board = self._new_board(request, save=ask.save)
            board.chain = chain
            describing = chain.describe()
            placed = board.place(describing, origin="describing the picture")
        except InputError as error:  # the click scrolled this line into view (SCROLL_TO_RESULTS_JS)
            yield {self.message: f"**Cannot run:** {md(error)}"}
            return
        yield from self._stream(board, describing, placed, fresh=True, last=False)
        if self.boards.replaced(board):
            return
        try:
            drawing = chain.draw()
            if drawing is None:
                why = "Stopped before drawing." if chain.cancelled else "No description to draw."
                yield {self.message: f"{summary([describing])} {why}", **self.frames.busy(bool(board.running), board)}
                return
            placed = board.place(drawing)
        except InputError as error:
            yield {self.message: f"**Cannot draw:** {md(error)}", **self.frames.busy(bool(board.running), board)}
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
        return [self.models, self.unavailable, self.catalog_table, self.drawers, self.critics, *self.catalog.outputs]

    def availability(self):
        """Model choices, the unavailable list and the catalog table, as the checks see them now."""
        choices, unavailable = self._model_lists()
        entries = {e.name: e for e in self.engine.catalog}
        drawers = [(label, name) for label, name in choices if entries[name].output == "image"]
        critics = [(label, name) for label, name in choices
                   if entries[name].output == "text" and entries[name].image_input]
        return (gr.CheckboxGroup(choices=choices), unavailable, self._catalog_markdown(),
                gr.CheckboxGroup(choices=drawers, value=[n for _, n in drawers][:1]),
                gr.CheckboxGroup(choices=critics, value=[n for _, n in critics][:2]), *self.catalog.updates())

    def forget(self, request: gr.Request) -> None:
        """The session ended (its tab closed): its board, and what its page showed, are let go."""
        self.boards.forget(session_of(request))
        self.frames.drop(session_of(request))

    def _board(self, request: gr.Request | None) -> Board | None:
        return self.boards.get(session_of(request))

    def _new_board(self, request: gr.Request | None, save: bool) -> Board:
        return self.boards.new(session_of(request), save)

    def _engine(self, request: gr.Request | None) -> Engine:
        """The engine, recording what this page starts as its signed-in person's."""
        return self.engine.signed_in(user_of(request))

    def _image(self, image_path) -> InputImage | None:
        return read_image(image_path, self.engine.settings)

    def _stream(self, board: Board, comparison: Comparison, placed: dict[int, int], fresh: bool = False,
                last: bool = True, also: dict | None = None, before: list[Comparison] = ()):
        """Show ``comparison``'s panes in their slots as they change; the other slots are left as they are.

        ``before`` are earlier steps of the same run (describe → draw): the progress line and summary count them.
        """
        board.running.add(comparison)
        counted = [*before, comparison]
        try:
            first = {self.message: progress(counted), **self.frames.busy(True, board), **(also or {}),
                     **self.frames.show(board, placed.values(), whole=True)}
            if fresh:
                first |= {slot.header: "" for slot in self.slots[len(board.slots):]}
            yield self.frames.complete(board, first)
            ticked = time.monotonic()
            for changed in comparison.updates(frame_s=FRAME_S, tick_s=TICK_S):
                if self.boards.replaced(board):  # a new Run took the panes: stop drawing into them
                    return
                timers = []
                if time.monotonic() - ticked >= TICK_S:  # running panes' clocks move even when nothing comes
                    ticked = time.monotonic()
                    timers = [slot for index, slot in placed.items() if not comparison.panes[index].finished]
                frame = self.frames.show(board, [placed[i] for i in changed if i in placed], timers=timers)
                yield self.frames.complete(board, {self.message: progress(counted), **frame})
            if board.conversation is not None:
                board.conversation.record(comparison)
            if self.boards.replaced(board):
                return
            final = self.frames.show(board, placed.values(), whole=True)
            still_running = bool(board.running - {comparison})
            ended = {self.message: summary(counted), **self.frames.busy(still_running, board)} if last else {}
            yield self.frames.complete(board, {**ended, **final})
        finally:
            comparison.cancel()
            board.running.discard(comparison)

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
        for source, found in self.engine.catalog.discovery.report():  # discover: true, its models listed above
            status = "no server answers" if found is None else f"{counted(found, 'model')} found"
            rows.append(f"| {_cell(source.name)} | models found on a local server | `{_cell(source.base_url)}` | "
                        f"asked of the server | {_cell(status)} |")
        return f"Catalog: `{_cell(self.engine.catalog.source)}`\n\n" + "\n".join(rows)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
