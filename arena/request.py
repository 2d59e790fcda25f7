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

    model_config = ConfigDict(extra="forbid")

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

    def over(self, defaults: "GenerationParams") -> "GenerationParams":
        """These parameters, with the unset ones taken from ``defaults``."""
        return defaults.model_copy(update=self.model_dump(exclude_none=True))


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

    def turns(self) -> list[Turn]:
        """The whole conversation to send: the history, then this message."""
        return [*self.history, Turn("user", self.prompt, self.image)]

    @property
    def has_images(self) -> bool:
        return self.image is not None or any(turn.image is not None for turn in self.history)

    def without_image(self) -> "Request":
        """The same request with no image anywhere in it, for models that take text only."""
        return replace(self, image=None, history=tuple(replace(turn, image=None) for turn in self.history))
