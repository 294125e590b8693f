"""A circuit breaker, the kind a team writes around a downstream call.

closed ──(``threshold`` failures in a row)──▶ open ──(``reset_timeout`` later)──▶ half-open
half-open ──(the one trial call succeeds)──▶ closed;  ──(it fails)──▶ open again.

While open (and while a half-open trial is in flight) calls are rejected at once, so the
caller serves its fallback instead of waiting for a dependency known to be failing. Every
transition is logged with its wall-clock time, so a load test can line them up with its
own per-second outcome series.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

State = Literal["closed", "open", "half_open"]


class BreakerOpen(Exception):
    """The call was not attempted: the breaker is open."""


class CircuitBreaker:
    def __init__(self, threshold: int = 3, reset_timeout: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.threshold = threshold
        self.reset_timeout = reset_timeout
        self.state: State = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.trial_running = False
        self.log: list[tuple[float, State]] = []  # (wall-clock time, new state)
        self._clock, self._wall = clock, wall

    def _to(self, state: State) -> None:
        self.state = state
        self.log.append((self._wall(), state))
        if state == "open":
            self.opened_at = self._clock()

    def allow(self) -> bool:
        """May a call go through now? (Moves open → half-open when the timeout is over.)"""
        if self.state == "open" and self._clock() - self.opened_at >= self.reset_timeout:
            self._to("half_open")
        if self.state == "closed":
            return True
        if self.state == "half_open" and not self.trial_running:
            self.trial_running = True
            return True
        return False

    def success(self) -> None:
        self.trial_running = False
        self.failures = 0
        if self.state != "closed":
            self._to("closed")

    def failure(self) -> None:
        self.trial_running = False
        self.failures += 1
        if self.state == "half_open" or (self.state == "closed"
                                         and self.failures >= self.threshold):
            self._to("open")

    async def call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        if not self.allow():
            raise BreakerOpen(self.state)
        try:
            out = await fn()
        except Exception:
            self.failure()
            raise
        self.success()
        return out
