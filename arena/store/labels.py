"""Words a person reads for a record's fields: "Steps" instead of num_inference_steps, "First token" instead of
ttft_s, and only the fields that mean something for that kind of output."""

from __future__ import annotations

from arena.store import OutputRecord

LABELS = {
    "seed": "Seed",
    "steps": "Steps", "num_inference_steps": "Steps",
    "guidance": "Guidance", "guidance_scale": "Guidance",
    "width": "Width", "height": "Height", "size": "Size",
    "max_tokens": "Max tokens", "max_new_tokens": "Max tokens",
    "temperature": "Temperature", "top_p": "Top p", "do_sample": "Sampling",
    "ttft_s": "First token", "total_s": "Total time", "tokens": "Tokens", "tokens_per_s": "Tokens/s",
    "steps_per_s": "Steps/s", "quality": "Quality", "n": "Pictures",
}
UNITS = {"ttft_s": " s", "total_s": " s"}
# Text-model measures that say nothing about a picture, and the reverse.
TEXT_ONLY = {"ttft_s", "tokens", "tokens_per_s", "max_tokens", "max_new_tokens", "temperature", "top_p", "do_sample"}
IMAGE_ONLY = {"steps", "num_inference_steps", "steps_per_s", "guidance", "guidance_scale", "width", "height", "size"}


def label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " ").capitalize())


def shown(record: OutputRecord, values: dict) -> list[tuple[str, str]]:
    """(label, value) pairs worth showing for this record: set values only, relevant to its kind of output,
    one per label (a backend's own name for a field and Arena's name say the same thing)."""
    hidden = IMAGE_ONLY if record.output == "text" else TEXT_ONLY
    pairs: dict[str, str] = {}
    for key, value in sorted(values.items()):
        if value is None or value == "" or key in hidden:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, float):
            text = f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        else:
            text = str(value)
        pairs.setdefault(label(key), text + UNITS.get(key, ""))
    return list(pairs.items())


def line(record: OutputRecord, values: dict) -> str:
    """The pairs as plain text: "Seed 4 · Steps 3 · Total time 0.41 s"."""
    return " · ".join(f"{name} {value}" for name, value in shown(record, values))
