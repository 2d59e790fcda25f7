"""Suite results as HTML: the run matrix, one case's history, run A against run B, and the static report.

The same markup serves the app (pictures from its file route) and the self-contained report (pictures inlined).
This module decides what each table shows; the markup is Jinja2 templates, autoescaped
(arena/templates/suite_views.html.j2, suite_report.html.j2), where model text is escaped or rendered through
arena.render's allowlist. Answers that are web pages are previewed only in sandboxed frames (arena.sandbox).
"""

from __future__ import annotations

import base64
import difflib
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from markupsafe import Markup

from arena.store import OutputRecord, Store
from arena.suites.results import Change, HistoryRow, Matrix, MatrixCell

# record -> the URL of its thumbnail, or None
PictureURL = Callable[[OutputRecord], "str | None"]

CSS = """
.sx { --sx-fg: var(--body-text-color, #1e293b); --sx-muted: var(--body-text-color-subdued, #64748b);
  --sx-bg: var(--background-fill-primary, #ffffff); --sx-bg2: var(--background-fill-secondary, #f1f5f9);
  --sx-border: var(--border-color-primary, #cbd5e1); --sx-good: #16a34a; --sx-bad: #dc2626; --sx-warn: #d97706;
  --sx-auto: #6366f1; font-family: system-ui, sans-serif; color: var(--sx-fg); }
.sx-scroll { overflow-x: auto; max-width: 100%; }
.sx table { border-collapse: separate; border-spacing: 6px; width: 100%; table-layout: fixed; }
.sx th { text-align: left; font-size: 0.85em; color: var(--sx-muted); vertical-align: bottom; overflow-wrap: break-word;
  word-break: normal; hyphens: auto; }
.sx th.sx-case { width: 13em; }
.sx .sx-summary th:first-child { width: 12em; }
.sx td { vertical-align: top; overflow-wrap: anywhere; min-width: 0; }
.sx .sx-prompt { font-size: 0.85em; color: var(--sx-muted); overflow-wrap: anywhere; }
.sx .sx-cell { display: block; box-sizing: border-box; width: 100%; max-width: 100%; overflow: hidden; text-align: left;
  font: inherit; color: inherit; cursor: pointer; background: var(--sx-bg); border: 1px solid var(--sx-border);
  border-radius: 8px; padding: 6px; margin-bottom: 4px; overflow-wrap: anywhere; }
.sx button.sx-cell:hover, .sx button.sx-cell:focus-visible { outline: 2px solid var(--color-accent, #6366f1); }
.sx div.sx-cell { cursor: default; }
.sx .sx-cell.sx-pass { border-color: var(--sx-good); }
.sx .sx-cell.sx-fail { border-color: var(--sx-bad); background: color-mix(in srgb, var(--sx-bad) 12%, var(--sx-bg)); }
.sx .sx-cell.sx-error { border-color: var(--sx-warn);
  background: color-mix(in srgb, var(--sx-warn) 12%, var(--sx-bg)); }
.sx .sx-cell img { width: 100%; max-width: 200px; display: block; border-radius: 4px; }
.sx .sx-text { font-size: 0.82em; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 9em; overflow: hidden; }
.sx .sx-meta { font-size: 0.75em; color: var(--sx-muted); }
.sx .sx-answer { font-size: 0.85em; overflow-wrap: anywhere; min-width: 0; }
.sx .sx-answer pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--sx-bg2); padding: 4px; }
.sx .sx-answer .arena-table { overflow-x: auto; } .sx .sx-answer table { table-layout: auto; width: auto; }
.sx .sx-answer td, .sx .sx-answer th { overflow-wrap: normal; border: 1px solid var(--sx-border); padding: 2px 6px; }
.sx .sx-badge { display: inline-block; font-size: 0.72em; border-radius: 999px; padding: 0 7px; margin: 0 3px 3px 0;
  background: var(--sx-bg2); color: var(--sx-fg); border: 1px solid var(--sx-border); }
.sx .sx-badge.sx-good { background: color-mix(in srgb, var(--sx-good) 22%, var(--sx-bg));
  border-color: var(--sx-good); }
.sx .sx-badge.sx-bad { background: color-mix(in srgb, var(--sx-bad) 22%, var(--sx-bg));
  border-color: var(--sx-bad); }
.sx .sx-badge.sx-warn { background: color-mix(in srgb, var(--sx-warn) 22%, var(--sx-bg));
  border-color: var(--sx-warn); }
.sx .sx-badge.sx-auto { background: color-mix(in srgb, var(--sx-auto) 22%, var(--sx-bg));
  border-color: var(--sx-auto); }
.sx .sx-side { display: grid; grid-template-columns: repeat(auto-fit, minmax(12em, 1fr)); gap: 6px; }
.sx .sx-empty { color: var(--sx-muted); font-style: italic; }
.sx .sx-diff { display: grid; grid-template-columns: repeat(auto-fit, minmax(14em, 1fr)); gap: 8px; }
.sx .sx-diff > div { border: 1px solid var(--sx-border); border-radius: 8px; padding: 6px; min-width: 0;
  background: var(--sx-bg); }
.sx .sx-diff pre { font: inherit; font-size: 0.85em; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 0; }
.sx .sx-diff del { background: color-mix(in srgb, var(--sx-bad) 30%, var(--sx-bg)); text-decoration: line-through; }
.sx .sx-diff ins { background: color-mix(in srgb, var(--sx-good) 30%, var(--sx-bg)); text-decoration: none; }
.sx details > summary { cursor: pointer; }
"""

# The smallest width a model's column gets; past it the matrix scrolls sideways instead of squeezing.
COLUMN_EM = 15
CASE_EM = 13


def file_url(store: Store) -> PictureURL:
    """Thumbnails through the app's file route (the data folder's thumbs/ is on its allowed paths)."""

    def url(record: OutputRecord) -> str:
        [path] = store.thumb_paths([record])
        return "gradio_api/file=" + quote(str(path))

    return url


def inline_url(store: Store) -> PictureURL:
    """Thumbnails inlined as data URLs, for a report that is one file."""

    def url(record: OutputRecord) -> str:
        [path] = store.thumb_paths([record])
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:  # the picture is gone: its cell says so by an empty frame
            return None
        return f"data:image/{Path(path).suffix[1:]};base64," + base64.b64encode(data).decode()

    return url


# --- one run ------------------------------------------------------------------------------------------------


def summary_table(matrix: Matrix) -> str:
    rows = []
    for model in matrix.models:
        s = matrix.summary.get(model)
        if s is None:
            continue
        rate = ("—" if s.refusal_rate is None
                else f"{s.refusal_rate:.0%} ({s.refused_when_should_answer}/{s.should_answer})")
        rows.append((model, s.cells, s.errors, s.checks_passed, s.checks_failed, s.checks_not_graded, rate, s.cached))
    return _html("summary_table", rows)


def matrix_table(matrix: Matrix, picture: PictureURL, show: str = "all", clickable: bool = True,
                 full_text: bool = False, search: str = "", sort: str = "suite") -> str:
    cases = matrix.arranged(show, search, sort)
    if not cases:
        what = {"all": "no cells yet", "failures": "no failed checks", "errors": "no errors",
                "disagreements": "no case where the models disagree"}[show]
        if search.strip() and matrix.shown(show):
            what = f"no case matches {search.strip()!r}"
        return _html("empty", what)
    rows = [{"case": case, "disagrees": matrix.disagrees(case), "prompt": _cut(matrix.prompts.get(case, ""), 160),
             "cells": [[_cell_view(cell, picture, clickable, full_text) for cell in matrix.cells.get((case, model), [])]
                       for model in matrix.models]}
            for case in cases]
    return _html("matrix_table", matrix.models, rows, _least(len(matrix.models)))


def _least(columns: int, column_em: int = COLUMN_EM) -> int:
    """The smallest width of a table whose model columns keep a readable width: narrower, it scrolls sideways."""
    return CASE_EM + columns * column_em


def text_diff(a: str, b: str, label_a: str, label_b: str) -> str:
    """Two answers side by side, word by word: what only A says struck through, what only B says marked.
    Every piece of text is escaped; nothing in the answers is read as markup."""
    return _html("text_diff", _diff_view(a, b, label_a, label_b))


def _diff_view(a: str, b: str, label_a: str, label_b: str) -> dict:
    words_a, words_b = _tokens(a), _tokens(b)
    left, right = [], []
    matcher = difflib.SequenceMatcher(None, words_a, words_b, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        old, new = "".join(words_a[a0:a1]), "".join(words_b[b0:b1])
        if op == "equal":
            left.append((False, old))
            right.append((False, new))
            continue
        if old:
            left.append((True, old))
        if new:
            right.append((True, new))
    same = f"{matcher.ratio():.0%} the same" if words_a or words_b else "both empty"
    return {"same": same, "label_a": label_a, "label_b": label_b, "left": left, "right": right}


def _tokens(text: str) -> list[str]:
    return [token for token in re.split(r"(\s+)", text or "") if token]


def cell_html(cell: MatrixCell, picture: PictureURL, clickable: bool = True, full_text: bool = False) -> str:
    return _html("cell", _cell_view(cell, picture, clickable, full_text))


def _cell_view(cell: MatrixCell, picture: PictureURL, clickable: bool = True, full_text: bool = False) -> dict:
    """What a cell shows (arena/templates/suite_views.html.j2 lays it out): its state, badges, body and footer."""
    record = cell.record
    view = {"state": "sx-error" if cell.errored else ("sx-fail" if cell.failed else ("sx-pass" if cell.checks else "")),
            "badges": _badges(cell), "body": "text", "short": "", "meta": "",
            "key": f"{cell.run_id}|{cell.case_id}|{cell.model}|{cell.sample}" if clickable else None}
    if record is None:
        view["body"] = "deleted"
    elif record.images:
        view |= {"body": "picture", "alt": f"{cell.model} for {cell.case_id}", "src": picture(record) or ""}
    elif record.error:
        view["short"] = _cut(record.error, 300)
    elif full_text:
        view |= {"body": "answer", "short": _cut(record.text, 200), "text": record.text}
    else:
        view["short"] = _cut(record.text, 300)
    meta = []
    if record is not None:
        total = record.metrics.get("total_s")
        if total is not None:
            meta.append(f"{total:.1f} s")
        if record.used.get("seed") is not None:
            meta.append(f"seed {record.used['seed']}")
    if cell.sample:
        meta.append(f"sample {cell.sample + 1}")
    view["meta"] = " · ".join(meta)
    return view


def _badges(cell: MatrixCell) -> list[tuple[str, str]]:
    badges = []
    if cell.errored:
        badges.append(("sx-warn", cell.status))
    rules = [c for c in cell.checks if not c.get("automatic")]
    decided = [c for c in rules if c["passed"] is not None]
    if decided:
        passed = sum(c["passed"] for c in decided)
        badges.append(("sx-good" if passed == len(decided) else "sx-bad", f"✓ {passed}/{len(decided)}"
                       if passed == len(decided) else f"✗ {len(decided) - passed} of {len(decided)} failed"))
    undecided = len(rules) - len(decided)
    if undecided:  # e.g. a judge check while no judge was chosen: not a pass
        badges.append(("sx-warn", f"{undecided} not graded"))
    for judged in (c for c in cell.checks if c.get("automatic")):
        if judged["passed"] is None:  # no judge was chosen, or the output errored: not a pass
            badges.append(("sx-warn", "judge: not graded"))
            continue
        score = f" {judged['score']:g}" if judged.get("score") is not None else ""
        badges.append(("sx-auto", f"judge: {'pass' if judged['passed'] else 'fail'}{score} (automatic)"))
    if cell.refused:
        badges.append(("sx-bad" if any(c["check"] == "expects_answer" for c in cell.checks) else "", "refused"))
    if cell.cached:
        badges.append(("", "cached"))
    return badges


# --- one case across runs -----------------------------------------------------------------------------------


def history_table(case_id: str, history: list[HistoryRow], picture: PictureURL) -> str:
    if not history:
        return _html("empty", f"no run has a case {case_id}")
    models = list(dict.fromkeys(model for row in history for model in row.cells))
    rows = [{"day": _day(row.run.started_at), "edited": row.edited, "suite": row.run.suite,
             "version": row.run.version, "run_id": row.run.id,
             "cells": [[_cell_view(c, picture) for c in row.cells.get(model, [])] for model in models]}
            for row in history]
    return _html("history_table", models, rows, _least(len(models)))


# --- run A against run B -------------------------------------------------------------------------------------


def changes_table(changes: list[Change], picture: PictureURL) -> str:
    if not changes:
        return _html("empty", "no cell changed between the two runs")
    rows = []
    for change in changes:
        rows.append({
            "case": change.case_id, "model": change.model,
            "sample": f" · sample {change.sample + 1}" if change.sample else "",
            "what": [(_tone(w), w) for w in change.what],
            "sides": [_cell_view(cell, picture) if cell is not None else None for cell in (change.a, change.b)],
            "diff": (_diff_view(change.a.record.text, change.b.record.text, "run A", "run B")
                     if _texts(change.a, change.b) else None),
        })
    return _html("changes_table", rows, _least(2, column_em=12))


def _texts(a: MatrixCell | None, b: MatrixCell | None) -> bool:
    """Both cells hold a text answer, and the answers differ."""
    return bool(a and b and a.record and b.record and a.record.output == "text" and b.record.output == "text"
                and (a.record.text or "").strip() != (b.record.text or "").strip())


def _tone(what: str) -> str:
    if what in ("new refusal", "now errors") or what.endswith("now fails"):
        return "sx-bad"
    if what in ("no longer refuses", "no longer errors") or what.endswith("now passes"):
        return "sx-good"
    return "sx-warn" if "edited" in what else ""


# --- the static report ---------------------------------------------------------------------------------------


def report_page(store: Store, matrix: Matrix) -> str:
    """One self-contained HTML file: no script, pictures inlined, model text escaped, a CSP that loads nothing."""
    from arena import __version__
    from arena.templates import render

    store.thumb_paths(matrix.pictures())
    run = matrix.run
    counts = matrix.counts()
    meta = (f"run {run.id} · started {_day(run.started_at)} · {run.status} · {counts['cells']} cells, "
            f"{counts['errors']} errors, {counts['failures']} with a failed check, {counts['cached']} cached")
    if run.judge:
        meta += f" · judge {run.judge}"
    return render("suite_report.html.j2", title=f"{run.suite} v{run.version}", meta=meta, css=Markup(CSS),
                  summary=Markup(summary_table(matrix)), version=__version__,
                  matrix=Markup(matrix_table(matrix, inline_url(store), clickable=False, full_text=True)))


def _html(name: str, *args) -> str:
    """A macro of arena/templates/suite_views.html.j2, filled."""
    from arena.templates import macro

    return str(macro(name, "suite_views.html.j2")(*args))


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
