"""How one pane looks: escaped text made into small HTML, and model text through arena.render's allowlist."""

from __future__ import annotations

from html import escape

from arena.pane import PaneSnapshot
from arena.pane_export import metrics_line
from arena.render import markdown_html, plain_html, streaming_html
from arena.request import Turn

_STATUS_WORDS = {
    "queued": "queued",
    "running": "running",
    "done": "done",
    "error": "failed",
    "cancelled": "stopped",
}


def status_word(status: str) -> str:
    """What a pane calls a status ("stopped" for cancelled, "failed" for error); the gallery says the same."""
    return _STATUS_WORDS.get(status, status)


def header_html(pane: PaneSnapshot, origin: str = "") -> str:
    status = _STATUS_WORDS[pane.status]
    activity = ""
    if pane.activity and pane.status == "running":  # e.g. "loading libraries…", with a clock that keeps moving
        clock = f" · {pane.total_s:.1f} s" if pane.total_s is not None else ""
        activity = f'<div class="arena-activity">{escape(pane.activity)}{clock}</div>'
    return (
        f'<div class="arena-pane-head" data-status="{pane.status}">'
        f'<div class="arena-pane-title"><span class="arena-model">{escape(pane.model)}</span>'
        f'<span class="arena-status arena-status-{pane.status}">{status}</span></div>'
        f'<div class="arena-kind">{escape(pane.kind_label)}</div>{activity}'
        + (f'<div class="arena-origin">{escape(origin)}</div>' if origin else "")
        + "".join(f'<div class="arena-notice">{escape(n)}</div>' for n in pane.notices)
        + "</div>"
    )


def footer_html(pane: PaneSnapshot) -> str:
    parts = []
    if pane.steps_total:
        parts.append(
            f'<progress class="arena-progress" max="{pane.steps_total}" value="{pane.steps_done}"></progress>'
        )
    elif pane.status == "running" and pane.output == "image":
        parts.append('<progress class="arena-progress"></progress>')
    if pane.error:
        parts.append(f'<div class="arena-error">{escape(pane.error)}</div>')
    metrics = metrics_line(pane)
    if metrics:
        parts.append(f'<div class="arena-metrics">{escape(metrics)}</div>')
    if pane.used.get("seed") is not None and pane.output == "image":
        parts.append(f'<div class="arena-metrics">seed {int(pane.used["seed"])}</div>')
    if pane.record_id:
        parts.append(f'<div class="arena-metrics arena-saved">kept in the gallery as {escape(pane.record_id)}</div>')
    elif pane.unsaved:
        parts.append(f'<div class="arena-error arena-unsaved">{escape(pane.unsaved)}</div>')
    return f'<div class="arena-pane-foot" data-status="{pane.status}">{"".join(parts)}</div>'


def body_html(pane: PaneSnapshot, earlier: tuple[Turn, ...] = (), asked: str = "") -> str:
    """The answer as it grows (arena.render's safe HTML); in a conversation, a chat: the user's turns as bubbles,
    the model's answers below each."""
    if pane.text:
        answer = markdown_html(pane.text) if pane.finished else streaming_html(pane.text)
    elif pane.output == "text" and pane.status in ("queued", "running"):
        answer = '<p class="arena-waiting">…</p>'
    else:
        answer = ""
    if not answer and not earlier:
        return ""
    turns = []
    for turn in earlier:
        if turn.role == "user":
            turns.append(_user_turn(turn.text, turn.image is not None))
        else:
            turns.append(_model_turn(markdown_html(turn.text), source=turn.text))
    if earlier:
        turns.append(_user_turn(asked, False))
    turns.append(_model_turn(answer, source=pane.text if pane.finished else ""))
    return f'<div class="arena-chat">{"".join(turns)}</div>'


def _user_turn(text: str, with_image: bool) -> str:
    image = '<div class="arena-turn-note">with an image</div>' if with_image else ""
    return f'<div class="arena-turn arena-turn-user"><div class="arena-bubble">{plain_html(text)}{image}</div></div>'


def _model_turn(html: str, source: str = "") -> str:
    """A model's answer; once it is whole, a Copy button that copies its Markdown as written."""
    if not source:
        return f'<div class="arena-turn arena-turn-model"><div class="arena-md">{html}</div></div>'
    return (f'<div class="arena-turn arena-turn-model" data-source="{escape(source, quote=True)}">'
            f'<div class="arena-md">{html}</div>'
            '<button type="button" class="arena-copy" title="copy this answer (Markdown)">Copy</button></div>')


# gr.HTML(js_on_load=BODY_JS): the Copy button under an answer copies that answer's Markdown; while an answer
# streams, the box follows its end unless the reader has scrolled up.
BODY_JS = """
let following = true;
element.addEventListener('scroll', () => {
  following = element.scrollTop + element.clientHeight >= element.scrollHeight - 24;
});
new MutationObserver(() => {
  if (element.scrollHeight <= element.clientHeight + 4) following = true;
  if (following) element.scrollTop = element.scrollHeight;
}).observe(element, {childList: true, subtree: true, characterData: true});
element.addEventListener('click', async (event) => {
  const button = event.target.closest('.arena-copy');
  if (!button) return;
  const text = button.parentElement.dataset.source ?? button.parentElement.querySelector('.arena-md').innerText;
  try { await navigator.clipboard.writeText(text); }
  catch (error) {
    const range = document.createRange();
    range.selectNodeContents(button.parentElement.querySelector('.arena-md'));
    const selection = getSelection(); selection.removeAllRanges(); selection.addRange(range);
    document.execCommand('copy'); selection.removeAllRanges();
  }
  button.textContent = 'Copied'; setTimeout(() => { button.textContent = 'Copy'; }, 1200);
});
"""

CSS = """
.arena-pane { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px; }
.arena-pane-title { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.arena-model { font-weight: 700; font-size: 1.05em; overflow-wrap: anywhere; }
.arena-kind { color: var(--body-text-color-subdued); font-size: 0.85em; }
.arena-activity { font-size: 0.85em; color: var(--color-accent); font-variant-numeric: tabular-nums; }
.arena-notice { font-size: 0.85em; margin-top: 4px; padding: 2px 6px; border-radius: 6px;
  background: var(--color-accent-soft); }
.arena-status { font-size: 0.8em; padding: 1px 8px; border-radius: 999px; white-space: nowrap;
  background: var(--neutral-200); color: var(--neutral-800); }
.arena-status-running { background: #dbeafe; color: #1e40af; }
.arena-status-done { background: #dcfce7; color: #166534; }
.arena-status-error { background: #fee2e2; color: #991b1b; }
.arena-status-cancelled { background: #fef3c7; color: #92400e; }
.dark .arena-status { background: var(--neutral-700); color: var(--neutral-100); }
.dark .arena-status-running { background: rgba(59, 130, 246, 0.25); color: #bfdbfe; }
.dark .arena-status-done { background: rgba(34, 197, 94, 0.22); color: #bbf7d0; }
.dark .arena-status-error { background: rgba(239, 68, 68, 0.25); color: #fecaca; }
.dark .arena-status-cancelled { background: rgba(245, 158, 11, 0.22); color: #fde68a; }
.arena-error { color: var(--error-text-color); font-weight: 600; margin: 4px 0; overflow-wrap: anywhere; }
.arena-origin { font-size: 0.85em; color: var(--color-accent); }
.arena-pane:not(:has(.arena-pane-head)) { display: none !important; }
.arena-pane-actions { gap: 6px !important; }
/* While a pane streams its buttons stay out of the way; the server sets them only when it ends (each property
   update costs Gradio a new component). */
.arena-pane:has(.arena-pane-foot:is([data-status=running], [data-status=queued])) .arena-pane-actions
  button:not(.arena-widen) { display: none !important; }
.arena-pane-actions button { min-width: 0 !important; }
.arena-metrics { color: var(--body-text-color-subdued); font-size: 0.85em; }
.arena-progress { width: 100%; height: 10px; }
#arena-unavailable { font-size: 0.85em; color: var(--body-text-color-subdued); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
#arena-unavailable p { margin: 0; }
.arena-hint { color: var(--body-text-color-subdued); }
.arena-hint p { margin: 0; }
.arena-upload-note, .arena-upload-note p { color: var(--error-text-color, #dc2626) !important; font-size: 0.9em; }
.arena-upload-note:empty { display: none; }
#arena-message { min-height: 1.5em; scroll-margin-top: 8px; }
/* "Pick the best" buttons keep their own height beside the choices (the row stretched them to its height: on a
   phone, a grey block as tall as the list of models). */
#pick-best > button { align-self: flex-start; }
/* As many columns as panes (up to what fits); a widened pane takes the whole row. */
#arena-panes { display: grid !important; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px;
  grid-auto-flow: row dense; }
#arena-panes > .arena-pane { min-width: 0 !important; }
#arena-panes > .arena-pane.arena-wide { grid-column: 1 / -1; }
.arena-pane.arena-wide .arena-text { max-height: 75vh; }
/* Small pictures are scaled up to the box (the fullscreen button and a click show them at their own size). */
.arena-picture img { width: 100%; height: 100%; object-fit: contain; cursor: zoom-in; }
/* Phones: panes side by side in a row that scrolls sideways, each most of the screen wide. */
@media (max-width: 640px) {
  #arena-panes { grid-template-columns: none; grid-auto-flow: column; grid-auto-columns: minmax(280px, 88%);
    overflow-x: auto; scroll-snap-type: x proximity; padding-bottom: 6px; }
  #arena-panes > .arena-pane { scroll-snap-align: start; }
  #arena-panes > .arena-pane.arena-wide { grid-column: auto; }
  .arena-widen { display: none !important; }
}
"""

# The pane's body (body_html): a chat, model text as safe HTML. Theme variables only, so dark mode follows.
BODY_CSS = """
/* The component's own box scrolls (it stays while each update replaces what is inside). */
.prose.arena-text { max-height: 520px; overflow-y: auto; min-width: 0; }
.arena-pane.arena-wide .prose.arena-text { max-height: 75vh; }
.arena-chat { display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.arena-turn { min-width: 0; }
.arena-turn-user { display: flex; justify-content: flex-end; }
.arena-bubble { max-width: 85%; padding: 6px 12px; border-radius: 14px 14px 4px 14px;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary);
  color: var(--body-text-color); }
.arena-turn-note { font-size: 0.8em; color: var(--body-text-color-subdued); }
.arena-plain { white-space: pre-wrap; overflow-wrap: anywhere; }
.arena-md { overflow-wrap: break-word; min-width: 0; }
.arena-md p, .arena-md li, .arena-md blockquote, .arena-md h1, .arena-md h2, .arena-md h3 { overflow-wrap: anywhere; }
.arena-md > :first-child { margin-top: 0; }
.arena-md > :last-child { margin-bottom: 0; }
.arena-md .arena-table { overflow-x: auto; max-width: 100%; margin: 0.5em 0; }
.arena-md table { border-collapse: collapse; width: max-content; max-width: none; margin: 0; }
.arena-md th, .arena-md td { border: 1px solid var(--border-color-primary); padding: 3px 8px;
  overflow-wrap: normal; word-break: normal; white-space: normal; }
.arena-md th { background: var(--background-fill-secondary); }
.arena-md pre { overflow-x: auto; max-width: 100%; white-space: pre; padding: 8px;
  background: var(--code-background-fill, var(--background-fill-secondary)); border-radius: 6px; }
.arena-md code { overflow-wrap: anywhere; }
.arena-md pre code { overflow-wrap: normal; }
.arena-md math[display=block] { display: block math; overflow-x: auto; max-width: 100%; margin: 0.6em 0; }
.arena-md img { max-width: 100%; height: auto; }
.arena-md .arena-image-link { font-size: 0.9em; overflow-wrap: anywhere; }
.arena-md blockquote { border-left: 3px solid var(--border-color-primary); margin-left: 0; padding-left: 10px;
  color: var(--body-text-color-subdued); }
.arena-waiting { color: var(--body-text-color-subdued); margin: 0; }
.arena-copy { margin-top: 4px; font-size: 0.8em; padding: 1px 10px; border-radius: 6px; cursor: pointer;
  background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  border: 1px solid var(--border-color-primary); }
.arena-copy:hover { background: var(--button-secondary-background-fill-hover); }
"""
