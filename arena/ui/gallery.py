"""The Gallery tab: every kept output as a thumbnail grid with filters; one record at a time in full."""

from __future__ import annotations

import json
import tempfile
from html import escape
from pathlib import Path
from urllib.parse import quote

import gradio as gr

from arena.engine import Engine
from arena.errors import InputError
from arena.lineage import Lineage
from arena.render import markdown_html
from arena.request import GenerationParams, Request
from arena.store import Filter, OutputRecord, Store, labels
from arena.store.export import export
from arena.ui.forms import FilterForm
from arena.ui.panes import status_word
from arena.ui.words import md, preview, storage_said, user_of

PER_PAGE = 24
# What a gallery with nothing in it says ("No outputs match." would blame filters nobody set).
NOTHING_KEPT = ('<div class="ga"><p class="ga-empty">Nothing kept yet: run a comparison in the Compare tab, and its '
                "answers and pictures show up here.</p></div>")

# A click on a card says which output; nothing else in the grid reacts.
_CARD_CLICKS = """
element.addEventListener('click', (event) => {
  const card = event.target.closest('[data-id]');
  if (card && !String(window.getSelection() || '')) trigger('pick', {id: card.dataset.id});  // not while selecting
});
element.addEventListener('keydown', (event) => {
  const card = event.target.closest('[data-id]');
  if (card && event.key === 'Enter') trigger('pick', {id: card.dataset.id});
});
"""
# A message said after a click on Show, a pager button or Really delete: on the screen, wherever the page was.
_SHOW_MESSAGE = """() => {
  const line = document.querySelector('#gallery-message');
  if (line && line.innerText.trim()) line.scrollIntoView({block: 'nearest'});
}"""
# Escape closes the open record (registered once, with the grid).
_ESCAPE_CLOSES = """
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') document.querySelector('#gallery-record-close')?.click();
});
"""

CSS = """
.ga { --ga-fg: var(--body-text-color); --ga-muted: var(--body-text-color-subdued);
  --ga-bg: var(--background-fill-primary); --ga-bg2: var(--background-fill-secondary);
  --ga-border: var(--border-color-primary); color: var(--ga-fg); }
.ga-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; }
.ga-small .ga-grid { grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); }
.ga-card { display: flex; flex-direction: column; gap: 4px; min-width: 0; box-sizing: border-box; text-align: left;
  font: inherit; color: inherit; cursor: pointer; padding: 6px; border-radius: 10px; background: var(--ga-bg);
  border: 1px solid var(--ga-border); }
.ga-card:hover, .ga-card:focus-visible { outline: 2px solid var(--color-accent); }
.ga-card img { width: 100%; aspect-ratio: 1; object-fit: contain; border-radius: 6px; background: var(--ga-bg2); }
.ga-body { aspect-ratio: 1; overflow: hidden; font-size: 0.8em; line-height: 1.35; white-space: pre-wrap;
  overflow-wrap: anywhere; padding: 6px; border-radius: 6px; background: var(--ga-bg2); user-select: text;
  cursor: text; -webkit-mask-image: linear-gradient(#000 80%, transparent);
  mask-image: linear-gradient(#000 80%, transparent); }
.ga-body.ga-error { color: var(--error-text-color, #b91c1c); }
.ga-prompt { font-size: 0.82em; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
  overflow: hidden; overflow-wrap: anywhere; }
.ga-model { font-size: 0.8em; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ga-meta { font-size: 0.72em; color: var(--ga-muted); }
.ga-groups { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.ga-group { border: 1px solid var(--ga-border); border-radius: 12px; padding: 8px 10px 10px; max-width: 100%;
  box-sizing: border-box; background: var(--ga-bg2); }
.ga-group .ga-grid { display: flex; flex-wrap: wrap; gap: 10px; }
.ga-group .ga-card { width: 170px; }
.ga-group h4 { margin: 0 0 6px; font-size: 0.9em; width: 0; min-width: 100%; overflow-wrap: anywhere;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.ga-empty { color: var(--ga-muted); font-style: italic; }
@media (max-width: 640px) {
  .ga-grid, .ga-small .ga-grid { grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); } }
#gallery-record { position: fixed !important; top: 0; right: 0; bottom: 0; z-index: 1000;
  width: min(720px, 100vw) !important; max-width: 100vw; overflow-y: auto; flex-wrap: nowrap !important;
  padding: 14px 16px 40px; box-sizing: border-box; background: var(--background-fill-primary);
  color: var(--body-text-color); border-left: 1px solid var(--border-color-primary);
  box-shadow: -12px 0 32px rgba(0, 0, 0, 0.25); }
#gallery-record > * { flex-shrink: 0; }
#gallery-record-close { position: sticky; top: 0; z-index: 2; align-self: flex-end; max-width: 8em; }
#gallery-message { scroll-margin: 16px 0; }
#gallery-newer:disabled, #gallery-older:disabled { opacity: 0.45; cursor: not-allowed; }
.ga-rerun-label { margin: 0.6em 0 0.3em; padding-top: 0.5em; border-top: 1px solid var(--border-color-primary);
  font-size: 0.85em; font-weight: 600; color: var(--body-text-color); }
"""


class GalleryView:
    def __init__(self, engine: Engine, store: Store):
        self.engine = engine
        self.store = store
        self.filters = FilterForm()

    # --- layout ----------------------------------------------------------------------------------------------

    def build(self) -> None:
        self.filters.build()
        with gr.Row(equal_height=True):
            self.refresh_button = gr.Button("Show", variant="primary", size="sm", elem_id="gallery-show")
            self.group = gr.Checkbox(label="Group by comparison", elem_id="gallery-group", container=False)
        # What the filters, the pager and a delete have to say: under Show, above the grid.
        self.message = gr.Markdown(elem_id="gallery-message")
        with gr.Row(equal_height=True):
            self.previous = gr.Button("← Newer", size="sm", interactive=False, elem_id="gallery-newer")
            self.page_info = gr.Markdown(elem_id="gallery-page-info")
            self.next = gr.Button("Older →", size="sm", interactive=False, elem_id="gallery-older")
        self.grid = gr.HTML(elem_id="gallery-grid", apply_default_css=False, js_on_load=_CARD_CLICKS + _ESCAPE_CLOSES)
        self.page = gr.State(1)
        self.page_ids = gr.State([])
        self.selected = gr.State(None)
        # One record in full, over the page's right side (the whole width on a phone), beside the grid.
        with gr.Column(visible=False, elem_id="gallery-record") as self.record_panel:
            self.record_close = gr.Button("Close ✕", size="sm", elem_id="gallery-record-close")
            self.record_head = gr.Markdown(elem_id="gallery-record-head")
            with gr.Row(equal_height=False):
                self.input_picture = gr.Image(label="Input image", type="filepath", interactive=False, height=260,
                                              visible=False, buttons=["fullscreen"])
                self.output_picture = gr.Image(label="Output", type="filepath", format="png", interactive=False,
                                               height=360, visible=False, buttons=["download", "fullscreen"],
                                               elem_id="gallery-output-picture")
                self.rerun_picture = gr.Image(label="Rerun", type="filepath", format="png", interactive=False,
                                              height=360, visible=False, elem_id="gallery-rerun-picture",
                                              buttons=["download", "fullscreen"])
            self.output_text = gr.HTML(elem_id="gallery-record-text", elem_classes=["arena-md"], js_on_load=None)
            self.preview = gr.HTML(elem_id="gallery-preview", apply_default_css=False, js_on_load=None, visible=False)
            self.rerun_text = gr.HTML(elem_id="gallery-rerun-text", elem_classes=["arena-md"], js_on_load=None)
            with gr.Row():
                self.favourite_button = gr.Button("☆ Favourite", size="sm", elem_id="gallery-favourite")
                self.rerun_button = gr.Button("Rerun", size="sm", elem_id="gallery-rerun")
                self.delete_button = gr.Button("Delete", size="sm", variant="stop", elem_id="gallery-delete")
                self.confirm_delete = gr.Button("Really delete", size="sm", variant="stop", visible=False,
                                                elem_id="gallery-confirm-delete")
            with gr.Row():
                self.note = gr.Textbox(label="Note", scale=4, max_lines=3, elem_id="gallery-note")
                self.save_note = gr.Button("Save note", size="sm", scale=1, elem_id="gallery-save-note")
            # What the record's buttons did (note saved, rerun done…), beside them, inside the record.
            self.record_message = gr.Markdown(elem_id="gallery-record-message")
            self.details = gr.Markdown(elem_id="gallery-record-details")
            with gr.Column(visible=False, elem_id="gallery-chain-box") as self.chain_box:
                gr.Markdown("**Its chain** (prompt → description → picture → critique, or a conversation's turns)")
                self.chain = gr.HTML(elem_id="gallery-chain", elem_classes=["ga-small"], apply_default_css=False,
                                     js_on_load=_CARD_CLICKS)
                self.chain_ids = gr.State([])
            gr.Markdown("**The comparison it belonged to**")
            self.siblings = gr.HTML(elem_id="gallery-siblings", elem_classes=["ga-small"], apply_default_css=False,
                                    js_on_load=_CARD_CLICKS)
            self.sibling_ids = gr.State([])
        with gr.Row():
            self.export_format = gr.Dropdown(elem_id="gallery-export-format",
                label="Export as", choices=[("static HTML page (zip)", "html"), ("JSON Lines + images (zip)", "jsonl"),
                                            ("contact sheet (PNG)", "sheet")], value="html", scale=2)
            self.export_filtered = gr.Button("Export what the filters show", size="sm", scale=1)
            self.export_comparison = gr.Button("Export the selected output's comparison", size="sm", scale=1)
            self.export_file = gr.File(label="Download", scale=2, interactive=False, elem_id="gallery-download",
                                       visible=False)  # until there is something to download
        self.export_message = gr.Markdown(elem_id="gallery-export-message")
        self._wire()

    def _wire(self) -> None:
        filters = self.filters
        # A set of inputs: each handler gets one dict (component → value), the filters read with FilterForm.read.
        page_inputs = self.page_inputs = {self.page, *filters.components, self.group}
        page_outputs = self.page_outputs = [self.grid, self.page, self.page_ids, self.page_info, filters.models,
                                            self.message, self.previous, self.next]
        common = dict(api_visibility="private", show_progress="hidden")
        gr.on([self.refresh_button.click, filters.words.submit, filters.favourites.change, filters.kind.change,
               self.group.change],
              lambda values: self.show_page(values, 1), page_inputs, page_outputs, **common
              ).then(None, js=_SHOW_MESSAGE)
        self.previous.click(lambda values: self.show_page(values, values[self.page] - 1), page_inputs, page_outputs,
                            **common).then(None, js=_SHOW_MESSAGE)
        self.next.click(lambda values: self.show_page(values, values[self.page] + 1), page_inputs, page_outputs,
                        **common).then(None, js=_SHOW_MESSAGE)
        record_outputs = [self.selected, self.record_panel, self.record_head, self.input_picture,
                          self.output_picture, self.output_text, self.preview, self.details, self.note,
                          self.favourite_button, self.siblings, self.sibling_ids, self.chain_box, self.chain,
                          self.chain_ids, self.rerun_picture, self.rerun_text,
                          self.confirm_delete, self.record_message, self.message]  # every component open() may update
        for cards in (self.grid, self.siblings, self.chain):
            cards.pick(self.open_picked, None, record_outputs, **common)
        self.record_close.click(lambda: gr.Column(visible=False), None, self.record_panel, queue=False,
                                api_visibility="private")
        self.favourite_button.click(self.toggle_favourite, [self.selected],
                                    [self.favourite_button, self.record_message], **common)
        self.save_note.click(self.store_note, [self.selected, self.note], [self.record_message], **common)
        self.delete_button.click(lambda: gr.Button(visible=True), None, [self.confirm_delete], **common)
        self.confirm_delete.click(self.delete, {self.selected, *page_inputs},
                                  [*page_outputs, self.record_panel, self.confirm_delete, self.record_message],
                                  **common).then(None, js=_SHOW_MESSAGE)
        self.rerun_button.click(self.rerun, [self.selected],
                                [self.rerun_picture, self.rerun_text, self.record_message],
                                api_visibility="private", concurrency_limit=4, concurrency_id="compare")
        self.export_filtered.click(self.export_view, {self.export_format, *filters.components},
                                   [self.export_file, self.export_message], **common)
        self.export_comparison.click(self.export_of_selected, [self.export_format, self.selected],
                                     [self.export_file, self.export_message], **common)

    # --- handlers --------------------------------------------------------------------------------------------

    @storage_said("message")
    def show_current(self, values: dict):
        """The page on screen again, as the filters (page_inputs) now say."""
        return self.show_page(values, values[self.page])

    @storage_said("message")
    def show_page(self, values: dict, page: int):
        """Page ``page`` of the outputs the filters (page_inputs) let through."""
        try:
            where = self.filters.read(values)
        except InputError as error:
            return {self.message: f"**Cannot filter:** {md(error)}"}
        page = max(1, page)
        records, total = self.store.query(where, page=page, per_page=PER_PAGE)
        pages = max(1, -(-total // PER_PAGE))
        if page > pages:
            page = pages
            records, total = self.store.query(where, page=page, per_page=PER_PAGE)
        if total == 0 and where == Filter():
            items = NOTHING_KEPT
        else:
            items = self._cards(records, grouped=bool(values.get(self.group)))
        info = f"{total} output{'s' if total != 1 else ''} · page {page} of {pages}"
        choices = self.store.models()
        return {
            self.grid: items,
            self.page: page,
            self.page_ids: [r.id for r in records],
            self.page_info: info,
            self.filters.models: gr.Dropdown(choices=choices, value=[m for m in where.models if m in choices]),
            self.message: "",
            self.previous: gr.Button(interactive=page > 1),
            self.next: gr.Button(interactive=page < pages),
        }

    def _cards(self, records: list[OutputRecord], grouped: bool = False, small: bool = False) -> str:
        """Cards as HTML: a picture, or the answer as real (selectable) text; the prompt in two lines; the model.
        Grouped: one box per comparison, its prompt once on top."""
        if not records:
            return '<div class="ga"><p class="ga-empty">No outputs match.</p></div>'
        paths = self.store.thumb_paths([r for r in records if r.images])
        thumbs = dict(zip([r.id for r in records if r.images], paths, strict=True))
        if not grouped:
            cards = "".join(_card(r, thumbs.get(r.id), show_prompt=not small) for r in records)
            return f'<div class="ga"><div class="ga-grid">{cards}</div></div>'
        groups: dict[str, list[OutputRecord]] = {}
        for record in records:
            groups.setdefault(record.comparison_id, []).append(record)
        boxes = "".join(
            f'<div class="ga-group" data-comparison="{escape(comparison)}"><h4>{escape(_cut(group[0].prompt, 200))}'
            f'</h4><div class="ga-grid">{"".join(_card(r, thumbs.get(r.id), show_prompt=False) for r in group)}'
            "</div></div>"
            for comparison, group in groups.items())
        return f'<div class="ga"><div class="ga-groups">{boxes}</div></div>'

    def open_picked(self, event: gr.EventData):
        picked = str((getattr(event, "_data", None) or {}).get("id", ""))
        return self.open(picked) if picked else {}

    @storage_said("message")
    def open(self, output_id: str):
        record = self.store.get(output_id)
        if record is None:
            return {self.selected: None, self.record_panel: gr.Column(visible=False)}
        siblings = self.store.siblings(record)
        chain = self.store.chain(record)
        reruns = self.store.reruns(record)
        latest = reruns[-1] if reruns else None
        return {
            self.selected: record.id,
            self.record_panel: gr.Column(visible=True),
            self.record_head: _head(record),
            self.input_picture: gr.Image(value=self._image_path(record.input_image), visible=bool(record.input_image)),
            self.output_picture: gr.Image(value=self._image_path(record.images[0] if record.images else None),
                                          visible=bool(record.images)),
            self.output_text: _text(record),
            self.preview: preview(record.text if record.output == "text" else ""),
            self.details: _details(record, reruns),
            self.note: record.note,
            self.favourite_button: _favourite_label(record.favourite),
            self.siblings: self._cards(siblings, small=True),
            self.sibling_ids: [s.id for s in siblings],
            self.chain_box: gr.Column(visible=len(chain) > 1),
            self.chain: self._cards(chain, small=True) if len(chain) > 1 else "",
            self.chain_ids: [c.id for c in chain],
            self.rerun_picture: self._rerun_picture(latest),
            self.rerun_text: _rerun_text(latest),
            self.confirm_delete: gr.Button(visible=False),
            self.record_message: "",
        }

    @storage_said("record_message")
    def toggle_favourite(self, output_id):
        record = self.store.get(output_id) if output_id else None
        if record is None:
            return {self.record_message: "Pick an output first."}
        self.store.set_favourite(record.id, not record.favourite)
        return {self.favourite_button: _favourite_label(not record.favourite), self.record_message: ""}

    @storage_said("record_message")
    def store_note(self, output_id, note):
        if not output_id or self.store.get(output_id) is None:
            return "Pick an output first."
        self.store.set_note(output_id, note or "")
        return "Note saved."

    @storage_said("record_message")
    def delete(self, values: dict):
        """Delete the open record; the page again without it, saying so above the grid (the record closes)."""
        output_id = values[self.selected]
        if not output_id or not self.store.delete(output_id):
            return {self.confirm_delete: gr.Button(visible=False), self.record_message: "Nothing to delete."}
        shown = self.show_current(values)
        said = " ".join(["Deleted 1 output.", shown[self.message]]).strip()  # with a filter's refusal, if any
        return {**shown, self.message: said, self.record_panel: gr.Column(visible=False),
                self.confirm_delete: gr.Button(visible=False), self.record_message: ""}

    @storage_said("record_message")
    def rerun(self, output_id, request: gr.Request = None):
        """The same prompt, image, parameters and seed to the same model; the new output goes beside the old."""
        record = self.store.get(output_id) if output_id else None
        if record is None:
            return gr.skip(), gr.skip(), "Pick an output first."
        try:
            engine = self.engine.signed_in(user_of(request))
            comparison = engine.start(rerun_request(self.store, record), [record.model],
                                           lineage=Lineage(rerun_of=record.id))
        except InputError as error:
            return gr.skip(), gr.skip(), f"**Cannot rerun:** {md(error)}"
        [pane] = comparison.wait()
        new = self.store.get(pane.record_id) if pane.record_id else None
        status = f"Rerun {md(status_word(pane.status))}" + (f": {md(pane.error)}" if pane.error else ".")
        return self._rerun_picture(new), _rerun_text(new), status

    @storage_said("export_message")
    def export_view(self, values: dict):
        """What the filters let through, in the chosen format."""
        try:
            records = self.store.all(self.filters.read(values))
            return self._export(records, values[self.export_format]), ""
        except (InputError, ValueError) as error:
            return _download(None), f"**Cannot export:** {md(error)}"

    @storage_said("export_message")
    def export_of_selected(self, fmt, output_id):
        record = self.store.get(output_id) if output_id else None
        if record is None:
            return _download(None), "Pick an output first."
        try:
            linked = {r.id: r for r in [*self.store.siblings(record), *self.store.chain(record)]}
            records = sorted(linked.values(), key=lambda r: r.created_at)
            return self._export(records, fmt, record.comparison_id), ""
        except ValueError as error:
            return _download(None), f"**Cannot export:** {md(error)}"

    # --- helpers ---------------------------------------------------------------------------------------------

    def _export(self, records: list[OutputRecord], fmt: str, name: str = "gallery") -> gr.File:
        folder = Path(tempfile.mkdtemp(prefix="arena-export-"))
        target = folder / (f"{name}.png" if fmt == "sheet" else f"{name}-{fmt}.zip")
        return _download(str(export(self.store, records, target, fmt)))

    def _rerun_picture(self, rerun: OutputRecord | None) -> gr.Image:
        path = self._image_path(rerun.images[0]) if rerun and rerun.images else None
        return gr.Image(value=path, visible=path is not None, label=_rerun_label(rerun) if path else "Rerun")

    def _image_path(self, sha: str | None) -> str | None:
        return str(self.store.images.path(sha)) if sha and self.store.images.exists(sha) else None


def rerun_request(store: Store, record: OutputRecord) -> Request:
    params = dict(record.params)
    if record.used.get("seed") is not None:
        params["seed"] = record.used["seed"]
    return Request(prompt=record.prompt, image=store.input_image(record.input_image),
                   params=GenerationParams.parse(params))


def _card(record: OutputRecord, thumb, show_prompt: bool = True) -> str:
    star = "★ " if record.favourite else ""
    if record.images and thumb is not None:
        body = (f'<img alt="{escape(record.model)}: {escape(_cut(record.prompt, 80))}" loading="lazy" '
                f'src="gradio_api/file={quote(str(thumb))}">')
    elif record.error:
        body = f'<div class="ga-body ga-error">{escape(_cut(record.error, 400))}</div>'
    else:
        body = f'<div class="ga-body">{escape(_cut(record.text or "(empty)", 600))}</div>'
    prompt = (f'<div class="ga-prompt" title="{escape(record.prompt)}">{escape(record.prompt)}</div>'
              if show_prompt else "")
    status = "" if record.status == "done" else f" · {escape(status_word(record.status))}"
    status += f" · by {escape(record.user_name)}" if record.user_name else ""
    return (f'<div class="ga-card" role="button" tabindex="0" data-id="{escape(record.id)}">{body}{prompt}'
            f'<div class="ga-model">{star}{escape(record.model)}</div>'
            f'<div class="ga-meta">{escape(record.created[:16])}{status}</div></div>')


def _cut(text: str, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _favourite_label(favourite: bool) -> str:
    return "★ Favourite" if favourite else "☆ Favourite"


def _head(record: OutputRecord) -> str:
    return (f"### {md(record.model)} · {md(status_word(record.status))}\n"
            f"`{record.id}` · {record.created} · {md(record.kind)}"
            + (f" · by **{md(record.user_name)}**" if record.user_name else "")
            + f"\n\n**Prompt:** {md(record.prompt)}")


def _text(record: OutputRecord | None) -> str:
    if record is None:
        return ""
    body = markdown_html(record.text or "")  # model text: arena.render's allowlist
    if record.error:
        body += f"<p><b>Error:</b> {escape(record.error)}</p>"
    return body


def _rerun_label(rerun: OutputRecord) -> str:
    """What a rerun is, said over it: picture or text alike."""
    seed = rerun.used.get("seed", rerun.params.get("seed"))
    parts = ["Rerun", rerun.model, *([f"seed {seed}"] if seed is not None else []), rerun.created]
    if rerun.status != "done":
        parts.append(status_word(rerun.status))
    return " · ".join(str(part) for part in parts)


def _rerun_text(rerun: OutputRecord | None) -> str:
    if rerun is None or rerun.output != "text":
        return ""
    return f'<div class="ga-rerun-label">{escape(_rerun_label(rerun))}</div>{_text(rerun)}'


def _details(record: OutputRecord, reruns: list[OutputRecord]) -> str:
    def pairs(values: dict) -> str:
        return " · ".join(f"{md(name)} **{md(value)}**" for name, value in labels.shown(record, values))

    sections = [("You set", pairs(record.params)), ("Used", pairs(record.used)),
                ("Timings and counts", pairs(record.metrics)),
                ("Model", f"{md(record.entry.get('kind', ''))} "
                          f"`{str(record.entry.get('model', '')).replace('`', '')}`"),
                ("Libraries", " · ".join(f"{md(k)} **{md(v)}**" for k, v in sorted(record.versions.items())))]
    lines = [f"**{name}:** {value}" for name, value in sections if value.strip(" `")]
    if record.notices:
        lines.insert(0, "**Notes from the run:** " + " ".join(md(n) for n in record.notices))
    if record.rerun_of:
        lines.insert(0, f"Rerun of `{record.rerun_of}`.")
    if reruns:
        lines.insert(0, "Reruns: " + ", ".join(f"`{r.id}` ({md(r.status)})" for r in reruns))
    full = json.dumps(record.to_dict(), indent=1, sort_keys=True, ensure_ascii=False)
    return "\n\n".join(lines) + f"\n\n<details><summary>Full record</summary>\n\n```json\n{full}\n```\n</details>"


def _download(path: str | None) -> gr.File:
    """The download box, shown only while it holds an export."""
    return gr.File(value=path, visible=path is not None)
