"""Server settings: defaults, then the config file, then RLVR_* environment variables, then flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class CacheSettings(BaseModel):
    """The reward cache (rewards/cache.py): an in-memory LRU per instance, and optionally a Redis store shared by
    replicas. Errors and timeouts are never cached."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Serve repeated samples from the cache.")
    size: int = Field(default=100_000, ge=0, description="Scores kept in memory (LRU); 0: no in-memory tier.")
    url: str | None = Field(default=None, description="redis://host:port/db of a store shared by replicas.")
    ttl_s: int | None = Field(default=7 * 24 * 3600, ge=1, description="How long the shared store keeps a score.")
    nondeterministic: bool = Field(
        default=False, description="Cache graders that sample (a judge with temperature > 0) too; by default their "
                                   "repeats are graded afresh, as a fresh draw is what such a grader promises.")


class Settings(BaseModel):
    """Everything `rlvr serve` can be told."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    api_key: str | None = Field(default=None, description="Bearer token required on every route but /healthz.")
    workers: int | None = Field(default=None, ge=1, le=256, description="Grading processes; default: CPU count + 1.")
    timeout_s: float = Field(default=2.0, gt=0, le=600, description="Per-sample time budget of pooled graders.")
    worker_memory_mb: int | None = Field(default=2048, ge=64, description="Address-space limit of each worker.")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_items: int = Field(default=10_000, ge=1)
    max_pending: int = Field(default=100_000, ge=1, description="Samples waiting for a worker before 503s.")
    sandbox_urls: list[str] = Field(default_factory=list, description="Code sandbox services, load-balanced.")
    model_servers: dict[str, str] = Field(
        default_factory=dict,
        description="Model name or path -> base URL of the server answering for it (rlvr serve-model, TEI, vLLM); "
                    "a model graders need that is not here gets a private rlvr serve-model on loopback.",
    )
    private_model_servers: int = Field(default=8, ge=0, le=256, description="Most private model servers at once "
                                       "(one per model and reading); past it, a grader needing another gets error.")
    get_reward_grader: str | dict[str, Any] = Field(
        default_factory=lambda: {"type": "math"}, description="The grader behind OpenRLHF's /get_reward."
    )
    graders: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Named graders: name -> spec.")
    inline_allow: list[str] = Field(
        default_factory=list,
        description="Glob patterns of the models, judge URLs and files that grader specs sent in requests may "
                    "use (named graders may use any); by default, none.",
    )
    cache: CacheSettings = Field(default_factory=CacheSettings, description="The reward cache.")
    log_level: str = "info"
    access_log: bool = Field(default=False, description="Log every request (costs latency under load).")


ENV_PREFIX = "RLVR_"
_ENV_FIELDS = ("host", "port", "api_key", "workers", "timeout_s", "worker_memory_mb", "max_body_bytes",
               "max_batch_items", "max_pending", "log_level", "access_log")


def _from_env() -> dict[str, Any]:
    values: dict[str, Any] = {name: os.environ[ENV_PREFIX + name.upper()]
                              for name in _ENV_FIELDS if ENV_PREFIX + name.upper() in os.environ}
    for name in ("sandbox_urls", "inline_allow"):  # comma-separated lists
        if raw := os.environ.get(ENV_PREFIX + name.upper()):
            values[name] = [item.strip() for item in raw.split(",") if item.strip()]
    return values


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML config: `server:` settings, `graders:` named specs, `get_reward: {grader: ...}`."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    unknown = set(data) - {"server", "graders", "get_reward"}
    if unknown:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown)}; expected server, graders, get_reward")
    values = dict(data.get("server") or {})
    if "graders" in data:
        values["graders"] = data["graders"] or {}
    if grader := (data.get("get_reward") or {}).get("grader"):
        values["get_reward_grader"] = grader
    return values


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Merge the layers; `overrides` with value None are ignored (flags not given)."""
    values: dict[str, Any] = {}
    if config:
        values.update(read_config_file(config))
    values.update(_from_env())
    values.update({k: v for k, v in overrides.items() if v is not None and v != []})
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ValueError(f"invalid settings: {exc}") from exc
