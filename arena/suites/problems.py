"""A suite file's validation errors in plain words: where (case, check), what is wrong, and what is allowed.

    case 'spider', check 1: unknown check 'contian', did you mean 'contains'? (known: contains, not_contains, …)

pydantic says the same as ``cases.0.checks.0.contian: Extra inputs are not permitted``; a person editing YAML should
not have to know that cases count from 0 or what an "input" is.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

MOST_SAID = 5  # problems listed in full; the rest are counted

_EXAMPLES = {
    "Suite": "a mapping with name, version and cases",
    "Case": "a mapping such as {id: spider, prompt: a charming spider}",
    "Check": "a mapping such as {contains: spider}",
    "GenerationParams": "a mapping such as {seed: 7, steps: 4}",
}
_LISTS = {"cases": "a list of cases, each with an id and a prompt", "checks": "a list such as [{contains: spider}]",
          "tags": "a list such as [vision, robustness]"}
_KINDS = {"int": "a whole number", "str": "text", "float": "a number", "bool": "true or false"}
_WRONG_TYPE = {
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "text", "finite_number": "a number (not infinity or NaN)",
}


def suite_problems(error: ValidationError, document: dict, models: dict[str, type[BaseModel]]) -> str:
    """Every problem of ``error`` as 'where: what' joined by '; ' (the first MOST_SAID, then a count).

    ``models`` maps the names Suite, Case, Check and GenerationParams to their classes."""
    said: dict[tuple[str, str | None], str] = {}
    kinds: dict[tuple[str, str | None], list[str]] = {}
    for problem in error.errors():
        where, field, owner, rest = _place(problem["loc"], document, models)
        key = (where, field)
        if rest and rest[0] in _KINDS:  # one member of a union (version: int | str): said once, with all members
            kinds.setdefault(key, []).append(_KINDS[rest[0]])
            said[key] = f"{field} must be {' or '.join(kinds[key])}, not {_shown(problem.get('input'))}"
            continue
        said.setdefault(key, _what(problem, field, owner, models))
    lines = [f"{where}: {what}" if where else what for (where, _), what in said.items()]
    more = len(lines) - MOST_SAID
    return "; ".join(lines[:MOST_SAID]) + (f"; and {more} more problem{'s' * (more != 1)}" if more > 0 else "")


def _place(loc: tuple, document: dict, models: dict) -> tuple[str, str | None, type[BaseModel], tuple]:
    """Where a pydantic location points, in words ("case 'spider', check 1"), the field there (None for the whole
    case, check or params), the model that field belongs to, and what is left of the location."""
    owner = models["Suite"]
    parts: list[str] = []
    raw: object = document
    at = 0
    while at < len(loc):
        key = loc[at]
        following = loc[at + 1] if at + 1 < len(loc) else None
        if owner is models["Suite"] and key == "cases" and isinstance(following, int):
            cases = raw.get("cases") if isinstance(raw, dict) else None
            raw = cases[following] if isinstance(cases, list) and following < len(cases) else None
            named = raw.get("id") if isinstance(raw, dict) else None
            by_number = not isinstance(named, str) or not named or loc[at + 2:at + 3] == ("id",)
            parts.append(f"case {following + 1}" if by_number else f"case {named[:40]!r}")
            owner, at = models["Case"], at + 2
        elif owner is models["Case"] and key == "checks" and isinstance(following, int):
            parts.append(f"check {following + 1}")
            owner, at = models["Check"], at + 2
        elif key in ("params", "defaults") and owner in (models["Suite"], models["Case"]) and following is not None:
            parts.append(str(key))
            owner, at = models["GenerationParams"], at + 1
        elif isinstance(following, int):  # one item of a plain list (tags)
            return ", ".join(parts), f"{key} item {following + 1}", owner, tuple(map(str, loc[at + 2:]))
        else:
            return ", ".join(parts), str(key), owner, tuple(map(str, loc[at + 1:]))
    return ", ".join(parts), None, owner, ()


def _what(problem: dict, field: str | None, owner: type[BaseModel], models: dict) -> str:
    kind = problem["type"]
    value = problem.get("input")
    limits = problem.get("ctx") or {}
    subject = field or _noun(owner, models)
    known = list(owner.model_fields)
    if kind == "extra_forbidden":
        noun = "check" if owner is models["Check"] else "parameter" if owner is models["GenerationParams"] else \
            "field"
        close = difflib.get_close_matches(field or "", known, n=1)
        return (f"unknown {noun} {field!r}" + (f", did you mean {close[0]!r}?" if close else "")
                + f" (known: {', '.join(known)})")
    if kind == "missing":
        needed = [name for name, info in owner.model_fields.items() if info.is_required()]
        return f"{subject} is missing ({_noun(owner, models)} needs {_and(needed)})"
    if kind == "literal_error":
        return f"{subject} must be {limits.get('expected')}, not {_shown(value)}"
    if kind in ("too_short", "string_too_short"):
        if field == "cases":
            return "the suite has no cases: list at least one under cases, each with an id and a prompt"
        return f"{subject} must not be empty"
    if kind in ("too_long", "string_too_long"):
        return f"{subject} is longer than {limits.get('max_length')} characters"
    if kind == "string_pattern_mismatch" and field == "id":
        return (f"id {_shown(value)} may hold only lower-case letters, digits, - and _, starting with a letter or "
                "digit (e.g. spider-draw)")
    if kind in _WRONG_TYPE:
        return f"{subject} must be {_WRONG_TYPE[kind]}, not {_shown(value)}"
    if kind == "list_type":
        return f"{subject} must be {_LISTS.get(field or '', 'a list')}, not {_shown(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        inner = _inner(field, owner, models)
        return f"{subject if field else _noun(inner, models)} must be {_EXAMPLES.get(inner.__name__, 'a mapping')}, " \
               f"not {_shown(value)}"
    bounds = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
              "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, name = bounds[kind]
        return f"{subject} must be {words} {_number(limits.get(name))}, not {_shown(value)}"
    if kind == "value_error" and "error" in limits:  # our own validators say a whole sentence
        return str(limits["error"])
    return f"{subject}: {problem['msg']}"


def _inner(field: str | None, owner: type[BaseModel], models: dict) -> type[BaseModel]:
    """The model a mapping at ``field`` of ``owner`` is read into (owner itself for a whole case or check)."""
    return models["GenerationParams"] if field in ("params", "defaults") else owner


def _noun(owner: type[BaseModel], models: dict) -> str:
    return {models["Suite"]: "the suite", models["Case"]: "a case", models["Check"]: "a check",
            models["GenerationParams"]: "params"}.get(owner, "it")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _number(value: object) -> str:
    """2.0 as 2, 4294967295 in full (not 4.29497e+09)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return "nothing" if value is None else str(value)
