from collections.abc import AsyncIterator

import pytest
import yaml

from rewards.service import RewardService
from rewards.settings import Settings
from tests.procs import free_port, launch

CONFIG = {
    "server": {"workers": 2, "timeout_s": 2.0, "max_body_bytes": 1_000_000, "max_batch_items": 500},
    "graders": {"boxed_math": {"type": "math"}, "short": {"type": "format"}},
    "get_reward": {"grader": "boxed_math"},
}


@pytest.fixture(scope="session")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "rlvr.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


@pytest.fixture(scope="session")
def server(config_file):
    """One real reward service for the module's tests (uvicorn on a free loopback port)."""
    with launch(["serve", "--config", str(config_file)], free_port()) as url:
        yield url


@pytest.fixture
async def service() -> AsyncIterator[RewardService]:
    """A real in-process reward service with one grading worker (no HTTP); tests/rewards/graders has its own."""
    svc = RewardService(Settings(workers=1))
    await svc.start()
    yield svc
    await svc.close()
