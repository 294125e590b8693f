"""Shared fixtures. Tests run against real engines; clocks are injected where timing matters."""

from __future__ import annotations

import pytest

from perfgate.bench import BenchOptions


@pytest.fixture
def quick() -> BenchOptions:
    """Benchmark options that keep a test well under a second."""
    return BenchOptions(max_time=0.05, warmup=0.0, min_rounds=5, memory_calls=2)


class FakeClock:
    """A timer that only moves when told: the engine's arithmetic becomes exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
