"""The Leaderboard tab: the people's board and a judge's board side by side, for text models or image
generators, with filters, a plot of the ratings with their 95 % intervals and a pairwise win-rate heat map.

Layout and wiring only: arena.battles.leaderboard picks the votes and arena.battles.ratings ranks them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING

import gradio as gr

from arena.battles.leaderboard import board, vote_filter
from arena.errors import InputError
from arena.inputs import parse_day
from arena.wording import counted

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from arena.battles.ratings import Leaderboard
    from arena.store import Store

KINDS = [("Text models (vision-language)", "text"), ("Image generators", "image")]
PEOPLE = [("People, blind", "people"), ("People, named (Compare's picks)", "named")]
ANY = ""
LEAKS_LABEL = "Count blind votes whose answers named a model or vendor"
INK = "#8a8f98"  # reads on the light and the dark theme alike

CSS = """
#leaderboard-boards { align-items: flex-start; }
#leaderboard-filters { align-items: end; }
.lb-table { width: 100%; border-collapse: collapse; font-size: 0.92em; }
.lb-table th, .lb-table td { padding: 4px 6px; border-bottom: 1px solid var(--border-color-primary); text-align: left;
  vertical-align: top; }
.lb-table td.num, .lb-table th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.lb-table tr.lb-few td.num.rating { color: var(--body-text-color-subdued); font-style: italic; }
.lb-note { color: var(--body-text-color-subdued); font-size: 0.88em; }
.lb-title { font-weight: 700; margin: 4px 0; }
.lb-empty { color: var(--body-text-color-subdued); padding: 8px 0; }
@media (max-width: 640px) { #leaderboard-boards { flex-direction: column; } .lb-table .lb-wide { display: none; } }
"""


class LeaderboardView:
    def __init__(self, store: "Store"):
        self.store = store

    def build_tab(self) -> None:
        """The tab itself, computed afresh each time it is opened."""
        with gr.Tab("Leaderboard", id="leaderboard", elem_id="leaderboard-tab") as tab:
            self.build()
        tab.select(self.show, self.inputs, self.outputs, api_visibility="private", show_progress="hidden")

    def build(self) -> None:
        gr.Markdown("Bradley–Terry ratings from the votes (400 points = 10 to 1 odds; 1000 is the models' mean), "
                    "with 95% bootstrap intervals. Models whose intervals overlap share a rank.")
        with gr.Row(elem_id="leaderboard-filters"):
            self.kind = gr.Radio(KINDS, value="text", label="Board", elem_id="leaderboard-kind")
            self.people = gr.Radio(PEOPLE, value="people", label="People's votes", elem_id="leaderboard-people")
            self.judge = gr.Dropdown([("(none yet)", ANY)], value=ANY, label="Judge", elem_id="leaderboard-judge")
        with gr.Row(elem_id="leaderboard-more-filters"):
            self.suite = gr.Dropdown([("Any suite", ANY)], value=ANY, label="Suite")
            self.tag = gr.Dropdown([("Any tag", ANY)], value=ANY, label="Case tag")
            self.since = gr.Textbox(label="From (YYYY-MM-DD)", max_lines=1, elem_id="leaderboard-since")
            self.until = gr.Textbox(label="Until (YYYY-MM-DD)", max_lines=1, elem_id="leaderboard-until")
            self.leaks = gr.Checkbox(label=LEAKS_LABEL, elem_id="leaderboard-leaks")
            self.refresh = gr.Button("Refresh", size="sm", elem_id="leaderboard-refresh")
        self.message = gr.Markdown(elem_id="leaderboard-message")
        with gr.Row(elem_id="leaderboard-boards"):
            with gr.Column(elem_id="leaderboard-people-board"):
                self.people_table = gr.HTML(elem_id="leaderboard-people-table")
                self.people_plot = gr.Plot(show_label=False, visible=False, elem_id="leaderboard-people-plot")
            with gr.Column(elem_id="leaderboard-judge-board"):
                self.judge_table = gr.HTML(elem_id="leaderboard-judge-table")
                self.judge_plot = gr.Plot(show_label=False, visible=False, elem_id="leaderboard-judge-plot")
        self.inputs = [self.kind, self.people, self.judge, self.suite, self.tag, self.since, self.until, self.leaks]
        self.outputs = [self.judge, self.suite, self.tag, self.message, self.people_table, self.people_plot,
                        self.judge_table, self.judge_plot]
        for control in (self.kind, self.people, self.judge, self.suite, self.tag, self.leaks):
            control.input(self.show, self.inputs, self.outputs, api_visibility="private", show_progress="hidden")
        for box in (self.since, self.until):
            box.submit(self.show, self.inputs, self.outputs, api_visibility="private", show_progress="hidden")
        self.refresh.click(self.show, self.inputs, self.outputs, api_visibility="private", show_progress="hidden")

    def show(self, kind, people, judge, suite, tag, since, until, leaks) -> dict:
        from arena.store.votes import VoteStore

        votes = VoteStore(self.store)
        judges = votes.voters("judge")
        facets = votes.facets()
        judge = judge if judge in judges else (judges[0] if judges else ANY)
        suite = suite if suite in facets["suites"] else ANY
        tag = tag if tag in facets["tags"] else ANY
        updates = {
            self.judge: gr.update(choices=[(j, j) for j in judges] or [("(none yet)", ANY)], value=judge),
            self.suite: gr.update(choices=[("Any suite", ANY)] + [(s, s) for s in facets["suites"]], value=suite),
            self.tag: gr.update(choices=[("Any tag", ANY)] + [(t, t) for t in facets["tags"]], value=tag),
        }
        try:
            span = {"since": parse_day(since), "until": parse_day(until, end_of_day=True)}
        except InputError as error:
            return updates | {self.message: f"⚠ {error}"}
        kind = kind if kind in ("text", "image") else "text"
        common = {"kind": kind, "suite": suite or None, "case_tag": tag or None, **span}
        people_votes = vote_filter(voter=people or "people", include_leaks=bool(leaks), **common)
        people_board = board(self.store, people_votes)
        people_title = _people_title(people, bool(leaks))
        left_out = _flagged_left_out(votes, people_votes)
        filtered = any(common[key] for key in ("suite", "case_tag", "since", "until"))
        hint = ("No votes match these filters." if filtered else "No votes here yet: press “Pick the best…” under a "
                "comparison in the Compare tab." if people == "named" else "No votes here yet: vote in the Battle tab.")
        updates |= {self.message: "", self.people_table: board_html(people_board, people_title, left_out, hint),
                    self.people_plot: _plot(people_board)}
        if judge:
            judge_board = board(self.store, vote_filter(voter=judge, **common))
            updates |= {self.judge_table: board_html(judge_board, f"Judge: {judge}"),
                        self.judge_plot: _plot(judge_board)}
        else:
            updates |= {self.judge_table: _empty("Judge", "No judge has voted yet: run a suite, then press "
                                                 "“Judge this run” in the Suites tab (or python -m arena battle "
                                                 "judge RUN_ID --judge MODEL)."),
                        self.judge_plot: gr.Plot(value=None, visible=False)}
        return updates


def _plot(table: "Leaderboard") -> gr.Plot:
    """The board's figure; hidden while it has nothing to draw (an empty plot frame says nothing)."""
    figure = board_figure(table)
    return gr.Plot(value=figure, visible=figure is not None)


def _people_title(people: str, leaks: bool) -> str:
    if people == "named":
        return "People, named (Compare's picks)"
    return "People, blind" + (" (flagged votes counted)" if leaks else "")


def _flagged_left_out(votes, counted) -> int:
    """How many blind votes the board's filters pick but leave out because an answer named a model or vendor."""
    if counted.voter_kind != "people_blind" or counted.include_leaks:
        return 0
    with_flagged = replace(counted, include_leaks=True)
    return sum(row[-1] for row in votes.counts(with_flagged)) - sum(row[-1] for row in votes.counts(counted))


def left_out_sentence(left_out: int) -> str:
    if left_out <= 0:
        return ""
    return (f"{_votes(left_out)} left out because an answer named a model or vendor; tick “{LEAKS_LABEL}” to count "
            + ("it." if left_out == 1 else "them."))


def _votes(n: int) -> str:
    return counted(n, "vote")


def _empty(title: str, sentence: str) -> str:
    return f'<div class="lb-title">{escape(title)}</div><div class="lb-empty">{escape(sentence)}</div>'


def board_html(table: Leaderboard, title: str, left_out: int = 0, empty: str = "No votes here yet.") -> str:
    """The board as an HTML table (every name escaped: imported votes may carry any text); ``left_out`` flagged
    votes are said under its title; ``empty`` where there are none."""
    if not table.rows:
        return _empty(title, left_out_sentence(left_out) or empty)
    note = f'<div class="lb-note lb-left-out">{escape(left_out_sentence(left_out))}</div>' if left_out else ""
    lines = [f'<div class="lb-title">{escape(title)} · {_votes(table.votes)}</div>{note}',
             '<table class="lb-table"><thead><tr><th class="num">Rank</th><th>Model</th><th class="num">Rating</th>'
             '<th class="num lb-wide">95% interval</th><th class="num">Votes</th><th class="num lb-wide">Win rate'
             '</th></tr></thead><tbody>']
    for row in table.rows:
        few = ' class="lb-few"' if row.too_few else ""
        rating = f"{row.rating:.0f}" if row.rating is not None else "—"
        interval = f"{row.lower:.0f} – {row.upper:.0f}" if row.lower is not None else "—"
        rate = f"{row.win_rate:.0%}" if row.win_rate is not None else "—"
        note = f'<div class="lb-note">⚠ {escape(row.note)}</div>' if row.note else ""
        lines.append(f"<tr{few}><td class=\"num\">{row.rank or '—'}</td><td>{escape(row.model)}{note}</td>"
                     f"<td class=\"num rating\">{rating}</td><td class=\"num lb-wide\">{interval}</td>"
                     f"<td class=\"num\">{row.votes}</td><td class=\"num lb-wide\">{rate}</td></tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def board_figure(table: Leaderboard) -> "Figure | None":
    """Ratings with their intervals (best on top), then who beats whom how often."""
    from matplotlib.figure import Figure

    ranked = [row for row in table.rows if row.rating is not None]
    if not ranked:
        return None
    n = len(ranked)
    names = [_short(row.model) for row in ranked]
    line, cell = (0.32, 0.42) if n <= 12 else (0.2, 0.2)  # inches per model: many models, smaller rows
    figure = Figure(figsize=(6.4, 2.2 + (line + cell) * n), layout="constrained")
    figure.patch.set_alpha(0)
    top, bottom = figure.subplots(2, 1, height_ratios=[0.4 + line * n, 0.8 + cell * n])
    ys = list(range(n))[::-1]
    ratings = [row.rating for row in ranked]
    colours = ["#9aa0a6" if row.too_few else "#e8590c" for row in ranked]
    for row, y, colour in zip(ranked, ys, colours, strict=True):
        top.errorbar([row.rating], [y], xerr=[[row.rating - row.lower], [row.upper - row.rating]], fmt="none",
                     ecolor=colour, elinewidth=2, capsize=4)
    top.scatter(ratings, ys, c=colours, zorder=3, s=28)
    top.set_yticks(ys, names, fontsize=8 if n <= 12 else 6)
    top.set_xlabel("rating (95% interval)")
    top.axvline(1000, color=INK, linewidth=0.8, linestyle=":")
    heat = bottom.imshow(table.win_rates, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    bottom.set_xticks(range(n), names, rotation=40 if n <= 12 else 90, ha="right" if n <= 12 else "center")
    bottom.set_yticks(range(n), names)
    bottom.set_title("share of battles the row's model won against the column's (ties half)", fontsize=9,
                     color=INK)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                share = table.win_rates[i, j]
                if not math.isnan(share):
                    ink = "#111" if 0.2 < share < 0.8 else "#fff"  # dark on the pale middle, light on the ends
                    bottom.text(j, i, f"{share:.0%}", ha="center", va="center", fontsize=8, color=ink)
    colourbar = figure.colorbar(heat, ax=bottom, shrink=0.8)
    for axes in (top, bottom, colourbar.ax):
        axes.set_facecolor("none")
        axes.tick_params(colors=INK, labelsize=8)
        axes.xaxis.label.set_color(INK)
        for spine in axes.spines.values():
            spine.set_color(INK)
    return figure


def _short(name: str, most: int = 28) -> str:
    return name if len(name) <= most else name[: most - 1] + "…"
