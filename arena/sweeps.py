"""Sweeps, as Automatic1111's X/Y/Z grid: vary one to three parameters (or the prompt) across the chosen models.

A sweep is planned first (``plan``): every combination of the axes' values × every model is a *cell* of the grid.
A parameter that a model does not take (steps for a text model, temperature for a picture) is not sent to it: such
a model runs once for the cells that differ only in that parameter, and each of those cells shows the one output,
labelled "steps n/a". So a cell always has an output and the grid stays rectangular, without paying for copies.

Then ``SweepRun`` runs the distinct requests through the engine, at most ``MAX_MODELS`` at a time. Every output of one
sweep is kept in the gallery under one comparison id, with its own parameters, so the whole sweep is found together
(gallery → a comparison, or ``python -m arena gallery export --comparison ID``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterator

from pydantic import ValidationError

from arena.backends import backend_class
from arena.engine import MAX_MODELS, Comparison, Engine, Job
from arena.errors import InputError
from arena.request import GenerationParams, Request

if TYPE_CHECKING:
    from arena.pane import PaneSnapshot
    from arena.store import Store

MAX_AXES = 3
MAX_VALUES = 32
# Cells of the grid (every combination × every model); past this a grid is unreadable and a run takes hours.
MAX_CELLS = 64



@dataclass(frozen=True)
class AxisKind:
    name: str
    label: str  # how a value is labelled: "seed 3", "steps 4"
    example: str
    parse_one: Callable[[str], object]
    fields: tuple[str, ...] = ()  # the GenerationParams fields it sets


def _whole(text: str) -> int:
    """A whole number, signed or not: one below its axis's bound is then refused by the bound, not as "not whole"."""
    if not re.fullmatch(r"[+-]?\d+", text.replace("\u2212", "-")):
        raise ValueError("a whole number")
    return int(text.replace("\u2212", "-"))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("a number") from None


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").replace(" ", "").split("x")
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError("width×height in pixels, e.g. 512x512")
    return int(parts[0]), int(parts[1])


AXES: dict[str, AxisKind] = {kind.name: kind for kind in [
    AxisKind("seed", "seed", "1, 2, 3 or 1-4", _whole, ("seed",)),
    AxisKind("steps", "steps", "1, 4, 8", _whole, ("steps",)),
    AxisKind("guidance", "guidance", "0, 3.5, 7", _number, ("guidance",)),
    AxisKind("size", "size", "256x256, 512x512", _size, ("width", "height")),
    AxisKind("temperature", "temperature", "0, 0.7, 1.2", _number, ("temperature",)),
    AxisKind("max_tokens", "max tokens", "50, 200", _whole, ("max_tokens",)),
    AxisKind("prompt", "prompt", "a cat, a dog (one prompt per line if they hold commas)", str),
    AxisKind("prompt_sr", "prompt S/R", "spider, cat, dog: the first is found in the prompt and replaced", str),
]}
_ALIASES = {"prompt-sr": "prompt_sr", "prompt s/r": "prompt_sr", "sr": "prompt_sr", "max-tokens": "max_tokens",
            "cfg": "guidance", "seeds": "seed", "prompts": "prompt"}
_INT_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


@dataclass(frozen=True)
class Axis:
    """One axis of the grid: what it varies and its values, parsed and checked."""

    kind: str
    values: tuple
    search: str | None = None  # prompt S/R: the words of the prompt that each value replaces

    @property
    def labels(self) -> list[str]:
        return [self.label(i) for i in range(len(self.values))]

    def label(self, index: int) -> str:
        value = self.values[index]
        if self.kind == "size":
            return f"{value[0]}×{value[1]}"
        if self.kind in ("prompt", "prompt_sr"):
            short = " ".join(str(value).split())
            return f"“{short[:38]}…”" if len(short) > 40 else f"“{short}”"
        return f"{AXES[self.kind].label} {value:g}" if isinstance(value, float) else f"{AXES[self.kind].label} {value}"

    def applies_to(self, kind: str) -> bool:
        """Whether this axis changes what a model of ``kind`` is asked (the prompt axes change every model's)."""
        return self.kind in ("prompt", "prompt_sr") or set(AXES[self.kind].fields) <= backend_class(kind).reads

    def apply(self, index: int, prompt: str, params: dict) -> str:
        """Set this axis's value ``index`` into ``params``; return the prompt (changed by the prompt axes)."""
        value = self.values[index]
        if self.kind == "prompt":
            return str(value)
        if self.kind == "prompt_sr":
            return prompt.replace(self.search, str(value)) if self.search else prompt
        if self.kind == "size":
            params["width"], params["height"] = value
        else:
            params[AXES[self.kind].fields[0]] = value
        return prompt


def axis_kind(name: str) -> str:
    key = " ".join(str(name or "").strip().lower().split())
    key = _ALIASES.get(key, key.replace(" ", "_"))
    if key not in AXES:
        raise InputError(f"Unknown sweep axis “{str(name).strip()[:30]}”: use one of {', '.join(AXES)}.")
    return key


def make_axis(kind: str, text: str, base_prompt: str = "") -> Axis:
    """An axis from what a person typed: comma-separated values (one per line also works), "1-4" for a range
    of whole numbers. A bad value raises InputError naming the axis and the value."""
    kind = axis_kind(kind)
    spec = AXES[kind]
    raw = _split(text or "")
    if not raw:
        raise InputError(f"The {spec.label} axis has no values: type some, e.g. {spec.example}.")
    values: list = []
    for item in raw:
        if kind in ("seed", "steps", "max_tokens") and (bounds := _INT_RANGE.match(item)):
            low, high = int(bounds[1]), int(bounds[2])
            if high < low:
                raise InputError(f"The {spec.label} range “{item}” must go up, e.g. {low}-{low + 3}.")
            if high - low >= MAX_VALUES:
                raise InputError(f"The {spec.label} range “{item}” has {high - low + 1} values; an axis takes at most "
                                 f"{MAX_VALUES}.")
            values += range(low, high + 1)
            continue
        try:
            values.append(spec.parse_one(item))
        except ValueError as problem:
            raise InputError(f"The {spec.label} axis: “{item[:40]}” is not {problem}.") from None
    search = None
    if kind == "prompt_sr":
        search, values = values[0], values
        if len(values) < 2:
            raise InputError("Prompt S/R needs the words to find, then what replaces them, e.g. spider, cat, dog.")
        if search not in base_prompt:
            raise InputError(f"Prompt S/R: “{search[:40]}” is not in the prompt; the first value must be words "
                             "of the prompt, the others replace them.")
    values = list(dict.fromkeys(values))
    if len(values) > MAX_VALUES:
        raise InputError(f"The {spec.label} axis has {len(values)} values; at most {MAX_VALUES}.")
    axis = Axis(kind, tuple(values), search)
    for index in range(len(values)):
        params: dict = {}
        prompt = axis.apply(index, base_prompt, params)
        _check_params(axis, index, params)
        if kind == "prompt" and not prompt.strip():
            raise InputError(f"The {spec.label} axis has an empty prompt.")
    return axis


def parse_axis(text: str, base_prompt: str = "") -> Axis:
    """``seed=1,2,3`` (the CLI's --sweep) as an Axis."""
    kind, sep, values = str(text).partition("=")
    if not sep:
        raise InputError(f"A sweep looks like seed=1,2,3 or steps=1,4 (got “{str(text)[:40]}”).")
    return make_axis(kind, values, base_prompt)


def _split(text: str) -> list[str]:
    """Values separated by commas, or one per line when there are several lines; "quotes, like this" keep
    a comma inside one value."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        return [line.strip() for line in lines]
    if not lines:
        return []
    row = next(csv.reader([lines[0]], skipinitialspace=True))
    return [item.strip() for item in row if item.strip()]


def _check_params(axis: Axis, index: int, params: dict) -> None:
    try:
        GenerationParams.model_validate(params)
    except ValidationError as error:
        problem = error.errors()[0]
        limit = problem.get("ctx") or {}
        bounds = " and ".join(f"{'at least' if k == 'ge' else 'more than' if k == 'gt' else 'at most'} {_bound(v)}"
                              for k, v in limit.items() if k in ("ge", "gt", "le"))
        who = problem["loc"][0] if len(AXES[axis.kind].fields) > 1 and problem["loc"] else AXES[axis.kind].label
        raise InputError(f"The {AXES[axis.kind].label} axis: {axis.label(index)} is out of range"
                         + (f" ({who} must be {bounds})." if bounds else ".")) from None


def _bound(value) -> str:
    """A bound as a person writes it: 2 (not 2.0), 4294967295 (not 4.29497e+09), 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class SweepCell:
    """One place in the grid: a value index per axis (x, y, z order), a model, and the run it shows."""

    at: tuple[int, ...]
    model: str
    run: int
    na: tuple[str, ...] = ()  # the axes this model does not take (its cell says "n/a" for them)

    @property
    def x(self) -> int:
        return self.at[0]

    @property
    def y(self) -> int:
        return self.at[1] if len(self.at) > 1 else 0

    @property
    def z(self) -> int:
        return self.at[2] if len(self.at) > 2 else 0


@dataclass(frozen=True)
class Sweep:
    """The planned grid: axes (x, then y, then z), models, every cell, and the distinct jobs the cells show."""

    prompt: str
    axes: tuple[Axis, ...]
    models: tuple[str, ...]
    cells: tuple[SweepCell, ...]
    jobs: tuple[Job, ...]
    job_labels: tuple[str, ...] = field(default=())  # the values each job was asked with: "seed 1 · steps 4"
    job_at: tuple[tuple[int | None, ...], ...] = field(default=())  # each job's value index per axis (None: n/a)

    def axis(self, name: str) -> Axis | None:
        """The x, y or z axis, or None where the sweep has fewer."""
        index = "xyz".index(name)
        return self.axes[index] if index < len(self.axes) else None

    def cell(self, x: int, y: int, z: int, model: str) -> SweepCell:
        return self._index[(x, y, z, model)]

    @cached_property
    def _index(self) -> dict:
        return {(c.x, c.y, c.z, c.model): c for c in self.cells}

    def file_stem(self, job: int) -> str:
        """A file name for one job's output, from the model and the values (prompts by number), never from text:
        ``offline-sd_seed-1_steps-4``, ``offline-pixtral_prompt-2``."""
        parts = [self.jobs[job].name]
        for axis, index in zip(self.axes, self.job_at[job], strict=True):
            if index is None:
                continue
            value = axis.values[index]
            if axis.kind.startswith("prompt"):
                value = index + 1
            elif axis.kind == "size":
                value = f"{value[0]}x{value[1]}"
            elif isinstance(value, float):
                value = f"{value:g}"
            parts.append(f"{axis.kind}-{value}")
        return "_".join(parts)

    def describe(self) -> str:
        shape = " × ".join(f"{len(a.values)} {AXES[a.kind].label}" for a in self.axes)
        runs = f"; {len(self.jobs)} runs" if len(self.jobs) != len(self.cells) else ""
        return f"{shape} × {len(self.models)} model{'s' * (len(self.models) != 1)} = {len(self.cells)} cells{runs}"


def plan(engine: Engine, base: Request, models: list[str], axes: list[Axis]) -> Sweep:
    """Every cell of the grid and the distinct jobs behind them; InputError before any model is called."""
    if not axes:
        raise InputError("A sweep needs at least one axis, e.g. seed=1,2,3.")
    if len(axes) > MAX_AXES:
        raise InputError(f"{len(axes)} sweep axes given; at most {MAX_AXES} (X, Y and Z).")
    kinds = [a.kind for a in axes]
    repeated = sorted({k for k in kinds if kinds.count(k) > 1})
    if repeated:
        raise InputError(f"The {AXES[repeated[0]].label} axis is given twice; merge its values into one axis.")
    if "prompt" in kinds and "prompt_sr" in kinds:
        raise InputError("The prompt and prompt S/R axes both change the prompt: use one of them.")
    varies_prompt = any(k in ("prompt", "prompt_sr") for k in kinds)
    models = engine.check(base if not varies_prompt else replace(base, prompt=base.prompt or "-"), models)
    total = len(models)
    for axis in axes:
        total *= len(axis.values)
    if total > MAX_CELLS:
        raise InputError(f"This sweep has {total} cells ({' × '.join(str(len(a.values)) for a in axes)} values × "
                         f"{len(models)} models); at most {MAX_CELLS}. Use fewer values or models.")
    for axis in axes:
        if not any(axis.applies_to(engine.catalog[m].kind) for m in models):
            raise InputError(f"None of the chosen models takes {AXES[axis.kind].label}: "
                             f"{_who_takes(axis.kind)}.")
    base_params = base.params.model_dump(exclude_none=True)
    cells: list[SweepCell] = []
    jobs: list[Job] = []
    labels: list[str] = []
    job_at: list[tuple[int | None, ...]] = []
    runs: dict[tuple, int] = {}
    for at in _combinations([len(a.values) for a in axes]):
        for model in models:
            kind = engine.catalog[model].kind
            applied = tuple(i if axis.applies_to(kind) else None for axis, i in zip(axes, at, strict=True))
            key = (model, applied)
            if key not in runs:
                params = dict(base_params)
                prompt = base.prompt
                for axis, index in zip(axes, applied, strict=True):
                    if index is None:
                        for name in AXES[axis.kind].fields:
                            params.pop(name, None)
                    else:
                        prompt = axis.apply(index, prompt, params)
                request = replace(base, prompt=prompt, params=GenerationParams.parse(params))
                engine.check(request, [model])
                runs[key] = len(jobs)
                jobs.append(Job(model, request))
                labels.append(" · ".join(a.label(i) for a, i in zip(axes, applied, strict=True) if i is not None))
                job_at.append(applied)
            na = tuple(a.kind for a, i in zip(axes, applied, strict=True) if i is None)
            cells.append(SweepCell(at, model, runs[key], na))
    return Sweep(base.prompt, tuple(axes), tuple(models), tuple(cells), tuple(jobs), tuple(labels), tuple(job_at))


def _who_takes(kind: str) -> str:
    return "pictures from local diffusers models" if kind in ("steps", "guidance") else (
        "image generators" if kind == "size" else "text models")


def _combinations(sizes: list[int]) -> Iterator[tuple[int, ...]]:
    """Every index tuple, z slowest, then y, then x."""
    if not sizes:
        yield ()
        return
    for rest in _combinations(sizes[1:]):
        for first in range(sizes[0]):
            yield (first, *rest)


class _OneComparison:
    """The store as a sweep's batches see it: every batch records its outputs under the sweep's one comparison."""

    def __init__(self, store: "Store", comparison_id: str):
        self._store = store
        self._comparison_id = comparison_id

    def start_comparison(self, request, models) -> str:
        return self._comparison_id

    def __getattr__(self, name):
        return getattr(self._store, name)


class SweepRun:
    """Runs a planned sweep, at most MAX_MODELS jobs at once; ``updates()`` yields as outputs change."""

    def __init__(self, engine: Engine, sweep: Sweep, *, save: bool = True):
        self.engine = engine
        self.sweep = sweep
        store = engine.store if save else None
        self.comparison_id = (store.start_comparison(sweep.jobs[0].request, list(sweep.models))
                              if store is not None else None)
        self._store = _OneComparison(store, self.comparison_id) if store is not None else None
        self.outputs: list[PaneSnapshot | None] = [None] * len(sweep.jobs)
        self.current: Comparison | None = None
        self._offset = 0  # the index of the running batch's first job
        self.cancelled = False

    @property
    def done(self) -> int:
        return sum(1 for output in self.outputs if output is not None and output.finished)

    @property
    def finished(self) -> bool:
        return self.cancelled or all(o is not None and o.settled for o in self.outputs)

    def updates(self) -> Iterator[set[int]]:
        """Yield the job indices whose output changed, batch after batch, until all ran or Stop."""
        jobs = self.sweep.jobs
        for start in range(0, len(jobs), MAX_MODELS):
            if self.cancelled:
                return
            batch = list(jobs[start:start + MAX_MODELS])
            comparison = Comparison(self.engine, batch, self._store)
            self.current, self._offset = comparison, start
            if self.cancelled:  # Stop came while the batch was starting
                comparison.cancel()
            for changed in comparison.updates():
                for index in changed:
                    self.outputs[start + index] = comparison.panes[index].snapshot()
                yield {start + index for index in changed}
            self._copy(comparison, start)
            yield set(range(start, start + len(batch)))

    def settle(self) -> None:
        """After Stop outside ``updates()`` (Ctrl+C): wait for the running batch to end and keep its outputs."""
        if self.current is not None:
            self.current.wait()
            self._copy(self.current, self._offset)

    def _copy(self, comparison: Comparison, start: int) -> None:
        for index, pane in enumerate(comparison.snapshots()):
            self.outputs[start + index] = pane

    def wait(self) -> list["PaneSnapshot | None"]:
        for _ in self.updates():
            pass
        return self.outputs

    def cancel(self) -> None:
        self.cancelled = True
        if self.current is not None:
            self.current.cancel()
