"""Which two models meet next: among the available models of one kind, the pair that has met least so far.

A battle is between two text models (vision-language models) or two image generators, never one of each. Ties
between equally rare pairs are broken at random, so over many battles every pair is met about as often.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Literal

from arena.catalog import Catalog
from arena.errors import InputError

Kind = Literal["text", "image"]
KIND_WORDS = {"text": "text models (vision-language models)", "image": "image generators"}


def parse_kind(value) -> Kind:
    kind = str(value or "text").strip().lower()
    if kind in ("text", "vlm", "vision-language", "text models"):
        return "text"
    if kind in ("image", "images", "generator", "generators", "image generators"):
        return "image"
    raise InputError(f'The kind of battle is "text" (vision-language models) or "image" (generators), not {value!r}.')


def models_of_kind(catalog: Catalog, kind: Kind) -> list[str]:
    """Every catalog entry of this kind, available or not, in catalog order."""
    return [entry.name for entry in catalog if entry.output == kind]


def pair_key(a: str, b: str) -> tuple[str, str]:
    """The same key whichever side each model was shown on."""
    return (a, b) if a <= b else (b, a)


def count_pairs(pairs: Iterable[tuple[str, str]]) -> Counter:
    return Counter(pair_key(a, b) for a, b in pairs)


def pick_pair(models: list[str], met: Mapping[tuple[str, str], int], rng: random.Random | None = None,
              kind: Kind = "text") -> tuple[str, str]:
    """The pair of ``models`` that has met least (``met`` counts by pair_key), ties broken at random; the two
    come back in random left/right order."""
    rng = rng or random.SystemRandom()
    models = list(dict.fromkeys(models))
    if len(models) < 2:
        have = f"only {models[0]} is" if models else "none is"
        raise InputError(f"A battle needs two {KIND_WORDS[kind]} that are available and ticked; {have}.")
    pairs = [pair_key(a, b) for a, b in itertools.combinations(models, 2)]
    fewest = min(met.get(pair, 0) for pair in pairs)
    left, right = rng.choice([pair for pair in pairs if met.get(pair, 0) == fewest])
    return (left, right) if rng.random() < 0.5 else (right, left)
