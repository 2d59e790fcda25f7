"""Settings read from the environment (ARENA_*), each overridable by a CLI flag."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

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
        env = {
            "data_dir": os.environ.get("ARENA_DATA_DIR"),
            "catalog": os.environ.get("ARENA_CATALOG"),
            "offline_models": os.environ.get("ARENA_OFFLINE_MODELS"),
            "max_upload_bytes": _mb(os.environ.get("ARENA_MAX_UPLOAD_MB")),
            "local_memory_bytes": _mb(os.environ.get("ARENA_LOCAL_MEMORY_MB")),
            "save_outputs": os.environ.get("ARENA_SAVE_OUTPUTS") or None,
            "vote_cap_per_day": os.environ.get("ARENA_VOTE_CAP_PER_DAY") or None,
            "database_url": os.environ.get("ARENA_DATABASE_URL") or None,
            "storage": os.environ.get("ARENA_STORAGE") or None,
            "suites_dirs": [p for p in os.environ.get("ARENA_SUITES_DIRS", "").split(os.pathsep) if p] or None,
        }
        values = {k: v for k, v in env.items() if v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.data_dir = settings.data_dir.expanduser()
        settings.suites_dirs = [folder.expanduser() for folder in settings.suites_dirs]
        return settings

    @property
    def offline_models_dir(self) -> Path:
        return (self.offline_models or self.data_dir / "offline-models").expanduser()


def _mb(value: str | None) -> int | None:
    return None if value in (None, "") else int(float(value) * 1024 * 1024)
