"""The Gradio web app: layout and wiring only; everything else lives in the library."""

from __future__ import annotations

import gradio as gr

from arena.engine import Engine
from arena.ui import battle, catalog_panel, first_run, gallery, leaderboard, panes, suites, sweep
from arena.ui.api import ApiEndpoints
from arena.ui.compare import KEYS_JS, CompareView
from arena.ui.gallery import GalleryView
from arena.ui.suites import SuitesView
from arena.ui.words import signed_in_line

CSS = panes.CSS + panes.BODY_CSS + gallery.CSS + suites.CSS + sweep.CSS + battle.CSS + first_run.CSS + catalog_panel.CSS
# In dark mode Gradio darkens its own container, not the page behind it, whose white showed while it scrolled.
PAGE_CSS = "body.dark { background: var(--body-background-fill); }\n"
CSS += leaderboard.CSS + PAGE_CSS

__all__ = ["CSS", "build_app"]


def build_app(engine: Engine) -> gr.Blocks:
    with gr.Blocks(title="Arena — compare multimodal models") as demo:
        gr.Markdown(
            "# Arena\nOne prompt, optionally with one image, to many vision-language models and image generators "
            "at once. Answers stream side by side."
        )
        signed_in = gr.HTML(elem_id="arena-signed-in") if engine.users is not None else None
        view = CompareView(engine)
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone every tab stays in sight, on two rows
            with gr.Tab("Compare", id="compare"):
                guide = first_run.FirstRunGuide(engine)  # shown while only the offline models can run
                guide.build()
                view.build()
                guide.wire(view, refresh_buttons=[view.refresh_button], download_timers=[view.catalog.timer])
                ApiEndpoints(engine).build()  # /compare, /describe_draw, /critique: before any handler takes a name
                view_sweep = sweep.SweepView(engine, view)
                view_sweep.build()
            with gr.Tab("Battle", id="battle", elem_id="battle-tab") as battle_tab:
                view_battle = battle.BattleView(engine)
                view_battle.build()
            view_battle.wire_tab(battle_tab)
            if engine.store is not None:
                with gr.Tab("Gallery", id="gallery", elem_id="gallery-tab") as gallery_tab:
                    view_gallery = GalleryView(engine, engine.store)
                    view_gallery.build()
                gallery_tab.select(view_gallery.show_current, view_gallery.page_inputs, view_gallery.page_outputs,
                                   api_visibility="private", show_progress="hidden")
                with gr.Tab("Suites", id="suites", elem_id="suites-tab") as suites_tab:
                    view_suites = SuitesView(engine, engine.store)
                    view_suites.build()
                suites_tab.select(view_suites.on_open, None, view_suites.open_outputs, api_visibility="private",
                                  show_progress="hidden")
                leaderboard.LeaderboardView(engine.store).build_tab()
        # A server started after the app (Ollama, llama.cpp) shows up at the next page load.
        demo.load(view.availability, outputs=view.availability_outputs,
                  api_visibility="private", show_progress="hidden"
                  ).then(guide.refresh, outputs=guide.outputs, api_visibility="private", show_progress="hidden")
        demo.load(None, js=KEYS_JS)  # Enter sends, Shift+Enter makes a new line, in both prompt boxes
        demo.load(None, js=catalog_panel.CATALOG_LINK_JS)
        if signed_in is not None:  # people sign in by name (--users): say as whom
            demo.load(signed_in_line, outputs=signed_in, api_visibility="private", show_progress="hidden")
        for view_of_session in (view, view_sweep, view_battle):  # a closed tab's panes, chat, sweep, battle go
            demo.unload(view_of_session.forget)
    return demo
