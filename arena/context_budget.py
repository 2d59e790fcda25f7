"""A model's context budget: a rough count of a request's tokens, and leaving out the oldest exchanges until a
request fits."""

from __future__ import annotations

from dataclasses import replace

from arena.request import Request

# A rough count: about four characters a token, and a fixed charge per image (providers charge a few hundred
# to a couple of thousand tokens for one).
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 512


def estimate_tokens(request: Request) -> int:
    texts = [request.prompt, *(turn.text for turn in request.history)]
    images = sum(turn.image is not None for turn in request.history) + (request.image is not None)
    return sum(len(text) for text in texts) // CHARS_PER_TOKEN + images * IMAGE_TOKENS


def fit_context(request: Request, budget_tokens: int) -> tuple[Request, str | None]:
    """Leave out the oldest exchanges until the request, with room for the answer, fits the budget.

    Returns the request and a note saying what was left out (None when everything fits)."""
    room = budget_tokens - (request.params.max_tokens or 0)
    history = list(request.history)
    dropped = 0
    while history and estimate_tokens(replace(request, history=tuple(history))) > room:
        cut = 2 if len(history) >= 2 and history[0].role == "user" and history[1].role == "assistant" else 1
        del history[:cut]
        dropped += cut
    if not dropped:
        return request, None
    kept = len(history)
    note = (f"The conversation is longer than this model's context ({budget_tokens:,} tokens): the "
            f"{dropped} oldest message{'s' if dropped != 1 else ''} were left out, {kept} kept.")
    return replace(request, history=tuple(history)), note
