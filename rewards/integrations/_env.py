"""What the adapters share: RLVR_* variables for trainers that give them no arguments, clients opened lazily
in the process (and event loop) that uses them, and values made JSON-friendly before they go out."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Sequence
from typing import Any

from rewards.client import AsyncRewardClient, RewardClient


def grader_from_env(default: str = "math") -> str | dict[str, Any]:
    """RLVR_GRADER: a grader name, or a JSON spec."""
    raw = os.environ.get("RLVR_GRADER", default).strip()
    return json.loads(raw) if raw.startswith("{") else raw


def urls_from_env() -> list[str]:
    """RLVR_URL: one URL or several, comma-separated."""
    return [u.strip() for u in os.environ.get("RLVR_URL", "http://127.0.0.1:8000").split(",") if u.strip()]


def plain(value: Any) -> Any:
    """`value` with numpy (or torch) scalars and arrays turned into Python numbers and lists, recursively:
    veRL's parquet rows hand ground truths and extra_info over as numpy values, which JSON refuses."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if not isinstance(value, str | bytes) and callable(getattr(value, "tolist", None)):
        return plain(value.tolist())  # numpy.generic.tolist() is the Python scalar
    return value


def jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class LazyClients:
    """Reward clients opened on first use in the process that calls them, never pickled.

    Trainers send reward functions to other processes (TRL's async GRPO rollout child, veRL's Ray reward
    workers), and a connection pool cannot go with them: a pickled copy keeps the settings and opens its own
    clients. The async client also belongs to one event loop, so a call from another loop opens another.
    URL and API key fall back to RLVR_URL and RLVR_API_KEY, read where the client is opened.
    """

    def __init__(self, urls: str | Sequence[str] | None = None, api_key: str | None = None) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls) if urls else None
        self.api_key = api_key
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._sync: RewardClient | None = None
        self._async: tuple[asyncio.AbstractEventLoop, AsyncRewardClient] | None = None

    def _settings(self) -> tuple[list[str], str | None]:
        return self.urls or urls_from_env(), self.api_key or os.environ.get("RLVR_API_KEY")

    def _fresh(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
            self._reset()

    def sync(self) -> RewardClient:
        """This process's blocking client (thread-safe, shared by threads)."""
        self._fresh()
        with self._lock:
            if self._sync is None:
                urls, key = self._settings()
                self._sync = RewardClient(urls, api_key=key)
            return self._sync

    def current(self) -> AsyncRewardClient:
        """The async client of the running event loop."""
        self._fresh()
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._async is None or self._async[0] is not loop:
                urls, key = self._settings()
                self._async = (loop, AsyncRewardClient(urls, api_key=key))
            return self._async[1]

    def __getstate__(self) -> dict[str, Any]:
        return {"urls": self.urls, "api_key": self.api_key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()
