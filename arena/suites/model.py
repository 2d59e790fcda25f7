"""Prompt suites: a versioned YAML file of cases, each with a stable id, run against any set of models.

    name: seed
    version: 1
    defaults: {max_tokens: 400}
    cases:
      - id: spider-draw
        prompt: a charming spider at work
        expect: image
        params: {seed: 7, steps: 4}
        checks: [{produced_image: true}]
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arena.paths import ASSETS
from arena.request import GenerationParams
from arena.suites.problems import suite_problems
from arena.yamlfile import read_mapping


class SuiteError(ValueError):
    pass


class UnsupportedPattern(ValueError):
    """A regex check RE2 cannot run (back-references, look-arounds) or that is too large."""


# Regex checks run on RE2: matching takes time linear in the answer, so no pattern can pin a core
# (Python's re backtracks: `(a+)+b` on a long answer ran for over ten minutes).
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.max_mem = 8 << 20


@lru_cache(maxsize=256)
def compile_regex(pattern: str):
    """A case-insensitive, multi-line RE2 pattern, or UnsupportedPattern saying why not in plain words."""
    try:
        re.compile(pattern)
    except re.error as error:
        raise UnsupportedPattern(f"regex {pattern[:80]!r} does not compile: {error}") from None
    try:
        return re2.compile(f"(?im){pattern}", _RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise UnsupportedPattern(f"unsupported pattern {pattern[:80]!r}: {reason} (regex checks use RE2: "
                                 "no back-references or look-arounds)") from None


class Check(BaseModel):
    """One check; exactly one of its fields is set."""

    model_config = ConfigDict(extra="forbid")

    contains: str | None = None
    not_contains: str | None = None
    regex: str | None = None
    produced_image: bool | None = None
    expects_refusal: bool | None = None
    expects_answer: bool | None = None
    judge: str | None = Field(None, description="a rubric a vision-language model grades the output against")

    @model_validator(mode="after")
    def _one(self) -> "Check":
        chosen = [name for name, value in self if value is not None]
        if len(chosen) != 1:
            names = " and ".join(chosen) if chosen else "none"
            raise ValueError(f"a check names exactly one kind ({', '.join(type(self).model_fields)}), but this one "
                             f"names {names}")
        if self.regex is not None:
            compile_regex(self.regex)
        return self

    @property
    def name(self) -> str:
        return next(name for name, value in self if value is not None)


# Said in the web app too, so it names no folder of the server's.
_WHERE_IMAGES = "a case's image is a file in Arena's assets/ folder, beside app.py, not beside the suite file"


def _asset_names() -> list[str]:
    try:
        return sorted(str(path.relative_to(ASSETS)) for path in ASSETS.rglob("*") if path.is_file())[:500]
    except OSError:
        return []


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)
    prompt: str = Field(min_length=1)
    image: str | None = Field(None, description="a file under assets/")
    expect: Literal["text", "image"] = "text"
    params: GenerationParams = Field(default_factory=GenerationParams)
    samples: int = Field(1, ge=1, le=20)
    tags: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)

    @field_validator("image")
    @classmethod
    def _under_assets(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = (ASSETS / value).resolve()
        if ASSETS.resolve() not in path.parents:
            raise ValueError(f"image {value[:80]!r} lies outside assets/: {_WHERE_IMAGES}")
        if not path.is_file():
            close = difflib.get_close_matches(value, _asset_names(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"image {value[:80]!r} is not in assets/{hint}: {_WHERE_IMAGES}")
        return value

    def image_path(self) -> Path | None:
        return ASSETS / self.image if self.image else None


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    version: int | str
    description: str = ""
    defaults: GenerationParams = Field(default_factory=GenerationParams)
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "Suite":
        ids = [case.id for case in self.cases]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"case ids must be unique: {', '.join(map(repr, repeated))} "
                             f"{'is' if len(repeated) == 1 else 'are'} used by more than one case")
        return self

    def params(self, case: Case) -> GenerationParams:
        return case.params.over(self.defaults)

    def case_hash(self, case: Case) -> str:
        """What the case asks, hashed: an edited case no longer matches its old results."""
        image = case.image_path()
        content = {
            "prompt": case.prompt,
            "expect": case.expect,
            "params": self.params(case).model_dump(exclude_none=True),
            "image": hashlib.sha256(image.read_bytes()).hexdigest() if image else None,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def file_stem(suite_name: str, run_id: str) -> str:
    """A file name for a run's report: the suite's name as a short safe slug (no folders, dots or NUL), then the
    run's id; a name with nothing usable gives "suite"."""
    slug = re.sub(r"[^A-Za-z0-9_\-]+", "-", suite_name).strip("-_")[:60].strip("-_") or "suite"
    return f"{slug}-{re.sub(r'[^A-Za-z0-9]', '', run_id)[:40]}"


def load_suite(path: Path | str) -> Suite:
    """Parse a suite file; a malformed one raises SuiteError: the file, then each problem in a sentence naming the
    case (by id, else by number from 1), the check (from 1), what is wrong and what is allowed."""
    path = Path(path)
    document = read_mapping(path, SuiteError, "name, version and cases")
    try:
        return Suite.model_validate(document)
    except ValidationError as error:
        models = {"Suite": Suite, "Case": Case, "Check": Check, "GenerationParams": GenerationParams}
        raise SuiteError(f"{path}: {suite_problems(error, document, models)}") from None
