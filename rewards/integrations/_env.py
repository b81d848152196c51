"""Where an adapter finds the service when its trainer gives it no arguments: RLVR_* variables."""

from __future__ import annotations

import json
import os
from typing import Any

from rewards.client import AsyncRewardClient, RewardClient


def grader_from_env(default: str = "math") -> str | dict[str, Any]:
    """RLVR_GRADER: a grader name, or a JSON spec."""
    raw = os.environ.get("RLVR_GRADER", default).strip()
    return json.loads(raw) if raw.startswith("{") else raw


def urls_from_env() -> list[str]:
    """RLVR_URL: one URL or several, comma-separated."""
    return [u.strip() for u in os.environ.get("RLVR_URL", "http://127.0.0.1:8000").split(",") if u.strip()]


def client_from_env() -> RewardClient:
    return RewardClient(urls_from_env(), api_key=os.environ.get("RLVR_API_KEY"))


def async_client_from_env() -> AsyncRewardClient:
    return AsyncRewardClient(urls_from_env(), api_key=os.environ.get("RLVR_API_KEY"))
