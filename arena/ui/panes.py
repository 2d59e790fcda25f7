"""How one pane looks: everything here is escaped text made into small HTML, or Markdown Gradio sanitises."""

from __future__ import annotations

from html import escape

from arena.pane import PaneSnapshot
from arena.request import Turn
from arena.results import metrics_line
from arena.ui.words import md

_STATUS_WORDS = {
    "queued": "queued",
    "running": "running",
    "done": "done",
    "error": "failed",
    "cancelled": "stopped",
}


def header_html(pane: PaneSnapshot, origin: str = "") -> str:
    status = _STATUS_WORDS[pane.status]
    activity = f" · {escape(pane.activity)}" if pane.activity and pane.status == "running" else ""
    return (
        f'<div class="arena-pane-head" data-status="{pane.status}">'
        f'<div class="arena-pane-title"><span class="arena-model">{escape(pane.model)}</span>'
        f'<span class="arena-status arena-status-{pane.status}">{status}</span></div>'
        f'<div class="arena-kind">{escape(pane.kind_label)}{activity}</div>'
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
    return f'<div class="arena-pane-foot" data-status="{pane.status}">{"".join(parts)}</div>'


def body_markdown(pane: PaneSnapshot, earlier: tuple[Turn, ...] = (), asked: str = "") -> str:
    """The answer as it grows; in a conversation, the model's own earlier turns above it."""
    if pane.text:
        body = pane.text
    elif pane.output == "text" and pane.status in ("queued", "running"):
        body = "*…*"
    else:
        body = ""
    if not earlier:
        return body
    lines = []
    for turn in earlier:
        if turn.role == "user":
            lines.append(f"**You:** {md(turn.text)}" + (" *(with an image)*" if turn.image is not None else ""))
        else:
            lines.append(f"**{md(pane.model)}:** {turn.text}")
    return "\n\n".join([*lines, f"**You:** {md(asked)}", f"**{md(pane.model)}:** {body}"])


CSS = """
.arena-pane { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px; }
.arena-pane-title { display: flex; justify-content: space-between; align-items: center; gap: 8px; }
.arena-model { font-weight: 700; font-size: 1.05em; overflow-wrap: anywhere; }
.arena-kind { color: var(--body-text-color-subdued); font-size: 0.85em; }
.arena-notice { font-size: 0.85em; margin-top: 4px; padding: 2px 6px; border-radius: 6px;
  background: var(--color-accent-soft); }
.arena-status { font-size: 0.8em; padding: 1px 8px; border-radius: 999px; white-space: nowrap;
  background: var(--neutral-200); color: var(--neutral-800); }
.arena-status-running { background: #dbeafe; color: #1e40af; }
.arena-status-done { background: #dcfce7; color: #166534; }
.arena-status-error { background: #fee2e2; color: #991b1b; }
.arena-status-cancelled { background: #fef3c7; color: #92400e; }
.arena-error { color: #b91c1c; font-weight: 600; margin: 4px 0; overflow-wrap: anywhere; }
.arena-origin { font-size: 0.85em; color: #6d28d9; }
.arena-pane-actions { gap: 6px !important; }
.arena-pane-actions button { min-width: 0 !important; }
.arena-metrics { color: var(--body-text-color-subdued); font-size: 0.85em; }
.arena-progress { width: 100%; height: 10px; }
.arena-text { max-height: 420px; overflow-y: auto; }
.arena-pane [data-testid=markdown].arena-text { padding-right: 28px; }
#arena-unavailable { font-size: 0.85em; color: var(--body-text-color-subdued); }
#arena-unavailable ul { margin-top: 0; }
#arena-panes { display: grid !important; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 12px; }
#arena-panes > .arena-pane { min-width: 0 !important; }
"""
