"""Judge votes: a judge model compares, for every case of a suite run, each pair of models' outputs.

Each pair is asked in both orders, to cancel position bias: the vote goes to a model only when the judge prefers
it in both orders; a judge that prefers whichever answer comes first (or that changes its mind) gives a tie.
Text answers are compared as text (with the case's input image, for a judge that takes images); pictures are
shown to a vision judge side by side in one image, A on the left, B on the right. Votes are stored with the
judge's name as the voter and "judge" as the kind of voter.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable

from PIL import Image, ImageDraw

from arena.engine import Job
from arena.errors import InputError
from arena.images import InputImage
from arena.request import GenerationParams, Request
from arena.store import new_id
from arena.wording import counted

if TYPE_CHECKING:
    from arena.engine import Engine
    from arena.store import OutputRecord

TEXT_PROMPT = """You are an impartial judge. Two assistants answered the same request. Decide which answer is better:
more correct, more helpful, and closer to what was asked. Ignore the order in which they are shown and their length.

[Request]
{prompt}

[Answer A]
{a}
[End of answer A]

[Answer B]
{b}
[End of answer B]

Reply with one line, exactly one of: "Verdict: A", "Verdict: B" or "Verdict: tie"."""

PICTURE_PROMPT = """You are an impartial judge. The attached image holds two pictures side by side, made by two
generators from the same prompt: picture A on the left, picture B on the right. Decide which picture matches the
prompt better and looks better. Ignore which side each is on.

[Prompt]
{prompt}

Reply with one line, exactly one of: "Verdict: A", "Verdict: B" or "Verdict: tie"."""

_VERDICT = re.compile(r"verdict\W{0,6}(?:answer\s+|picture\s+|model\s+)?\[?\s*(a|b|tie)\b", re.IGNORECASE)
_ALONE = re.compile(r"^\W*(?:answer\s+|picture\s+)?(a|b|tie)\W*$", re.IGNORECASE)
JUDGE_PARAMS = GenerationParams(temperature=0, max_tokens=256)
MAX_ANSWER_CHARS = 12_000


def parse_verdict(text: str) -> str | None:
    """"a", "b" or "tie" from the judge's reply ("Verdict: A", "**Verdict:** [B]", a bare "tie"); None when it
    gives none. The last verdict line counts (a judge may restate the format before answering)."""
    found = _VERDICT.findall(text or "")
    if found:
        return found[-1].lower()
    alone = _ALONE.match((text or "").strip())
    return alone.group(1).lower() if alone else None


def combine(first: str | None, second: str | None) -> str | None:
    """One outcome for (x, y) from the verdict with x shown as A and the verdict with y shown as A.

    x wins only when preferred in both orders; the same position preferred twice, or a change of mind, is a tie.
    None when either verdict could not be read."""
    if first is None or second is None:
        return None
    as_x = {"a": "a", "b": "b", "tie": "tie"}[first]
    swapped = {"a": "b", "b": "a", "tie": "tie"}[second]
    return as_x if as_x == swapped else "tie"


@dataclass
class JudgedPair:
    case_id: str
    sample: int
    model_a: str
    model_b: str
    outcome: str | None  # a | b | tie, or None when the judge gave no readable verdict
    verdicts: tuple[str | None, str | None]
    vote: object | None = None
    problem: str = ""


@dataclass
class JudgeReport:
    run_id: str
    judge: str
    pairs: list[JudgedPair] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def votes(self) -> int:
        return sum(p.vote is not None for p in self.pairs)

    def summary(self) -> str:
        counts = {"a": 0, "b": 0, "tie": 0}
        for pair in self.pairs:
            if pair.outcome in counts:
                counts[pair.outcome] += 1
        unread = sum(p.outcome is None for p in self.pairs)
        line = (f"{self.judge} judged {counted(len(self.pairs), 'pair')} of run {self.run_id}: "
                f"{counted(self.votes, 'vote')} stored "
                f"({counts['a'] + counts['b']} with a winner, {counts['tie']} ties)")
        if unread:
            line += f"; {unread} without a readable verdict"
        if self.skipped:
            line += f"; skipped: {'; '.join(self.skipped[:3])}" + (" …" if len(self.skipped) > 3 else "")
        return line + "."


class RunJudge:
    def __init__(self, engine: "Engine", run_id: str, judge: str, votes=None):
        if engine.store is None:
            raise InputError("Judge votes are kept in the gallery's database, and the store is off.")
        self.engine = engine
        self.store = engine.store
        self.run = self.store.get_run(run_id)
        if self.run is None:
            raise InputError(f"No suite run with id {run_id}.")
        engine.check(Request("judge"), [judge])
        self.judge = judge
        self.entry = engine.catalog[judge]
        if self.entry.output != "text":
            raise InputError(f"{judge} draws pictures; a judge must be a text (vision-language) model.")
        if votes is None:
            from arena.battles.battle import default_votes

            votes = default_votes(engine)
        if votes is None:
            raise InputError("Votes cannot be kept: the vote store is not available.")
        self.votes = votes

    def pairs(self) -> list[tuple["OutputRecord", "OutputRecord"]]:
        """Every pair of finished outputs of the same case and sample, each pair once."""
        outputs: dict[tuple[str, int], list] = {}
        for cell in self.store.run_cells(self.run.id):
            if cell.status == "done" and cell.output_id:
                outputs.setdefault((cell.case_id, cell.sample), []).append(cell.output_id)
        found = []
        for _, ids in sorted(outputs.items()):
            records = [r for r in (self.store.get(i) for i in ids) if r is not None]
            found += list(itertools.combinations(sorted(records, key=lambda r: r.model), 2))
        return found

    def run_all(self, on_pair: Callable[[JudgedPair], None] | None = None,
                should_stop: Callable[[], bool] = lambda: False) -> JudgeReport:
        report = JudgeReport(self.run.id, self.judge)
        for first, second in self.pairs():
            if should_stop():
                break
            if first.output == "image" and not self.entry.image_input:
                report.skipped.append(f"{first.case_id}: pictures need a judge that takes images")
                continue
            judged = self.judge_pair(first, second)
            report.pairs.append(judged)
            if on_pair is not None:
                on_pair(judged)
        return report

    def judge_pair(self, first: "OutputRecord", second: "OutputRecord") -> JudgedPair:
        jobs = [Job(self.judge, self._request(first, second)), Job(self.judge, self._request(second, first))]
        panes = self.engine.start_each(jobs, save=False).wait()
        verdicts = tuple(parse_verdict(p.text) if p.status == "done" else None for p in panes)
        judged = JudgedPair(first.case_id or "", first.sample or 0, first.model, second.model,
                            combine(*verdicts), verdicts)
        failed = [p.error or p.status for p in panes if p.status != "done"]
        if failed:
            judged.problem = f"the judge failed: {failed[0]}"
        if judged.outcome is not None:
            judged.vote = self.votes.add(
                battle_id=f"judge-{new_id()}", kind=first.output, model_a=first.model, model_b=second.model,
                outcome=judged.outcome, reason=f"judge verdicts: {verdicts[0]} / {verdicts[1]} (both orders)",
                output_a=first.id, output_b=second.id, text_a=first.text, text_b=second.text, prompt=first.prompt,
                suite=self.run.suite, case_id=first.case_id, case_tags=self.case_tags.get(first.case_id or "", ()),
                voter=self.judge, voter_kind="judge")
        return judged

    @cached_property
    def case_tags(self) -> dict[str, tuple[str, ...]]:
        """Each case's tags, read from the run's suite file while it is there and still that suite."""
        from arena.suites.model import load_suite

        try:
            suite = load_suite(self.run.source) if self.run.source else None
        except (OSError, ValueError):
            return {}
        if suite is None or suite.name != self.run.suite:
            return {}
        return {case.id: tuple(case.tags) for case in suite.cases}

    def _request(self, a: "OutputRecord", b: "OutputRecord") -> Request:
        if a.output == "image":
            picture = side_by_side(self._picture(a), self._picture(b))
            return Request(PICTURE_PROMPT.format(prompt=a.prompt), InputImage(picture), JUDGE_PARAMS, stream=False)
        prompt = TEXT_PROMPT.format(prompt=a.prompt, a=a.text[:MAX_ANSWER_CHARS], b=b.text[:MAX_ANSWER_CHARS])
        image = self.store.input_image(a.input_image) if self.entry.image_input else None
        return Request(prompt, image, JUDGE_PARAMS, stream=False)

    def _picture(self, record: "OutputRecord") -> Image.Image | None:
        if not record.images or not self.store.images.exists(record.images[0]):
            return None
        with Image.open(self.store.images.path(record.images[0])) as picture:
            return picture.convert("RGB")


def side_by_side(left: Image.Image | None, right: Image.Image | None, height: int = 512) -> Image.Image:
    """Two pictures at the same height, A on the left and B on the right, each labelled."""
    pictures = [p if p is not None else Image.new("RGB", (height, height), "grey") for p in (left, right)]
    scaled = [p.resize((max(1, round(p.width * height / p.height)), height)) for p in pictures]
    gap, band = 16, 40
    canvas = Image.new("RGB", (scaled[0].width + gap + scaled[1].width, height + band), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for label, picture in zip("AB", scaled, strict=True):
        canvas.paste(picture, (x, band))
        draw.text((x + 8, 8), label, fill="black", font_size=24)
        x += picture.width + gap
    return canvas
