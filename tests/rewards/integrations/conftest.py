"""What the peers' tests share; the reward service itself is tests/rewards/conftest.py's `server`."""

from __future__ import annotations

import json

import httpx

from rewards.integrations._env import LazyClients

UNGRADED = "sandbox unavailable"


def _answer_ungraded(request: httpx.Request) -> httpx.Response:
    """A service whose machinery failed: every sample comes back with an error, not a real 0."""
    score = {"reward": 0.0, "details": {}, "error": UNGRADED}
    items = json.loads(request.content).get("items")
    return httpx.Response(200, json={"results": [score] * len(items)} if items is not None else score)


def break_service(clients: LazyClients) -> None:
    """Point the blocking client `clients` opens in this process at a service that can grade nothing."""
    clients.sync()._http = httpx.Client(transport=httpx.MockTransport(_answer_ungraded))


def break_async_service(clients: LazyClients) -> None:
    """The same for the async client of the running event loop."""
    clients.current()._http = httpx.AsyncClient(transport=httpx.MockTransport(_answer_ungraded))
