"""The first-run guide: while nothing real can answer (no API key, no local server, no downloaded weights), one
short box on the Compare tab says the three ways forward, with Download buttons for two small models."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import gradio as gr

from arena import downloads, hub

if TYPE_CHECKING:
    from arena.catalog import ModelEntry
    from arena.engine import Engine

# The small models offered for download, by catalog name: a VLM that answers on a CPU, and a fast generator.
SMALL_MODELS = ("smolvlm-256m", "sd-turbo")
TICK_S = 0.5

CSS = """
#arena-first-run { padding: 10px 14px; border: 1px solid var(--color-accent); border-radius: var(--radius-lg);
                   background: var(--block-background-fill); gap: 6px; }
#arena-first-run p, #arena-first-run ol { margin: 0 0 4px 0; }
#arena-first-run ol { padding-left: 1.4em; }
#arena-first-run code { overflow-wrap: anywhere; }
#arena-first-run-buttons { gap: 8px; flex-wrap: wrap; }
#arena-first-run-buttons button { flex: 0 1 auto; min-width: 0; }
.arena-download { display: grid; grid-template-columns: minmax(7em, auto) minmax(6em, 1fr); gap: 2px 10px;
                  align-items: center; font-size: 0.9em; margin: 2px 0; }
.arena-download progress { width: 100%; height: 0.8em; appearance: none; border: none; border-radius: 4px;
                           background: var(--border-color-primary); overflow: hidden; }
.arena-download progress::-webkit-progress-bar { background: var(--border-color-primary); }
.arena-download progress::-webkit-progress-value { background: var(--color-accent); }
.arena-download progress::-moz-progress-bar { background: var(--color-accent); }
.arena-download .arena-download-line { grid-column: 1 / -1; color: var(--body-text-color-subdued); }
.arena-download.failed .arena-download-line { color: var(--error-text-color, #b91c1c); }
"""


def nothing_real(engine: "Engine") -> bool:
    """Whether only the random-weight offline models can run: no key, no server answering, no weights here."""
    entries = [e for e in engine.catalog if not e.is_offline_model]
    if not entries:
        return True
    availability = engine.availability.check_all(entries)
    return not any(state.ok for state in availability.values())


def key_variables(engine: "Engine") -> list[str]:
    """The variables the catalog's API entries read their keys from (MISTRAL_API_KEY, OPENAI_API_KEY…)."""
    return sorted({e.api_key_env for e in engine.catalog if e.api_key_env and not e.is_local})


def no_download_reason(entries: list["ModelEntry"]) -> str | None:
    """Why none of these entries can be downloaded now (the Hub switched off or out of reach), or None."""
    if not entries:
        return None
    if hub.hub_offline():
        return ("downloads are off while `HF_HUB_OFFLINE` is set: start Arena without it, then press Download "
                "here, or run `python -m arena pull smolvlm-256m` in a shell where it is not set")
    if all(hub.status(entry).state == "offline" for entry in entries):
        return f"the Hugging Face Hub ({hub.endpoint()}) cannot be reached from this machine"
    return None


def guide_markdown(engine: "Engine", buttons: bool = True, no_download: str | None = None) -> str:
    keys = " or ".join(f"`{name}`" for name in key_variables(engine))
    keys = keys or "`MISTRAL_API_KEY` or `OPENAI_API_KEY` (for a catalog entry that uses it)"
    if no_download:
        small = f"3. **A small model downloaded here:** not now; {no_download}."
    elif buttons:
        small = "3. **A small model downloaded here** (once, into the Hugging Face cache):"
    else:
        small = ("3. **A small model downloaded here:** add one to the catalog (HuggingFaceTB/SmolVLM-256M-Instruct, "
                 "stabilityai/sd-turbo) and press its Download button in the Catalog, or `python -m arena pull NAME`.")
    return "\n".join([
        "**Nothing real to compare yet.** The `offline-…` models are random-weight stand-ins: their words and "
        "pictures are noise, there for trying the app. Three ways to real answers:\n",
        f"1. **An API key:** set {keys} in the environment, or as a line in a `.env` file in the working folder "
        f"or in `{engine.settings.data_dir}`, then start Arena again.",
        "2. **Ollama on this machine:** start it and run `ollama pull llama3.2-vision`, then press *Check "
        "availability again* in the Catalog below (llama.cpp's server on port 8080 and LM Studio's on 1234 are "
        "found too).",
        small,
    ])


class FirstRunGuide:
    def __init__(self, engine: "Engine"):
        self.engine = engine
        # The Compare view's model lists and how to redraw them, for when a download makes a model available.
        self.availability_outputs: list = []
        self.availability = None
        self.names = [n for n in SMALL_MODELS if n in engine.catalog and hub.is_hub_entry(engine.catalog[n])]

    def build(self) -> None:
        self.shown_at_start = shown = nothing_real(self.engine)
        no_download = self._no_download() if shown else None
        with gr.Column(visible=shown, elem_id="arena-first-run") as self.box:
            self.text = gr.Markdown(guide_markdown(self.engine, bool(self.names), no_download) if shown else "",
                                    elem_id="arena-first-run-text")
            with gr.Row(elem_id="arena-first-run-buttons"):
                self.buttons = [gr.Button(self._label(name) if shown else name, size="sm", variant="primary",
                                          visible=not no_download, elem_id=f"arena-first-run-{name}")
                                for name in self.names]
                self.cancel = gr.Button("Cancel download", size="sm", visible=False, elem_id="arena-first-run-cancel")
            self.progress = gr.HTML("", visible=False, elem_id="arena-first-run-progress")
        self.timer = gr.Timer(TICK_S, active=False)

    def wire(self, view, refresh_buttons=(), download_timers=()) -> None:
        """Events, once the Compare view (whose model lists a finished download redraws) is built.
        ``download_timers``: other panels' timers that tick while their downloads run (the Catalog's)."""
        self.availability_outputs, self.availability = view.availability_outputs, view.availability
        for button in refresh_buttons:  # "Check availability again"
            button.click(self.refresh, None, self.outputs, api_visibility="private", show_progress="hidden")
        for timer in download_timers:
            timer.tick(self.after_downloads, None, self.outputs, api_visibility="private", show_progress="hidden")
        for name, button in zip(self.names, self.buttons, strict=True):
            button.click(self._starter(name), None, [self.timer, self.progress, self.cancel],
                         api_visibility="private", show_progress="hidden")
        self.cancel.click(self.cancel_downloads, None, None, api_visibility="private", show_progress="hidden")
        self.timer.tick(self.tick, None, self.tick_outputs, api_visibility="private", show_progress="hidden")

    @property
    def outputs(self) -> list:
        return [self.box, self.text, *self.buttons]

    @property
    def tick_outputs(self) -> list:
        return [self.timer, self.progress, self.cancel, *self.outputs, *self.availability_outputs]

    def refresh(self):
        """The box as the checks see things now (page load, Check availability again, a download's end)."""
        shown = nothing_real(self.engine)
        if not shown and not self.shown_at_start:
            return self._unchanged()  # hidden from the start and still: sending nothing spares a re-layout
        update = {self.box: gr.Column(visible=shown)}
        if shown:
            no_download = self._no_download()
            update[self.text] = guide_markdown(self.engine, bool(self.names), no_download)
            update |= {button: gr.Button(value=self._label(name), visible=not no_download)
                       for name, button in zip(self.names, self.buttons, strict=True)}
        return update

    def _no_download(self) -> str | None:
        return no_download_reason([self.engine.catalog[name] for name in self.names])

    def after_downloads(self):
        """Once no download runs any more, the box as things are (a model downloaded from the Catalog hides it)."""
        running = (downloads.manager().get(e.name) for e in self.engine.catalog if hub.is_hub_entry(e))
        if any(d is not None and d.active for d in running):
            return self._unchanged()
        self.engine.availability.forget()
        return self.refresh()

    def _unchanged(self) -> dict:
        # Gradio reads an empty dict as one output value, not as "no updates".
        return {component: gr.skip() for component in self.outputs}

    def _label(self, name: str) -> str:
        entry = self.engine.catalog[name]
        title = _title(entry)
        weights = hub.status(entry)
        if weights.state == "downloaded":
            return f"{title}: downloaded"
        size = f" ({hub.human_bytes(weights.download_bytes)})" if weights.download_bytes else ""
        return f"⬇ Download {title}{size}"

    def _starter(self, name: str):
        def start():
            download = downloads.manager().start(self.engine.catalog[name])
            return (gr.Timer(active=True), gr.HTML(self._progress_html(), visible=True),
                    gr.Button(visible=download.active))

        return start

    def _downloads(self) -> list[downloads.Download]:
        found = (downloads.manager().get(name) for name in self.names)
        return [d for d in found if d is not None]

    def cancel_downloads(self) -> None:
        for download in self._downloads():
            if download.active:
                download.cancel()

    def tick(self):
        current = self._downloads()
        running = any(d.active for d in current)
        update = {self.progress: gr.HTML(self._progress_html(), visible=True), self.cancel: gr.Button(visible=running)}
        if running:
            return update
        update[self.timer] = gr.Timer(active=False)
        if any(d.state == "done" for d in current):  # the weights are here: the entry is available without a restart
            self.engine.availability.forget()
            update |= self.refresh()
            if self.availability is not None:
                update |= dict(zip(self.availability_outputs, self.availability(), strict=True))
        return update

    def _progress_html(self) -> str:
        return "".join(_download_html(d.entry, d) for d in self._downloads())


def _title(entry: "ModelEntry") -> str:
    """``HuggingFaceTB/SmolVLM-256M-Instruct`` -> ``SmolVLM-256M``."""
    return entry.model.rsplit("/", 1)[-1].removesuffix("-Instruct")


def _download_html(entry: "ModelEntry", download: downloads.Download) -> str:
    fraction = 1.0 if download.state == "done" else download.fraction
    bar = "" if download.state == "failed" else f'<progress value="{fraction:.3f}" max="1"></progress>'
    return (f'<div class="arena-download {html.escape(download.state)}"><strong>{html.escape(_title(entry))}</strong>'
            f'{bar}<span class="arena-download-line">{html.escape(download.progress_line())}</span></div>')
