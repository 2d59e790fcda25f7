"""Settings read from the environment (ARENA_*), each overridable by a CLI flag."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from arena.errors import InputError
from arena.paths import DEFAULT_CATALOG

# An input picture's limits (an upload, a file given to the CLI, a picture a model sent back).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 25_000_000


class Settings(BaseModel):
    data_dir: Path = Field(Path("~/.arena"), description="where outputs, the database and offline models live")
    catalog: Path = Field(DEFAULT_CATALOG, description="the YAML file listing the models on offer")
    offline_models: Path | None = Field(
        None, description="where offline models are built (default: DATA_DIR/offline-models)"
    )
    max_upload_bytes: int = Field(MAX_UPLOAD_BYTES, ge=1)
    max_pixels: int = Field(MAX_PIXELS, ge=1)
    save_outputs: bool = Field(True, description="keep every finished pane in the gallery")
    suites_dirs: list[Path] = Field(
        default_factory=list, description="folders the Suites tab may read suites from, besides prompts/"
    )
    vote_cap_per_day: int = Field(500, ge=1, description="the most votes one voter may cast in 24 hours")
    database_url: str | None = Field(
        None, description="the gallery's database (postgresql://…); default: the SQLite file DATA_DIR/arena.db"
    )
    storage: Literal["local", "s3"] = Field(
        "local", description="where pictures live: the folder DATA_DIR/images, or an S3 bucket (ARENA_S3_*)"
    )
    local_memory_bytes: int | None = Field(
        None, ge=0, description="memory cap for loaded local models; default: 90% of the GPU, or half the RAM"
    )

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """The settings from ARENA_* variables, then ``overrides`` (CLI flags); a bad value raises InputError
        naming its variable."""
        env = {field: os.environ.get(name) or None for field, name in ENVIRONMENT.items()}
        for field in ("max_upload_bytes", "local_memory_bytes"):
            env[field] = _mb(ENVIRONMENT[field], env[field])
        if env["suites_dirs"]:
            env["suites_dirs"] = [p for p in env["suites_dirs"].split(os.pathsep) if p] or None
        values = {k: v for k, v in env.items() if v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            settings = cls(**values)
        except ValidationError as error:
            raise InputError("; ".join(_setting_problem(e, overrides) for e in error.errors())) from None
        settings.data_dir = settings.data_dir.expanduser()
        settings.suites_dirs = [folder.expanduser() for folder in settings.suites_dirs]
        return settings

    @property
    def offline_models_dir(self) -> Path:
        return (self.offline_models or self.data_dir / "offline-models").expanduser()


# Each setting's environment variable.
ENVIRONMENT = {
    "data_dir": "ARENA_DATA_DIR",
    "catalog": "ARENA_CATALOG",
    "offline_models": "ARENA_OFFLINE_MODELS",
    "max_upload_bytes": "ARENA_MAX_UPLOAD_MB",
    "local_memory_bytes": "ARENA_LOCAL_MEMORY_MB",
    "save_outputs": "ARENA_SAVE_OUTPUTS",
    "vote_cap_per_day": "ARENA_VOTE_CAP_PER_DAY",
    "database_url": "ARENA_DATABASE_URL",
    "storage": "ARENA_STORAGE",
    "suites_dirs": "ARENA_SUITES_DIRS",
}


# Flags whose name is not the setting's (the web app's --max-upload-mb is in megabytes).
FLAGS = {"max_upload_bytes": "--max-upload-mb", "save_outputs": "--no-save", "suites_dirs": "--suites-dir"}


def _mb(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = float("nan")
    if not megabytes >= 0 or megabytes == float("inf"):
        raise InputError(f"{name} must be a number of megabytes, not {value!r}.")
    return int(megabytes * 1024 * 1024)


def _setting_problem(error: dict, overrides: dict) -> str:
    """One pydantic error as a sentence naming the variable (or the flag) it came from."""
    field = str(error["loc"][0]) if error["loc"] else ""
    flag = FLAGS.get(field, f"--{field.replace('_', '-')}")
    where = flag if overrides.get(field) is not None else ENVIRONMENT.get(field, field)
    said = error["msg"].replace("Input should be", f"{where} should be", 1)
    if not said.startswith(where):
        said = f"{where}: {said}"
    return f"{said} (got {error['input']!r})" if "input" in error else said
