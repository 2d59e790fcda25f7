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
            raise ValueError(f"a check has exactly one of {', '.join(type(self).model_fields)}; got {chosen or 'none'}")
        if self.regex is not None:
            compile_regex(self.regex)
        return self

    @property
    def name(self) -> str:
        return next(name for name, value in self if value is not None)


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
            raise ValueError("must be a file under assets/")
        if not path.is_file():
            raise ValueError(f"no file assets/{value}")
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
            raise ValueError(f"case ids must be unique; repeated: {', '.join(repeated)}")
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
    """Parse a suite file; a malformed one raises SuiteError naming the file, the case id and the field."""
    path = Path(path)
    document = read_mapping(path, SuiteError, "name, version and cases")
    try:
        return Suite.model_validate(document)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            location = list(problem["loc"])
            where = ".".join(map(str, location)) or "suite"
            if len(location) >= 2 and location[0] == "cases" and isinstance(location[1], int):
                cases = document.get("cases") or []
                raw = cases[location[1]] if location[1] < len(cases) else {}
                case_id = raw.get("id", f"#{location[1] + 1}") if isinstance(raw, dict) else f"#{location[1] + 1}"
                where = f"case {case_id}: " + (".".join(map(str, location[2:])) or "case")
            problems.append(f"{where}: {problem['msg']}")
        raise SuiteError(f"{path}: " + "; ".join(problems)) from None
