"""Assertions on the HTTP answers of both services, shared by their tests."""

from __future__ import annotations

import httpx


def assert_schema_error(response: httpx.Response, loc: list) -> None:
    """A 422 in the shape OpenAPI promises: a list of {type, loc, msg}, one of them at `loc` (a prefix)."""
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert isinstance(errors, list) and errors
    assert all(isinstance(e["type"], str) and isinstance(e["msg"], str) and isinstance(e["loc"], list)
               for e in errors)
    assert any(e["loc"][: len(loc)] == loc for e in errors), errors
