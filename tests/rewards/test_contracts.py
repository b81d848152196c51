"""The typed contracts between the service and its graders: Score's named constructors and the shared Resources."""

from __future__ import annotations

import pytest

from rewards.errors import SandboxUnavailable
from rewards.graders.base import GraderContext, Resources
from rewards.settings import Settings
from rewards.types import Score


def test_the_three_kinds_of_zero():
    wrong = Score.wrong("not equal", answer="13")
    assert (wrong.reward, wrong.error, wrong.details) == (0.0, None, {"reason": "not equal", "answer": "13"})
    assert not wrong.is_timeout
    late = Score.timed_out(2.0, "finding the program took longer than its budget")
    assert late.reward == 0.0 and late.error is None and late.is_timeout and late.details["timeout_s"] == 2.0
    failed = Score.failed("sandbox down", chunk=3)
    assert failed.error == "sandbox down" and failed.details == {"chunk": 3} and not failed.is_timeout
    # a score that came back over HTTP reads the same
    assert Score.model_validate(late.model_dump()).is_timeout
    assert not Score(reward=0.0, details={"timeout": "yes"}).is_timeout


class Client:
    def __init__(self, key: str) -> None:
        self.key = key
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_shared_makes_one_client_per_type_and_key_and_closes_them():
    resources = Resources()
    made = []

    def make(key: str) -> Client:
        made.append(key)
        return Client(key)

    a = resources.shared(Client, ("m", 1), lambda: make("a"))
    assert resources.shared(Client, ("m", 1), lambda: make("again")) is a
    b = resources.shared(Client, ("m", 2), lambda: make("b"))
    assert b is not a and made == ["a", "b"]
    with pytest.raises(TypeError, match="returned a str"):
        resources.shared(Client, "odd", lambda: "not a client")  # type: ignore[arg-type,return-value]
    await resources.aclose()
    assert a.closed and b.closed
    assert resources.shared(Client, ("m", 1), lambda: make("fresh")) is not a  # forgotten once closed


async def test_the_context_builds_resources_from_its_settings():
    assert GraderContext(pool=None).settings == Settings()  # type: ignore[arg-type]
    with pytest.raises(SandboxUnavailable, match="no sandbox configured"):
        GraderContext(pool=None).resources.sandbox()  # type: ignore[arg-type]
    context = GraderContext(pool=None, settings=Settings(sandbox_urls=["http://127.0.0.1:9/"]))  # type: ignore[arg-type]
    client = context.resources.sandbox()
    assert client is context.resources.sandbox() and client.urls == ["http://127.0.0.1:9"]
    await context.resources.aclose()
    assert client.http.is_closed
