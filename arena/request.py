"""What one comparison asks of every model: a prompt, optionally one image, and generation parameters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arena.errors import InputError, validation_message

if TYPE_CHECKING:
    from arena.images import InputImage


class GenerationParams(BaseModel):
    """Generation parameters. Unset fields fall back to the catalog entry's defaults, then to the backend's."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_tokens: int | None = Field(None, ge=1, le=32768, description="most tokens a text model may write")
    temperature: float | None = Field(None, ge=0, le=2, description="sampling temperature (0 = greedy)")
    top_p: float | None = Field(None, gt=0, le=1, description="nucleus sampling")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="random seed (local models, some APIs)")
    steps: int | None = Field(None, ge=1, le=200, description="denoising steps (image generators)")
    guidance: float | None = Field(None, ge=0, le=30, description="classifier-free guidance scale")
    width: int | None = Field(None, ge=16, le=4096, description="image width in pixels")
    height: int | None = Field(None, ge=16, le=4096, description="image height in pixels")

    @classmethod
    def parse(cls, values: dict | None) -> "GenerationParams":
        """From user input; unknown or out-of-range fields raise InputError naming them."""
        try:
            return cls.model_validate({k: v for k, v in (values or {}).items() if v is not None and v != ""})
        except ValidationError as error:
            raise InputError(f"Bad parameters: {validation_message(error)}") from None

    @classmethod
    def from_form(cls, values: dict[str, str | None]) -> "GenerationParams":
        """From text fields as a person typed them: a blank field stays unset (the model's default); a value that
        does not fit raises InputError naming the field, e.g. "Seed must be a whole number (you typed “x”)."."""
        clean: dict = {}
        for name, raw in values.items():
            text = "" if raw is None else str(raw).strip()
            if name == "size":
                clean |= _size(text)
                continue
            if not text:
                continue
            try:
                cls.model_validate({name: text})
            except ValidationError as error:
                raise InputError(f"{FIELD_LABELS.get(name, name)} {_problem(error.errors()[0])} "
                                 f"(you typed “{text[:40]}”).") from None
            clean[name] = text
        return cls.parse(clean)

    def over(self, defaults: "GenerationParams") -> "GenerationParams":
        """These parameters, with the unset ones taken from ``defaults``."""
        return defaults.model_copy(update=self.model_dump(exclude_none=True))


FIELD_LABELS = {"max_tokens": "Max tokens", "temperature": "Temperature", "top_p": "Top p", "seed": "Seed",
                "steps": "Steps", "guidance": "Guidance", "width": "Width", "height": "Height", "size": "Size"}


def _problem(error: dict) -> str:
    """A pydantic error on one field as the rest of a sentence that starts with the field's name."""
    limit = {key: f"{value:g}" if isinstance(value, float) else value
             for key, value in (error.get("ctx") or {}).items()}
    return {
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "finite_number": "must be a number (not infinity or NaN)",
        "greater_than_equal": f"must be at least {limit.get('ge')}",
        "greater_than": f"must be more than {limit.get('gt')}",
        "less_than_equal": f"must be at most {limit.get('le')}",
        "less_than": f"must be less than {limit.get('lt')}",
    }.get(error["type"], f"is not valid: {error['msg']}")


def _size(text: str) -> dict:
    """"512×512", "512x512" or "512" → width and height; blank or "model default" → nothing."""
    if not text or text.lower() == "model default":
        return {}
    parts = text.lower().replace("×", "x").replace(" ", "").split("x")
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise InputError(f"Size must be width×height in pixels, e.g. 512×512 (you typed “{text[:40]}”).")
    width, height = (int(part) for part in parts)
    for label, value in (("width", width), ("height", height)):
        if not 16 <= value <= 4096:
            raise InputError(f"Size: the {label} must be between 16 and 4096 pixels (you typed “{text[:40]}”).")
    return {"width": width, "height": height}


@dataclass(frozen=True)
class Turn:
    """An earlier message of a conversation: the user's (perhaps with an image), or the model's own answer."""

    role: Literal["user", "assistant"]
    text: str
    image: "InputImage | None" = None


@dataclass(frozen=True)
class Request:
    prompt: str
    image: "InputImage | None" = None
    params: GenerationParams = field(default_factory=GenerationParams)
    # The conversation so far, as this one model saw it (its own answers only), oldest first.
    history: tuple[Turn, ...] = ()
    # Token by token when someone watches; suites ask for whole answers (a streamed answer costs the SDKs one
    # parsed object per chunk).
    stream: bool = True
    # Who asked, where people sign in (recorded on what is saved; never sent to a model).
    user_name: str | None = None

    def turns(self) -> list[Turn]:
        """The whole conversation to send: the history, then this message."""
        return [*self.history, Turn("user", self.prompt, self.image)]

    @property
    def has_images(self) -> bool:
        return self.image is not None or any(turn.image is not None for turn in self.history)

    def without_image(self) -> "Request":
        """The same request with no image anywhere in it, for models that take text only."""
        return replace(self, image=None, history=tuple(replace(turn, image=None) for turn in self.history))
