"""The Battle tab: two anonymous models answer one prompt side by side; vote, see who they were, next battle.

Layout and wiring only: arena.battles.battle holds the rules (pairs, anonymity, when a vote counts). The panes are
drawn with the Compare view's own pieces (arena.ui.panes), from anonymous snapshots until the vote.
"""

from __future__ import annotations

import secrets
import threading
import time
from html import escape

import gradio as gr

from arena.battles.battle import OUTCOMES, SIDES, Battle, Battles, case_request, draw_case
from arena.battles.pairs import parse_kind
from arena.engine import Engine
from arena.errors import InputError
from arena.pane_export import metrics_line
from arena.paths import PROMPTS
from arena.ui import battle_api
from arena.ui import panes as look
from arena.ui.compare_inputs import image_upload, read_image
from arena.ui.forms import ParamsForm
from arena.ui.words import md, session_of, storage_said, user_of
from arena.wording import counted

FRAME_S = 0.12
TICK_S = 0.5
KINDS = [("Text models (vision-language)", "text"), ("Image generators", "image")]
NEXT_MODES = [("Same prompt", "same"), ("New random case", "case")]
REASON_LABEL = "Why? (optional, a few words, before you vote)"
REASON_KEPT_LABEL = "Why (kept with your vote; Undo my vote to change it)"
VOTE_IDS = {"a": "battle-vote-a", "b": "battle-vote-b", "tie": "battle-vote-tie", "bothbad": "battle-vote-bothbad"}

CSS = """
#battle-panes { display: grid !important; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
#battle-panes > .arena-pane { min-width: 0 !important; }
#battle-votes button { min-width: 0 !important; }
#battle-reveal:empty { display: none; }
.battle-reveal { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 8px 12px;
  background: var(--background-fill-secondary); }
.battle-reveal ul { margin: 4px 0 0 0; padding-left: 1.2em; }
.battle-reveal .battle-side { font-weight: 700; }
.battle-reveal .arena-metrics { display: inline; }
#battle-case p { margin: 0; color: var(--body-text-color-subdued); font-size: 0.9em; }
#battle-after, #battle-follow-row { align-items: end; }
/* Voting and what follows a vote appear with the answers: before a battle they would be buttons for nothing. */
#battle-tab:not(:has(#battle-panes .arena-pane-head)) :is(#battle-reason, #battle-votes, #battle-after,
  #battle-follow-row) { display: none !important; }
@media (max-width: 640px) {
  #battle-panes { grid-template-columns: minmax(0, 1fr); }
  #battle-votes { flex-wrap: wrap; }
  #battle-votes > button { flex: 1 1 40% !important; }
}
"""


# The tab's refresh of the eligible models and a change of kind both rewrite the list: run one at a time, in the
# order they came, so that a refresh asked for before the kind changed never lands after it (a start would then
# send a text model to an image battle). Both are quick.
ONE_MODEL_LIST_AT_A_TIME = dict(concurrency_id="battle-model-list", concurrency_limit=1)


class BattleView:
    def __init__(self, engine: Engine, battles: Battles | None = None):
        self.engine = engine
        self.battles = battles or Battles(engine)
        self.folders = [PROMPTS, *engine.settings.suites_dirs]
        self._shown: dict[str, Battle] = {}  # per browser session: the battle on its page
        self._lock = threading.Lock()
        self.params = ParamsForm("battle", hints={"seed": "random, the same for both generators",
                                                    "size": "the same for both"})

    # --- layout ----------------------------------------------------------------------------------------------

    def build(self) -> None:
        gr.Markdown("Two models answer the same prompt without their names. Vote for the better answer; the names "
                    "are shown after the vote.", elem_classes=["arena-hint"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.prompt = gr.Textbox(label="Prompt", lines=3, max_lines=10, elem_id="battle-prompt",
                                         placeholder="e.g. a charming spider at work")
                with gr.Row():
                    self.start_button = gr.Button("Start battle", variant="primary", elem_id="battle-start")
                    self.random_button = gr.Button("Random case", elem_id="battle-random")
                    self.stop_button = gr.Button("Stop", variant="stop", interactive=False, elem_id="battle-stop")
                self.case_info = gr.Markdown(elem_id="battle-case")
            with gr.Column(scale=1, min_width=220):
                self.image = image_upload(label="Image (optional)", type="filepath", sources=["upload", "clipboard"],
                                          height=170, elem_id="battle-image")
        with gr.Row(equal_height=False):
            self.kind = gr.Radio(label="What battles", choices=KINDS, value="text", scale=1, elem_id="battle-kind")
            self.models = gr.CheckboxGroup(label="Eligible models (two are drawn from those ticked)",
                                           choices=self._choices("text"), value=self.battles.available("text"),
                                           scale=3, elem_id="battle-models")
        with gr.Accordion("Parameters", open=False, elem_id="battle-params"):
            self.params.build()
        self.message = gr.Markdown(elem_id="battle-message")
        self.slots = []
        with gr.Row(equal_height=False, elem_id="battle-panes"):
            for side in SIDES:
                with gr.Column(min_width=280, elem_classes=["arena-pane"], elem_id=f"battle-pane-{side.lower()}"):
                    header = gr.HTML()
                    picture = gr.Image(type="pil", format="png", show_label=False, interactive=False, visible=False,
                                       height=380, buttons=["download", "fullscreen"], elem_classes=["arena-picture"])
                    text = gr.HTML(js_on_load=look.BODY_JS, elem_classes=["arena-text"])
                    footer = gr.HTML()
                self.slots.append((header, picture, text, footer))
        self.reason = gr.Textbox(label=REASON_LABEL, max_lines=2, elem_id="battle-reason")  # typed, then voted
        with gr.Row(elem_id="battle-votes"):
            self.vote_buttons = {outcome: gr.Button(words, interactive=False, elem_id=VOTE_IDS[outcome],
                                                    variant="primary" if outcome in ("a", "b") else "secondary")
                                 for outcome, words in OUTCOMES.items()}
        self.reveal = gr.HTML(elem_id="battle-reveal")
        with gr.Row(equal_height=False, elem_id="battle-after"):
            self.undo_button = gr.Button("Undo my vote", interactive=False, elem_id="battle-undo")
            self.next_button = gr.Button("Next battle", elem_id="battle-next")
            self.next_mode = gr.Radio(label="Next battle uses", choices=NEXT_MODES, value="same",
                                      elem_id="battle-next-mode")
        with gr.Row(equal_height=False, elem_id="battle-follow-row") as self.follow_row:
            self.follow_up = gr.Textbox(label="Follow-up to both sides (text battles; they stay anonymous)",
                                        max_lines=4, scale=5, elem_id="battle-follow-up")
            self.send_button = gr.Button("Send", scale=1, elem_id="battle-send")
        self.case_state = gr.State(None)  # {"path", "case_id"} of the case drawn into the prompt box
        self.voter = gr.BrowserState("", storage_key="arena-battle-voter")
        self.listed = gr.State(self.battles.available("text"))  # the eligible models the page was last shown
        battle_api.register(self)
        self._wire()

    def _wire(self) -> None:
        self.panes_out = [c for slot in self.slots for c in slot]
        self.controls = [self.start_button, self.next_button, self.stop_button, self.send_button, self.undo_button,
                         *self.vote_buttons.values()]
        self.outputs = [self.message, self.case_info, self.reveal, self.reason, self.follow_up, self.prompt,
                        self.image, self.case_state, *self.controls, *self.panes_out]
        private = dict(api_visibility="private")
        streaming = dict(outputs=self.outputs, show_progress="hidden", concurrency_limit=8,
                         concurrency_id="battle", **private)
        inputs = {self.kind, self.prompt, self.image, self.models, self.case_state, *self.params.components}
        self.start_button.click(self.start, inputs, **streaming)
        self.next_button.click(self.next_battle, {*inputs, self.next_mode}, **streaming)
        self.random_button.click(self.new_case, [self.kind], self.outputs, **private)
        # Typed or uploaded by the person (not set by a handler): answers to the old prompt go before a vote.
        self.prompt.input(self.prompt_changed, [self.prompt], self.outputs, queue=False, trigger_mode="always_last",
                          show_progress="hidden", **private)
        self.image.input(self.image_changed, None, self.outputs, queue=False, show_progress="hidden", **private)
        self.send_button.click(self.send, [self.follow_up], **streaming)
        self.stop_button.click(self.stop, None, None, queue=False, **private)
        for outcome, button in self.vote_buttons.items():
            button.click(self._voter_of(outcome), [self.reason, self.voter], [*self.outputs, self.voter], **private)
        self.undo_button.click(self.undo, [self.voter], self.outputs, **private)
        self.kind.change(self.choose_kind, [self.kind], [self.models, self.follow_row, *self.outputs], **private,
                         **ONE_MODEL_LIST_AT_A_TIME
                         ).then(lambda kind: self.battles.available(parse_kind(kind)), [self.kind], self.listed,
                                **private)

    def wire_tab(self, tab: gr.Tab) -> None:
        tab.select(self.refresh_models, [self.kind, self.models, self.listed], [self.models, self.listed],
                   api_visibility="private", show_progress="hidden", **ONE_MODEL_LIST_AT_A_TIME)

    # --- handlers --------------------------------------------------------------------------------------------

    @storage_said("message")
    def choose_kind(self, kind, request: gr.Request):
        """Another kind of battle: its models, and the page's battle let go (its answers are of the other kind)."""
        kind = parse_kind(kind)
        available = self.battles.available(kind)
        return {self.models: gr.CheckboxGroup(choices=self._choices(kind), value=available),
                self.follow_row: gr.Row(visible=kind == "text"), **self._let_go(session_of(request)),
                self.case_state: None, self.case_info: "", self.message: ""}

    def refresh_models(self, kind, ticked, known):
        """The eligible list as availability stands now (the tab opened): a model the person unticked stays
        unticked, one that became available since is ticked."""
        available = self.battles.available(parse_kind(kind))
        ticked, known = set(ticked or []), set(known or [])
        value = [name for name in available if name in ticked or name not in known]
        return gr.CheckboxGroup(choices=[(name, name) for name in available], value=value), available

    def forget(self, request: gr.Request) -> None:
        """A closed page's battle is stopped and let go."""
        with self._lock:
            battle = self._shown.pop(session_of(request), None)
        if battle is not None:
            battle.current.cancel()

    def random_case(self, kind):
        """A drawn case: prompt, image path, case state, the line naming it, and a message (set when none could
        be drawn, the other four then skipped)."""
        try:
            prompt, image_path, case_state, info = self._draw(kind)
        except InputError as error:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), f"**Cannot draw a case:** {md(error)}"
        return prompt, image_path, case_state, info, ""

    @storage_said("message")
    def new_case(self, kind, request: gr.Request):
        """Random case: the drawn case in the prompt box, and the battle on the page (answers to another
        prompt) let go, so nothing can be voted on until the next battle starts."""
        prompt, image_path, case_state, info, message = self.random_case(kind)
        if message:
            return {self.message: message}
        return {**self._let_go(session_of(request)), self.prompt: prompt, self.image: image_path,
                self.case_state: case_state, self.case_info: info, self.message: ""}

    def prompt_changed(self, prompt, request: gr.Request):
        """A prompt other than the battle's typed in: its answers go, and voting with them."""
        session = session_of(request)
        battle = self._battle(session)
        if battle is None or (prompt or "").strip() == (battle.prompt or "").strip():
            return {}
        return {**self._let_go(session), self.message: "The prompt changed: **Start battle** for answers to it."}

    def image_changed(self, request: gr.Request):
        session = session_of(request)
        if self._battle(session) is None:
            return {}
        return {**self._let_go(session), self.message: "The image changed: **Start battle** for answers to it."}

    @storage_said("message")
    def start(self, values: dict, request: gr.Request):
        """A new battle from the page's fields (kind, prompt, image, models, drawn case, parameters)."""
        session = session_of(request)
        try:
            battle = self._begin(session, values, user_of(request))
        except InputError as error:
            yield {self.message: f"**Cannot start:** {md(error)}"}
            return
        yield from self._stream(session, battle, fresh=True)

    @storage_said("message")
    def next_battle(self, values: dict, request: gr.Request):
        """Another battle: on the same prompt, or (next mode "case") on a newly drawn case."""
        session = session_of(request)
        also: dict = {}
        try:
            if values.get(self.next_mode) == "case":
                prompt, image_path, case_state, _ = self._draw(values.get(self.kind))
                also = {self.prompt: prompt, self.image: image_path, self.case_state: case_state}
                values = {**values, **also}
            battle = self._begin(session, values, user_of(request))
        except InputError as error:
            yield {self.message: f"**Cannot start:** {md(error)}"}
            return
        yield from self._stream(session, battle, fresh=True, also=also)

    @storage_said("message")
    def send(self, text, request: gr.Request):
        session = session_of(request)
        battle = self._battle(session)
        try:
            if battle is None:
                raise InputError("Start a battle first.")
            battle.follow_up(text)
        except InputError as error:
            yield {self.message: f"**Cannot send:** {md(error)}"}
            return
        yield from self._stream(session, battle, also={self.follow_up: ""})

    def stop(self, request: gr.Request) -> None:
        battle = self._battle(session_of(request))
        if battle is not None:
            battle.current.cancel()

    def _voter_of(self, outcome: str):
        def vote(reason, voter, request: gr.Request):
            return self.vote(outcome, reason, voter, request)

        return vote

    @storage_said("message")
    def vote(self, outcome: str, reason, voter, request: gr.Request | None):
        voter = voter_name(request, voter)
        battle = self._battle(session_of(request))
        try:
            if battle is None:
                raise InputError("Start a battle first.")
            self.battles.vote(battle, outcome, reason or "", voter=voter, voter_kind="people_blind")
        except InputError as error:
            return {self.message: f"**Vote not taken:** {md(error)}", self.voter: voter}
        return {**self._frame(battle, whole=True), self.voter: voter,
                self.reason: gr.Textbox(value=reason or "", interactive=False, label=REASON_KEPT_LABEL),
                self.message: f"Thanks, your vote is kept: **{OUTCOMES[parse_vote(battle)]}**. The names are "
                              "below; **Undo my vote** takes it back until the next battle.",
                self.reveal: reveal_html(battle)}

    @storage_said("message")
    def undo(self, voter, request: gr.Request):
        battle = self._battle(session_of(request))
        try:
            if battle is None:
                raise InputError("No battle on this page.")
            self.battles.undo(battle, voter_name(request, voter))
        except InputError as error:
            return {self.message: f"**Cannot undo:** {md(error)}"}
        return {**self._frame(battle, whole=True), self.reveal: reveal_html(battle), self.reason: _open_reason(),
                self.message: "Your vote is taken back. You may vote again, or press Next battle."}

    # --- helpers ---------------------------------------------------------------------------------------------

    def _begin(self, session, values: dict, user_name: str | None = None) -> Battle:
        kind = parse_kind(values.get(self.kind))
        params = self.params.read(values)
        image = read_image(values.get(self.image), self.engine.settings)
        prompt, case_state, case = values.get(self.prompt), values.get(self.case_state), None
        if case_state:
            drawn = self._case(case_state)
            if drawn is not None and drawn[0] == (prompt or "").strip():
                _, _, case_params, case = drawn
                params = params.over(case_params)
        old = self._battle(session)
        if old is not None:
            old.current.cancel()
        eligible = list(values.get(self.models) or [])
        battle = self.battles.start(kind, prompt or "", image, params, eligible=eligible, case=case, save=True,
                                    user_name=user_name)
        with self._lock:
            self._shown[session] = battle
        return battle

    def _draw(self, kind) -> tuple[str, str | None, dict, str]:
        """A random case of this kind: its prompt, its image's path, the page's case state and a line naming it."""
        suite, case = draw_case(self.folders, parse_kind(kind))
        path = case.image_path()
        info = f"Case **{md(case.id)}** from suite {md(suite.name)} v{md(suite.version)}"
        return case.prompt, str(path) if path else None, {"suite": suite.name, "case_id": case.id}, info

    def _case(self, case_state: dict):
        """The drawn case named in the page's state, if it still loads."""
        from arena.battles.battle import suite_files
        from arena.suites.model import SuiteError, load_suite

        for path in suite_files(self.folders):
            try:
                suite = load_suite(path)
            except (SuiteError, OSError):
                continue
            if suite.name != case_state.get("suite"):
                continue
            for case in suite.cases:
                if case.id == case_state.get("case_id"):
                    return case_request(suite, case)
        return None

    def _let_go(self, session: str) -> dict:
        """Stop and forget the page's battle; the updates that empty its panes and turn voting off."""
        with self._lock:
            battle = self._shown.pop(session, None)
        if battle is not None:
            battle.current.cancel()
        updates: dict = {self.reveal: "", self.reason: _open_reason(""), self.follow_up: "",
                         **self._controls(running=False)}
        for header, picture, text, footer in self.slots:
            updates |= {header: "", text: "", footer: "", picture: gr.Image(value=None, visible=False)}
        return updates

    def _battle(self, session: str) -> Battle | None:
        with self._lock:
            return self._shown.get(session)

    def _choices(self, kind: str) -> list[tuple[str, str]]:
        return [(name, name) for name in self.battles.available(kind)]

    def _stream(self, session: str, battle: Battle, fresh: bool = False, also: dict | None = None):
        started = time.monotonic()
        first = {**self._frame(battle, whole=True), **self._controls(running=True),
                 self.message: _progress(battle, started), **(also or {})}
        if fresh:
            first |= {self.reveal: "", self.reason: _open_reason(""), self.case_info: _case_line(battle)}
        yield first
        try:
            for _ in battle.updates(frame_s=FRAME_S, tick_s=TICK_S):
                if self._battle(session) is not battle:
                    return
                yield {**self._frame(battle), self.message: _progress(battle, started)}
            if self._battle(session) is not battle:
                return
            why = battle.why_no_vote()
            ended = "Both answers are in: which is better?" if why is None else why
            yield {**self._frame(battle, whole=True), **self._controls(running=False, votable=why is None),
                   self.message: ended}
        finally:
            if not battle.finished:
                battle.current.cancel()

    def _controls(self, running: bool, votable: bool = False, undo: bool = False) -> dict:
        updates = {self.start_button: gr.Button(interactive=not running),
                   self.next_button: gr.Button(interactive=not running),
                   self.stop_button: gr.Button(interactive=running),
                   self.send_button: gr.Button(interactive=not running),
                   self.undo_button: gr.Button(interactive=undo)}
        updates |= {button: gr.Button(interactive=votable) for button in self.vote_buttons.values()}
        return updates

    def _frame(self, battle: Battle, whole: bool = False) -> dict:
        """Both panes as the page may show them: anonymous until the vote."""
        updates: dict = {}
        for side, (header, picture, text, footer), pane in zip(SIDES, self.slots, battle.shown(), strict=True):
            updates[header] = look.header_html(pane, f"was Model {side}" if battle.vote is not None else "")
            updates[text] = look.body_html(pane)
            updates[footer] = look.footer_html(pane)
            if whole or pane.images:
                updates[picture] = gr.Image(value=pane.images[-1] if pane.images else None,
                                            visible=pane.output == "image")
        if whole and battle.state() in ("voted", "finished") and battle.finished:
            voted = battle.vote is not None
            updates |= self._controls(running=False, votable=not voted, undo=voted)
        return updates


def voter_name(request: gr.Request | None, stored: str | None) -> str:
    """The login name under --auth; else the browser's own random id (kept in its local storage)."""
    username = getattr(request, "username", None)
    if username:
        return str(username)
    if stored and isinstance(stored, str) and stored.startswith("anon-"):
        return stored
    return "anon-" + secrets.token_hex(8)


def parse_vote(battle: Battle) -> str:
    vote = battle.vote
    return vote["outcome"] if isinstance(vote, dict) else getattr(vote, "outcome", "tie")


def reveal_html(battle: Battle) -> str:
    """Who was who, with each side's metrics; empty until the vote."""
    if battle.vote is None:
        return ""
    items = []
    for side, pane in zip(SIDES, battle.snapshots(), strict=True):
        metrics = metrics_line(pane)
        items.append(f'<li><span class="battle-side">Model {side}</span> was <b>{escape(pane.model)}</b> '
                     f'({escape(pane.kind_label)})' + (f' · <span class="arena-metrics">{escape(metrics)}</span>'
                                                       if metrics else "") + "</li>")
    leak = ('<div class="arena-metrics">An answer named a model or a vendor: this vote is kept, flagged, and left '
            "out of the blind leaderboard.</div>" if getattr(battle.vote, "leak", False) else "")
    return f'<div class="battle-reveal">Your vote: <b>{escape(OUTCOMES[parse_vote(battle)])}</b><ul>' \
           f'{"".join(items)}</ul>{leak}</div>'


def _open_reason(value=None) -> gr.Textbox:
    """The reason box as it is before a vote: editable (and emptied when ``value`` is "")."""
    return gr.Textbox(interactive=True, label=REASON_LABEL, **({} if value is None else {"value": value}))


def _progress(battle: Battle, started: float) -> str:
    done = sum(p.finished for p in battle.snapshots())
    return f"{done} of 2 done · {time.monotonic() - started:.1f} s"


def _case_line(battle: Battle) -> str:
    if battle.case is None:
        return ""
    return f"Case **{md(battle.case.case_id)}** from suite {md(battle.case.suite)} v{md(battle.case.version)}"


def judge_this_run(engine: Engine):
    """The Suites tab's "Judge this run": the chosen judge compares every pair of the run's outputs per case."""

    def judge(run_id, judge_model):
        from arena.battles.judge import RunJudge

        try:
            if not run_id:
                raise InputError("Pick a finished run first.")
            if not judge_model:
                raise InputError("Pick a judge model above first.")
            judging = RunJudge(engine, run_id, judge_model)
            if judging.run.status == "running":
                raise InputError("This run is still running: judge it once it has finished.")
            total = len(judging.pairs())
        except InputError as error:
            yield f"**Cannot judge:** {md(error)}"
            return
        yield f"{md(judge_model)} is judging {counted(total, 'pair')}, each in both orders…"
        done: list = []
        results = queue_of(lambda on_pair: judging.run_all(on_pair=on_pair))
        for item in results:
            if isinstance(item, str):
                yield item
                return
            if hasattr(item, "summary"):
                yield item.summary() + " The judge's board is in the Leaderboard tab (voter: the judge)."
                return
            done.append(item)
            yield f"{md(judge_model)} judged {len(done)} of {counted(total, 'pair')}…"

    return judge


def queue_of(work):
    """Run ``work(on_item)`` in a thread; yield each item it reports, then its result (or an error sentence)."""
    import queue

    items: queue.SimpleQueue = queue.SimpleQueue()
    end = object()

    def run():
        try:
            items.put(work(items.put))
        except InputError as error:
            items.put(f"**Cannot judge:** {md(error)}")
        except Exception as error:  # a judge's failure is said on the page, not raised into Gradio
            from arena import errors

            items.put(f"**The judge failed:** {errors.describe(error)}")
        items.put(end)

    threading.Thread(target=run, daemon=True, name="judge-run").start()
    while (item := items.get()) is not end:
        yield item
