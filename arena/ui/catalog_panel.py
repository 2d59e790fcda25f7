"""The Catalog at the foot of the Compare tab: every entry and whether it can run, and for hub weights a row with
their state (downloaded, size to download, gated, will not fit, offline), a Download button, a progress bar with
bytes, speed and time left, and Cancel.

Downloads run in ``arena.downloads``' thread pool, shared by every page: a timer on each page that watches one
redraws the rows, and when the last ends the Compare view's model lists, so a downloaded model can be ticked
without a restart.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import gradio as gr

from arena import downloads, hub

if TYPE_CHECKING:
    from arena.catalog import ModelEntry
    from arena.engine import Engine

TICK_S = 0.5

CSS = """
.arena-dl-row { align-items: center !important; gap: 8px !important; flex-wrap: nowrap !important; }
.arena-dl-row > .html-container, .arena-dl-row > div:first-child { flex: 1 1 auto; min-width: 0; }
.arena-dl-row button { flex: 0 0 auto !important; min-width: 0 !important; white-space: nowrap; }
.arena-dl { display: grid; grid-template-columns: minmax(8em, 14em) 1fr; gap: 2px 10px; align-items: center;
            font-size: 0.9em; }
.arena-dl .arena-dl-name { font-weight: 600; overflow-wrap: anywhere; }
.arena-dl progress { width: 100%; height: 0.8em; appearance: none; border: none; border-radius: 4px;
                     background: var(--border-color-primary); overflow: hidden; }
.arena-dl progress::-webkit-progress-bar { background: var(--border-color-primary); }
.arena-dl progress::-webkit-progress-value { background: var(--color-accent); }
.arena-dl progress::-moz-progress-bar { background: var(--color-accent); }
.arena-dl .arena-dl-line { color: var(--body-text-color-subdued); }
.arena-dl.downloading .arena-dl-line, .arena-dl.checking .arena-dl-line { grid-column: 1 / -1; }
.arena-dl.failed .arena-dl-line, .arena-dl.gated .arena-dl-line, .arena-dl.wont-fit .arena-dl-line,
.arena-dl.missing .arena-dl-line { color: var(--error-text-color, #b91c1c); }
@media (max-width: 640px) { .arena-dl { grid-template-columns: 1fr; } }
/* On a phone each entry of the catalog's table is a card of lines: as a table it was wider than the screen and
   its status column, which says why an entry cannot run, was out of sight. Columns: model, kind, id, image in,
   status. */
@media (max-width: 640px) {
  #arena-catalog-table :is(table, tbody, tr, td) { display: block; width: auto; }
  #arena-catalog-table table { border: none; }
  #arena-catalog-table thead { display: none; }
  #arena-catalog-table tr { border-bottom: 1px solid var(--border-color-primary); padding: 6px 0; }
  #arena-catalog-table td { border: none !important; padding: 1px 0 !important; text-align: left; }
  #arena-catalog-table td:nth-child(1) { font-weight: 600; }
  #arena-catalog-table td:nth-child(3) code { overflow-wrap: anywhere; }
  #arena-catalog-table td:nth-child(4)::before { content: "image in: "; color: var(--body-text-color-subdued); }
}
"""
# A link to the catalog ("why: see the Catalog") opens it as well as scrolling to it.
CATALOG_LINK_JS = """() => {
  if (window.arenaCatalogLink) return;
  window.arenaCatalogLink = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href="#arena-catalog"]');
    const opener = document.querySelector("#arena-catalog > button");
    if (!link || !opener) return;
    event.preventDefault();
    if (!opener.classList.contains("open")) opener.click();
    opener.scrollIntoView({behavior: "smooth", block: "start"});
  });
}"""


class CatalogPanel:
    """Built inside the Compare view; ``outputs`` / ``updates()`` join the view's availability outputs."""

    def __init__(self, engine: "Engine"):
        self.engine = engine
        self.names = [e.name for e in engine.catalog if hub.is_hub_entry(e)]
        self.rows: dict[str, gr.HTML] = {}
        self.download_buttons: dict[str, gr.Button] = {}
        self.cancel_buttons: dict[str, gr.Button] = {}

    def build(self, table_markdown: str) -> tuple[gr.Markdown, gr.Button]:
        with gr.Accordion("Catalog", open=False, elem_id="arena-catalog"):
            self.table = gr.Markdown(table_markdown, elem_id="arena-catalog-table")
            if self.names:
                gr.Markdown("**Hugging Face weights** (downloaded once into the Hugging Face cache, HF_HOME; "
                            "a gated model needs HF_TOKEN):", elem_classes=["arena-hint"])
            for name in self.names:
                slug = name.replace(".", "-")
                with gr.Row(equal_height=True, elem_classes=["arena-dl-row"], elem_id=f"arena-dl-{slug}"):
                    self.rows[name] = gr.HTML(self._row_html(name), elem_id=f"arena-dl-row-{slug}")
                    self.download_buttons[name] = gr.Button(
                        self._download_label(name), size="sm", variant="primary",
                        visible=self._can_download(name), elem_id=f"arena-dl-button-{slug}")
                    self.cancel_buttons[name] = gr.Button("Cancel", size="sm", variant="stop",
                                                          visible=self._active(name), elem_id=f"arena-dl-cancel-{slug}")
            self.refresh_button = gr.Button("Check availability again", size="sm", elem_id="arena-catalog-refresh")
        self.timer = gr.Timer(TICK_S, active=False)
        return self.table, self.refresh_button

    def wire(self, view) -> None:
        """Events, once the view's availability outputs (which hold this panel's) are known."""
        self.view = view
        for name in self.names:
            self.download_buttons[name].click(self._starter(name), None, self.outputs, api_visibility="private",
                                              show_progress="hidden")
            self.cancel_buttons[name].click(self._canceller(name), None, None, api_visibility="private",
                                            show_progress="hidden")
        self.timer.tick(self.tick, None, view.availability_outputs, api_visibility="private",
                        show_progress="hidden")

    # --- what the page shows -------------------------------------------------------------------------------

    @property
    def outputs(self) -> list:
        return [self.timer, *self.rows.values(), *self.download_buttons.values(), *self.cancel_buttons.values()]

    def updates(self) -> list:
        """Values for ``outputs`` as things are now (the timer runs while any download does)."""
        return [
            gr.Timer(active=any(self._active(n) for n in self.names)),
            *(self._row_html(n) for n in self.names),
            *(gr.Button(value=self._download_label(n), visible=self._can_download(n)) for n in self.names),
            *(gr.Button(visible=self._active(n)) for n in self.names),
        ]

    def tick(self):
        """While downloads run, their rows; when the last has ended, the whole view's model lists too."""
        if any(self._active(n) for n in self.names):
            skipped = len(self.view.availability_outputs) - len(self.outputs)
            return [gr.skip()] * skipped + self.updates()
        self.engine.availability.forget()
        return list(self.view.availability())

    def _starter(self, name: str):
        def start():
            downloads.manager().start(self.engine.catalog[name])
            return self.updates()

        return start

    def _canceller(self, name: str):
        def cancel() -> None:
            downloads.manager().cancel(name)

        return cancel

    def _download(self, name: str) -> downloads.Download | None:
        download = downloads.manager().get(name)
        if download is None:  # another entry naming the same repository may be fetching it
            model = self.engine.catalog[name].model
            found = (downloads.manager().get(n) for n in self.names if self.engine.catalog[n].model == model)
            download = next((d for d in found if d is not None and d.active), None)
        return download

    def _active(self, name: str) -> bool:
        download = self._download(name)
        return download is not None and download.active

    def _can_download(self, name: str) -> bool:
        if self._active(name):
            return False
        return hub.status(self.engine.catalog[name]).state == "not-downloaded"

    def _download_label(self, name: str) -> str:
        download = self._download(name)
        status = hub.status(self.engine.catalog[name])
        size = f" ({hub.human_bytes(status.download_bytes)})" if status.download_bytes else ""
        partly = status.sentence.startswith("partly") or (download is not None and download.state == "cancelled")
        return f"⬇ {'Resume download' if partly else 'Download'}{size}"

    def _row_html(self, name: str) -> str:
        return row_html(self.engine.catalog[name], self._download(name))


def row_html(entry: "ModelEntry", download: downloads.Download | None) -> str:
    """One hub entry: its name and model id, then its state, or its download's progress bar and line."""
    label = (f'<span class="arena-dl-name">{html.escape(entry.name)}<br><small><code>{html.escape(entry.model)}'
             f'</code></small></span>')
    if download is not None and download.active:
        bar = f'<progress value="{download.fraction:.3f}" max="1"></progress>'
        return (f'<div class="arena-dl {html.escape(download.state)}">{label}{bar}'
                f'<span class="arena-dl-line">{html.escape(download.progress_line())}</span></div>')
    status = hub.status(entry)
    line = status.sentence
    if download is not None and download.state in ("failed", "cancelled"):
        line = download.progress_line()
    state = download.state if download is not None and download.state == "failed" else status.state
    return (f'<div class="arena-dl {html.escape(state)}">{label}'
            f'<span class="arena-dl-line">{html.escape(line)}</span></div>')
