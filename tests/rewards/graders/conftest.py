import pytest

from rewards.service import RewardService
from rewards.settings import Settings


@pytest.fixture
async def service():
    """A real in-process reward service: its worker pool and grader builder, no HTTP."""
    service = RewardService(Settings(workers=2, timeout_s=5, worker_memory_mb=1024))
    await service.start()
    yield service
    await service.close()
