"""Exceptions from SDKs and libraries, said in plain words for a pane, with secrets removed."""

from __future__ import annotations

import re

from arena.api_keys import scrub


class InputError(ValueError):
    """Bad input from the user: the message is shown as is, before any model is called."""


class IncompleteAnswer(RuntimeError):
    """The server ended its answer without saying it was finished: the message is shown as is."""


class StorageError(RuntimeError):
    """Pictures or records could not be stored or read (a bucket or database down, missing or refusing): the
    message is one sentence, shown as is, and names no credential."""


NO_ANSWER = "the server closed the stream without an answer"
CUT_OFF = "cut off: the server closed the stream before the answer was finished (the text so far is kept)"


def check_finished(finish_reason: str | None, got_text: bool) -> None:
    """A stream that closed with no finish reason is an error: no answer at all, or an answer cut off."""
    if finish_reason is None:
        raise IncompleteAnswer(CUT_OFF if got_text else NO_ANSWER)


def path_problem(error: OSError) -> str | None:
    """A file or folder that cannot be made, read or written, in one line; None when no path is to blame."""
    if error.filename is None:
        return None
    return f"cannot use {error.filename}: {error.strerror or error}"


def validation_message(error) -> str:
    """A pydantic ValidationError as one line: 'field: problem; field: problem'."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors())

_STATUS_WORDS = {
    400: "the server rejected the request",
    401: "the API key was rejected",
    403: "the API key is not allowed to use this model",
    404: "the server does not know this model or endpoint",
    408: "the server timed out",
    413: "the request is too large for the server",
    422: "the server could not process the request",
    429: "rate limited by the server, still after retries",
}


def describe(error: BaseException) -> str:
    """One or two sentences for the user; never a traceback, never a key."""
    if isinstance(error, (IncompleteAnswer, StorageError)):
        return scrub(str(error))
    status = getattr(error, "status_code", None)
    if status is None:
        response = getattr(error, "response", None) or getattr(error, "raw_response", None)
        status = getattr(response, "status_code", None)
    detail = _detail(error)
    if isinstance(status, int):
        words = _STATUS_WORDS.get(status) or ("the server failed" if status >= 500 else "the server refused")
        message = f"{words} (HTTP {status})"
        if detail:
            message += f": {detail}"
        return scrub(message)
    # SDKs wrap transport errors ("Connection error."): the cause says what really happened.
    names = [type(e).__name__ for e in error_chain(error)]
    if any("Timeout" in n for n in names) or isinstance(error, TimeoutError):
        return "timed out waiting for the server"
    if any(w in n for n in names for w in ("RemoteProtocol", "ReadError", "ChunkedEncoding", "IncompleteRead")):
        return "the connection closed before the answer was complete"
    if any("Connect" in n for n in names) or isinstance(error, ConnectionError):
        return scrub(f"could not connect to the server ({detail or names[0]})")
    if isinstance(error, MemoryError) or any("OutOfMemory" in n for n in names):
        return "out of memory while running the model"
    return scrub(f"{names[0]}: {detail}" if detail else names[0])


def error_chain(error: BaseException) -> list[BaseException]:
    """The error and what caused it, innermost last (at most 10, cycles cut)."""
    chain: list[BaseException] = []
    while error is not None and error not in chain and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _detail(error: BaseException) -> str:
    body = getattr(error, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else None
        message = message or body.get("message") or body.get("detail")
    text = str(message or getattr(error, "message", None) or error or "")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:300]
