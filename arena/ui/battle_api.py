"""The documented /battle and /vote endpoints: a blind battle and its vote, from gradio_client.

/battle streams the two anonymous panes ("A" and "B": no model names) with the battle's id; /vote takes the id,
the outcome and an optional reason, and answers with the names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from arena.battles.battle import SIDES, Battle
from arena.battles.pairs import parse_kind
from arena.errors import InputError
from arena.pane_export import pane_dict
from arena.ui.api_files import api_file
from arena.ui.compare_inputs import api_params, model_names, read_image
from arena.ui.words import user_of

if TYPE_CHECKING:
    from arena.ui.battle import BattleView

def register(view: "BattleView") -> None:
    """Hidden inputs and outputs behind /battle and /vote, wired to ``view``'s battles."""
    with gr.Group(visible=False):
        prompt = gr.Textbox(label="prompt")
        kind = gr.Textbox(label="kind")
        image = api_file(label="image")
        params = gr.JSON(label="params")
        models = gr.JSON(label="models")
        battle_id = gr.Textbox(label="battle_id")
        outcome = gr.Textbox(label="outcome")
        reason = gr.Textbox(label="reason")
        result = gr.JSON(label="result")
        battle_trigger = gr.Button()
        vote_trigger = gr.Button()
    api = BattleAPI(view)
    battle_trigger.click(
        api.battle, inputs=[prompt, kind, image, params, models], outputs=[result], api_name="battle",
        concurrency_limit=8, concurrency_id="battle",
        api_description=("A blind battle: two models of one kind (`kind`: \"text\" for vision-language models, "
                         "\"image\" for generators), drawn from the available ones (or from `models`), answer "
                         "`prompt` (and the optional image). Yields the two anonymous panes, \"A\" and \"B\", as they "
                         "stream, and the battle's id; vote on it with /vote."),
    )
    vote_trigger.click(
        api.vote, inputs=[battle_id, outcome, reason], outputs=[result], api_name="vote",
        api_description=("Vote on a finished battle: `outcome` is \"a\", \"b\", \"tie\" or \"bothbad\", with an "
                         "optional short `reason`. Accepted only when both sides finished without error, once per "
                         "battle; answers with the two models' names."),
    )


class BattleAPI:
    def __init__(self, view: "BattleView"):
        self.view = view
        self.battles = view.battles

    def battle(self, prompt: str, kind: str = "text", image=None, params=None, models=None,
               request: gr.Request = None):
        """Yield {"battle_id", "state", "panes": [A, B]} as the two sides stream; the last one is final."""
        try:
            battle = self.battles.start(parse_kind(kind), prompt or "", read_image(image, self.view.engine.settings),
                                        api_params(params), eligible=_names(models),
                                        user_name=user_of(request))
        except InputError as error:
            raise gr.Error(str(error), title="Cannot start") from None
        try:
            yield battle_dict(battle, with_images=False)
            for _ in battle.updates():
                yield battle_dict(battle, with_images=False)
            yield battle_dict(battle, with_images=True)
        finally:
            if not battle.finished:
                battle.current.cancel()

    def vote(self, battle_id: str, outcome: str, reason: str | None = None, request: gr.Request = None) -> dict:
        from arena.ui.battle import voter_name

        voter = voter_name(request, "anon-api-" + (getattr(request, "session_hash", None) or "client")[:16])
        try:
            battle = self.battles.get(battle_id)
            self.battles.vote(battle, outcome, reason or "", voter=voter, voter_kind="people_blind")
        except InputError as error:
            raise gr.Error(str(error), title="Vote not taken") from None
        from arena.ui.battle import parse_vote

        return {"battle_id": battle.id, "accepted": True, "outcome": parse_vote(battle),
                "models": {side: name for side, name in zip(SIDES, battle.models, strict=True)},
                "outputs": {side: p.record_id for side, p in zip(SIDES, battle.snapshots(), strict=True)}}


def battle_dict(battle: Battle, with_images: bool) -> dict:
    """The battle as the API shows it: before the vote, panes carry their side, never a model's name."""
    panes = []
    for side, pane in zip(SIDES, battle.shown(), strict=True):
        shown = pane_dict(pane, with_images=with_images)
        shown.pop("model")
        shown.pop("kind")
        panes.append({"side": side, **shown})
    return {"battle_id": battle.id, "kind": battle.kind, "state": battle.state(), "finished": battle.finished,
            "vote_allowed": battle.why_no_vote() is None, "why_no_vote": battle.why_no_vote(), "panes": panes}


def _names(value) -> list[str] | None:
    """The API's models; none given draws from every available model."""
    if value is None or value == "" or value == []:
        return None
    return model_names(value, "models")
