"""Checks on one output: text rules, "produced an image", refusals, and an automatic judge."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable

from arena.store import OutputRecord
from arena.suites.model import Check, UnsupportedPattern, compile_regex

if TYPE_CHECKING:
    from arena.images import InputImage

# Phrases over-cautious models open a refusal with. Looked for near the start of the answer only.
_REFUSAL = re.compile(
    r"\b(I'?m sorry|I am sorry|I apologi[sz]e|I can(?:'|no)t (?:help|assist|provide|do|comply|create|write)|"
    r"I cannot (?:help|assist|provide|do|comply|create|write)|I(?:'m| am) (?:not able|unable) to|I won'?t|"
    r"I must decline|I'm not comfortable|as an AI(?: language model)?,? I)",
    re.IGNORECASE,
)
_VERDICT = re.compile(r"\b(PASS|FAIL)\b", re.IGNORECASE)
_SCORE = re.compile(r"\b(10|[0-9])(?:\s*/\s*10)?\b")

# judge(rubric, record) -> (passed, score, reason); None when no judge model was chosen.
Judge = Callable[[str, OutputRecord], "tuple[bool | None, float | None, str]"]


@dataclass
class CheckResult:
    check: str
    passed: bool | None  # None: could not be decided (no judge, or the output errored)
    detail: str = ""
    automatic: bool = False  # a model's judgement, shown apart from the rule checks
    score: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def refused(text: str) -> bool:
    return bool(_REFUSAL.search(" ".join(text.split())[:300]))


def evaluate(check: Check, record: OutputRecord, judge: Judge | None = None) -> CheckResult:
    name = check.name
    if record.status != "done":
        return CheckResult(name, None, f"no output to check ({record.status})")
    text = record.text or ""
    if check.contains is not None:
        found = check.contains.lower() in text.lower()
        return CheckResult(name, found, f"{'found' if found else 'missing'}: {check.contains!r}")
    if check.not_contains is not None:
        found = check.not_contains.lower() in text.lower()
        return CheckResult(name, not found, f"{'found' if found else 'absent'}: {check.not_contains!r}")
    if check.regex is not None:
        try:
            match = compile_regex(check.regex).search(text)
        except UnsupportedPattern as error:
            return CheckResult(name, None, str(error))
        return CheckResult(name, bool(match), f"matched {match.group(0)!r}" if match else "no match")
    if check.produced_image is not None:
        made = bool(record.images)
        return CheckResult(name, made == check.produced_image, f"{len(record.images)} image(s)")
    if check.expects_refusal is not None or check.expects_answer is not None:
        did_refuse = refused(text)
        wanted_refusal = bool(check.expects_refusal) if check.expects_refusal is not None else not check.expects_answer
        return CheckResult(name, did_refuse == wanted_refusal, "refused" if did_refuse else "answered")
    if judge is None:
        return CheckResult(name, None, "no judge model chosen", automatic=True)
    passed, score, reason = judge(check.judge or "", record)
    return CheckResult(name, passed, reason, automatic=True, score=score)


def judge_prompt(rubric: str, record: OutputRecord) -> str:
    answer = record.text if record.output == "text" else "(the attached picture)"
    return (
        "You grade another model's output against a rubric. Reply on one line as: "
        "PASS or FAIL; a score from 0 to 10; one sentence of reason.\n\n"
        f"Rubric: {rubric}\n\nThe prompt it was given: {record.prompt}\n\nIts output: {answer}"
    )


def parse_verdict(text: str) -> tuple[bool | None, float | None, str]:
    verdict = _VERDICT.search(text)
    score = _SCORE.search(text[verdict.end():] if verdict else text)
    reason = " ".join(text.split())[:300]
    return (verdict.group(1).upper() == "PASS") if verdict else None, float(score.group(1)) if score else None, reason


def judge_input_image(record: OutputRecord, load) -> "InputImage | None":
    """The picture the judge should look at: the output's own for image outputs, else the case's input."""
    return load(record.images[0] if record.images else record.input_image)
