"""rlvr reward service: verifiers, model graders and the HTTP API that serves them."""

from rewards.types import Sample, Score

__all__ = ["Sample", "Score"]
